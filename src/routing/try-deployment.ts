import type { AttemptContext } from "../core/attempt-context.js";
import type { CallContext } from "../core/call-context.js";
import type { AttemptRecord } from "../core/chat-response.js";
import { abortReason, sleep } from "../core/abortable.js";
import { deadlineExceeded } from "../core/deadline.js";
import { DeploymentSkip } from "../core/deployment-skip.js";
import { GatewayError, ProviderError } from "../core/errors.js";
import type { CooldownEvent, GatewayEvents } from "../core/events.js";
import { withIdentity } from "../core/identity.js";
import { report } from "../core/report.js";
import type { Deployment, Route } from "../core/route.js";
import type { AttemptAbort } from "./attempt-abort.js";
import { Attempt, type AttemptHost } from "./attempt.js";
import { decide } from "./decide.js";
import type { HealthTracker } from "./health.js";

/** Served needs nothing else said: one shared outcome, not one per call. */
const SERVED: DeploymentOutcome = Object.freeze({ kind: "served" });

export type DeploymentOutcome =
  | { kind: "served" }
  /** `fallBack`: a failure of this deployment alone (`fallbackOn`): the call walks on even if it is not retryable. */
  | { kind: "failed"; error: GatewayError; fallBack?: boolean }
  | { kind: "skipped"; skip: DeploymentSkip };

export interface DeploymentTrierOptions {
  health: HealthTracker;
  events: GatewayEvents;
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
  streamIdleTimeoutMs: number;
  /** The attempt pipeline: attempt middleware around forward. */
  runAttempt: (attempt: AttemptContext) => Promise<void>;
  /** Attempts in flight, so the gateway's `close()` can abort them without a listener per call. */
  live: Set<AttemptAbort>;
  /** To listeners, and onto the call's trace. */
  reportCooldown: (ctx: CallContext, cooldown: CooldownEvent) => void;
}

/**
 * The attempt lifecycle on one deployment: per try, its timer, its abort (caller, timeout,
 * gateway close), its health probe and its record on the call; after a failure, what
 * `decide` says (retry after a wait, cool, give up on the deployment, end the call). A stream
 * keeps its attempt open until it ends (`onStreamEnd`), so its health verdict waits for it.
 */
export function deploymentTrier(options: DeploymentTrierOptions) {
  const { health, events, reportCooldown } = options;
  const host: AttemptHost = { health, live: options.live, reportCooldown };
  /**
   * `lastResort` says whether the call has no other candidate available now; if so, a cooldown
   * decided meanwhile does not cut this deployment's retries short (there is nowhere better).
   */
  return async function tryDeployment(
    ctx: CallContext,
    route: Route,
    deployment: Deployment,
    lastResort: () => boolean,
  ): Promise<DeploymentOutcome> {
    for (let attempt = 1; ; attempt++) {
      if (ctx.signal.aborted) throw abortReason(ctx.signal);
      const remaining = ctx.deadline - performance.now();
      if (remaining <= 0) throw deadlineExceeded(ctx);

      const configuredTimeoutMs = deployment.timeoutMs ?? options.timeoutMs;
      const perAttempt = ctx.options.timeoutMs ?? configuredTimeoutMs;
      const timeoutMs = Math.min(perAttempt, remaining);
      const attemptContext = new Attempt(
        host,
        ctx,
        route,
        deployment,
        attempt,
        timeoutMs,
        perAttempt,
        options.streamIdleTimeoutMs,
      );
      const startedAt = performance.now();

      let failure: GatewayError;
      try {
        await options.runAttempt(attemptContext);
        const durationMs = performance.now() - startedAt;
        ctx.attempts.push(record(route, deployment, durationMs));
        ctx.served = { route, deployment };
        if (attemptContext.chunks) {
          // The attempt stays open while the stream flows: its timer gives way to the idle
          // timer, and its health verdict waits for the stream's end (onStreamEnd).
          attemptContext.stopTimer();
          attemptContext.firstChunkMs = durationMs;
          ctx.chunks = attemptContext.chunks;
        } else {
          health.success(deployment.id, durationMs, attemptContext.ticket);
          attemptContext.release();
          ctx.response = attemptContext.response;
          if (attemptContext.embeddings) ctx.embeddings = attemptContext.embeddings;
        }
        return SERVED;
      } catch (error) {
        attemptContext.release();
        if (error instanceof DeploymentSkip) return { kind: "skipped", skip: error };
        failure = toGatewayError(error, attemptContext.abortedWith, deployment);
        ctx.attempts.push(record(route, deployment, performance.now() - startedAt, failure));
      }

      const decision = decide(failure, attempt, {
        callAborted: ctx.signal.aborted,
        now: performance.now(),
        deadline: ctx.deadline,
        retries: options.retries,
        minDelayMs: options.minDelayMs,
        maxDelayMs: options.maxDelayMs,
        timeoutMs,
        configuredTimeoutMs,
        unavailableForMs: health.unavailableForMs(deployment.id),
        lastResort: lastResort(),
        fallbackOn: route.fallbackOn,
      });
      if (decision.kind === "end") throw decision.reason === "aborted" ? abortReason(ctx.signal) : failure;
      if (decision.kind === "eject") {
        const cooledFor = health.ejectForDeploymentFailure(deployment.id);
        if (cooledFor !== undefined) reportCooldown(ctx, { deployment: deployment.id, durationMs: cooledFor, reason: "deployment" });
        return { kind: "failed", error: failure, fallBack: true };
      }
      if (decision.kind === "cool") {
        if (health.coolFor(deployment.id, decision.durationMs)) {
          reportCooldown(ctx, { deployment: deployment.id, durationMs: decision.durationMs, reason: "retry-after" });
        }
        return { kind: "failed", error: failure };
      }
      const cooledFor = decision.blame ? health.failure(deployment.id, attemptContext.ticket) : undefined;
      if (cooledFor !== undefined) {
        reportCooldown(ctx, { deployment: deployment.id, durationMs: cooledFor, reason: attemptContext.ticket.probe ? "probe-failed" : "failures" });
      }
      if (decision.kind === "next") return { kind: "failed", error: failure, ...(decision.fallBack ? { fallBack: true } : {}) };
      // Ejected by this failure: move on, unless there is nowhere else to go (then this call
      // keeps its retries; attempts begun during the cooldown neither extend nor repeat it).
      if (cooledFor !== undefined && !lastResort()) return { kind: "failed", error: failure };
      if (decision.coolMs !== undefined && health.coolFor(deployment.id, decision.coolMs)) {
        reportCooldown(ctx, { deployment: deployment.id, durationMs: decision.coolMs, reason: "retry-after" });
      }

      const { delayMs } = decision;
      report(events, ctx, "retry", () => withIdentity(ctx, { deployment: deployment.id, attempt, delayMs, error: failure }));
      if (delayMs > 0) {
        await sleep(delayMs, ctx.signal).catch(() => {
          throw abortReason(ctx.signal);
        });
      }
    }
  };
}

function toGatewayError(error: unknown, abortedWith: GatewayError | undefined, deployment: Deployment): GatewayError {
  if (abortedWith !== undefined) return abortedWith;
  if (error instanceof ProviderError) {
    error.deployment = deployment.id;
    return error;
  }
  if (error instanceof GatewayError) return error;
  return new ProviderError(`${deployment.id} failed: ${error instanceof Error ? error.message : String(error)}`, {
    provider: deployment.provider,
    deployment: deployment.id,
    retryable: true,
    cause: error,
  });
}

function record(route: Route, deployment: Deployment, durationMs: number, error?: GatewayError): AttemptRecord {
  const attempt: AttemptRecord = {
    deployment: deployment.id,
    provider: deployment.provider,
    route: route.name,
    durationMs: Math.round(durationMs * 1000) / 1000,
  };
  if (error) {
    attempt.errorCode = error.code;
    if (error instanceof ProviderError && error.status !== undefined) attempt.status = error.status;
  }
  return attempt;
}

