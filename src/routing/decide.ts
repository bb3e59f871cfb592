import { GatewayError, ProviderError, TimeoutError } from "../core/errors.js";
import { backoffDelay } from "./backoff.js";

/**
 * What the router does after an attempt failed, decided from facts alone (no clock, no health
 * tracker, no timers), so the whole policy reads, and is tested, as one table.
 *
 * - `end`: the call is over: the caller aborted (`aborted`), or a timeout hit the call's deadline.
 * - `cool`: the provider asked for a wait longer than `maxDelayMs`; cool the deployment for it
 *   and move on rather than hold the caller (on the last try too, so later calls skip it).
 * - `next`: give up on this deployment; the route walks on (or the call fails, for an error
 *   that is not retryable).
 * - `retry`: wait `delayMs` (the provider's Retry-After, else backoff), then try it again.
 *
 * `blame` (on `next` and `retry`): count this failure against the deployment's health. Counting
 * may cool the deployment, which turns a `retry` into a `next`; the caller does that step,
 * since only the health tracker knows. A timeout shorter than the deployment's own (a caller's
 * `timeoutMs`, or the deadline) says more about the caller's patience than the deployment.
 */
export type Decision =
  | { kind: "end"; reason: "aborted" | "deadline" }
  | { kind: "cool"; durationMs: number }
  | { kind: "next"; blame: boolean }
  | { kind: "retry"; delayMs: number; blame: boolean };

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
  if (!isRetryable(failure)) return { kind: "next", blame: false };

  const retryAfterMs = failure instanceof ProviderError ? failure.retryAfterMs : undefined;
  if (retryAfterMs !== undefined && retryAfterMs > facts.maxDelayMs) return { kind: "cool", durationMs: retryAfterMs };

  const blame = !(failure instanceof TimeoutError) || facts.timeoutMs >= facts.configuredTimeoutMs;
  if (attempt > facts.retries) return { kind: "next", blame };
  if (facts.unavailableForMs > 0) return { kind: "next", blame };

  const delayMs = retryAfterMs ?? backoffDelay(attempt, facts.minDelayMs, facts.maxDelayMs, facts.random);
  if (facts.now + delayMs >= facts.deadline) return { kind: "next", blame };
  return { kind: "retry", delayMs, blame };
}
