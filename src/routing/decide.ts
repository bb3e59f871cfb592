import { GatewayError, ProviderError, TimeoutError } from "../core/errors.js";
import type { FallbackCondition } from "../core/route.js";
import { backoffDelay } from "./backoff.js";

/** The default `fallbackOn` of a route: a key or a model that this deployment lacks. */
export const DEFAULT_FALLBACK_ON: readonly FallbackCondition[] = [401, 403, 404];

/**
 * What the router does after an attempt failed, decided from facts alone (no clock, no health
 * tracker, no timers), so the whole policy reads, and is tested, as one table.
 *
 * - `end`: the call is over: the caller aborted (`aborted`), or a timeout hit the call's deadline.
 * - `eject`: a failure of this deployment alone (the route's `fallbackOn`: a revoked key, a
 *   retired model); cool it long and fall back, since another deployment may serve (only when
 *   another candidate is available; otherwise the error ends the call as it is).
 * - `cool`: the provider asked for a wait longer than `maxDelayMs` (or on the last try); cool
 *   the deployment for it and move on rather than hold the caller, so later calls skip it.
 * - `next`: give up on this deployment; the route walks on (or the call fails, for an error
 *   that is not retryable, unless `fallBack`: an answer this deployment sends that the adapter
 *   cannot read, which another deployment may not share).
 * - `retry`: wait `delayMs` (the provider's Retry-After, else backoff), then try it again;
 *   with `coolMs` (a short Retry-After), cool the deployment that long too, so other calls wait
 *   for it as well: a Retry-After is the provider's word on when it is back, not a failure.
 *
 * `blame` (on `next` and `retry`): count this failure against the deployment's health. Counting
 * may cool the deployment, which turns a `retry` into a `next`; the caller does that step,
 * since only the health tracker knows. A timeout shorter than the deployment's own (a caller's
 * `timeoutMs`, or the deadline) says more about the caller's patience than the deployment.
 */
export type Decision =
  | { kind: "end"; reason: "aborted" | "deadline" }
  | { kind: "eject" }
  | { kind: "cool"; durationMs: number }
  | { kind: "next"; blame: boolean; fallBack?: boolean }
  | { kind: "retry"; delayMs: number; blame: boolean; coolMs?: number };

export interface DecisionFacts {
  /** The caller's signal aborted (or the gateway closed). */
  callAborted: boolean;
  /** Now and the call's deadline, on the same clock (`performance.now()`). */
  now: number;
  deadline: number;
  /** Retries allowed per deployment after the first try. */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** The timeout this attempt ran with, and the one configured for the deployment. */
  timeoutMs: number;
  configuredTimeoutMs: number;
  /** How long the deployment is unavailable for (cooled meanwhile by another call or process). */
  unavailableForMs: number;
  /**
   * No other candidate of the call is available now: a cooldown then sends the call nowhere
   * better, so it keeps its retries here (Envoy's panic mode) instead of failing.
   */
  lastResort?: boolean;
  /** The route's `fallbackOn` (default `DEFAULT_FALLBACK_ON`). */
  fallbackOn?: readonly FallbackCondition[];
  /** For backoff jitter; `Math.random` in production. */
  random?: () => number;
}

/** Whether a failure may succeed on another try (here or on another deployment). */
export function isRetryable(error: GatewayError): boolean {
  if (error instanceof ProviderError) return error.retryable;
  return error instanceof TimeoutError;
}

/** The router's retry and cooldown policy for `failure` on try number `attempt` (1-based). */
export function decide(failure: GatewayError, attempt: number, facts: DecisionFacts): Decision {
  // The caller's abort and a spent deadline end the whole call, not just this attempt.
  if (facts.callAborted) return { kind: "end", reason: "aborted" };
  if (failure instanceof TimeoutError && facts.now >= facts.deadline) return { kind: "end", reason: "deadline" };
  if (!isRetryable(failure)) {
    // With nowhere to fall back to, the caller gets the error itself, and nothing cools: a key
    // fixed or a model name corrected works on the next call, not minutes later.
    const eject = !facts.lastResort && fallsBack(failure, facts.fallbackOn ?? DEFAULT_FALLBACK_ON);
    if (eject) return { kind: "eject" };
    // Unreadable answers would come back the same here (no retry), but are this deployment's.
    if (failure instanceof ProviderError && failure.type === "invalid_response") {
      return facts.lastResort ? { kind: "next", blame: true } : { kind: "next", blame: true, fallBack: true };
    }
    return { kind: "next", blame: false };
  }

  const retryAfterMs = failure instanceof ProviderError ? failure.retryAfterMs : undefined;
  if (retryAfterMs !== undefined && (retryAfterMs > facts.maxDelayMs || attempt > facts.retries)) {
    return { kind: "cool", durationMs: retryAfterMs };
  }

  // A provider that said when to come back is cooled for that long instead of blamed.
  const blame =
    retryAfterMs === undefined && (!(failure instanceof TimeoutError) || facts.timeoutMs >= facts.configuredTimeoutMs);
  if (attempt > facts.retries) return { kind: "next", blame };

  const delayMs = retryAfterMs ?? backoffDelay(attempt, facts.minDelayMs, facts.maxDelayMs, facts.random);
  // Cooled meanwhile for longer than this wait: try elsewhere, unless there is nowhere else.
  if (!facts.lastResort && facts.unavailableForMs > delayMs) return { kind: "next", blame };
  if (facts.now + delayMs >= facts.deadline) {
    return retryAfterMs === undefined ? { kind: "next", blame } : { kind: "cool", durationMs: retryAfterMs };
  }
  return retryAfterMs === undefined ? { kind: "retry", delayMs, blame } : { kind: "retry", delayMs, blame, coolMs: retryAfterMs };
}

/** Whether a failure that is not retryable is this deployment's alone (`fallbackOn`). */
export function fallsBack(failure: GatewayError, fallbackOn: readonly FallbackCondition[]): boolean {
  if (!(failure instanceof ProviderError)) return false;
  return fallbackOn.some((condition) =>
    typeof condition === "number" ? condition === failure.status : condition === failure.type,
  );
}
