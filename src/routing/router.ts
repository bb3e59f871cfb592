import type { AttemptRecord } from "../core/chat-response.js";
import { routeChain, type Deployment, type Route, type RouteTable } from "../core/route.js";
import {
  AllDeploymentsFailedError,
  GatewayError,
  InvalidRequestError,
  ProviderError,
  RateLimitError,
  TimeoutError,
  type FailedAttempt,
} from "../core/errors.js";
import type { CooldownEvent, GatewayEvents } from "../core/events.js";
import { estimatePromptTokens } from "../core/token-estimate.js";
import type { AttemptContext } from "../core/attempt-context.js";
import type { CallContext } from "../core/call-context.js";
import { deadlineExceeded } from "../core/deadline.js";
import { identityOf } from "../core/identity.js";
import { abortReason, sleep } from "../core/abortable.js";
import { AttemptAbort } from "./attempt-abort.js";
import { backoffDelay } from "./backoff.js";
import { DeploymentSkip } from "../core/deployment-skip.js";
import type { HealthTracker } from "./health.js";
import { orderDeployments } from "./strategies.js";
import { requestedMaxTokens } from "../core/chat-request.js";

export interface RouterOptions {
  table: RouteTable;
  health: HealthTracker;
  events: GatewayEvents;
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
  streamIdleTimeoutMs: number;
  /** The attempt pipeline: attempt middleware around forward. */
  runAttempt: (attempt: AttemptContext) => Promise<void>;
  /** Aborts when the gateway closes: every attempt in flight is aborted with its reason. */
  closeSignal: AbortSignal;
}

type DeploymentOutcome =
  | { kind: "served" }
  | { kind: "failed"; error: GatewayError }
  | { kind: "skipped"; skip: DeploymentSkip };

/**
 * Routing and reliability, the innermost call middleware: walks the requested route and then
 * its fallbacks; within a route, the deployments in strategy order, skipping cooling and
 * full ones; on each deployment, retries with backoff. A non-retryable error ends the call at
 * once (it would fail the same way elsewhere); abort and the deadline end it at any point.
 */
export function createRouter(options: RouterOptions): (ctx: CallContext) => Promise<void> {
  const { table, health, events } = options;
  /** Attempts in flight, so `close()` can abort them without a listener per call. */
  const live = new Set<AttemptAbort>();
  options.closeSignal.addEventListener(
    "abort",
    () => {
      for (const attempt of live) attempt.abort(abortReason(options.closeSignal));
    },
    { once: true },
  );

  /** To listeners, and onto the call's trace: a cooldown is one of the call's moments too. */
  function reportCooldown(ctx: CallContext, cooldown: CooldownEvent): void {
    events.emit("cooldown", cooldown);
    ctx.trace?.event("cooldown", cooldown);
  }

  async function tryDeployment(ctx: CallContext, route: Route, deployment: Deployment): Promise<DeploymentOutcome> {
    for (let attempt = 1; ; attempt++) {
      if (ctx.signal.aborted) throw abortReason(ctx.signal);
      const remaining = ctx.deadline - performance.now();
      if (remaining <= 0) throw deadlineExceeded(ctx);

      const configuredTimeoutMs = deployment.timeoutMs ?? options.timeoutMs;
      const perAttempt = ctx.options.timeoutMs ?? configuredTimeoutMs;
      const timeoutMs = Math.min(perAttempt, remaining);
      const abort = new AttemptAbort();
      // The timeout's error is built only if it fires: an Error captures a stack trace,
      // which cost more than the rest of the router put together.
      const timer = setTimeout(
        () =>
          abort.abort(
            timeoutMs < perAttempt ? deadlineExceeded(ctx) : new TimeoutError(perAttempt),
          ),
        timeoutMs,
      );
      // A caller's signal needs a listener; gateway close reaches attempts through `live`.
      const callerSignal = ctx.options.signal ? ctx.signal : undefined;
      const onCallAbort = (): void => abort.abort(abortReason(ctx.signal));
      if (callerSignal) callerSignal.addEventListener("abort", onCallAbort, { once: true });
      live.add(abort);
      const probe = health.begin(deployment.id);
      const startedAt = performance.now();
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        clearTimeout(timer);
        callerSignal?.removeEventListener("abort", onCallAbort);
        live.delete(abort);
        health.end(deployment.id, probe);
      };
      const attemptContext: AttemptContext = {
        call: ctx,
        route,
        deployment,
        attempt,
        signal: abort.signal,
        timeoutMs,
        idleTimeoutMs: options.streamIdleTimeoutMs,
        abort: (reason) => abort.abort(reason),
        race: (work) => abort.race(work),
        aborted: abort.aborted,
        onStreamEnd: (error) => {
          // A stream counts for its deployment only once it is over: one that is cut midway is
          // a failure like any other, or a deployment that cuts every stream would stay healthy.
          if (error === undefined) health.success(deployment.id, firstChunkMs);
          else if (isRetryable(error)) {
            const cooledFor = health.failure(deployment.id, probe);
            if (cooledFor !== undefined) {
              reportCooldown(ctx, { deployment: deployment.id, durationMs: cooledFor, reason: probe ? "probe-failed" : "failures" });
            }
          }
          release();
        },
      };
      let firstChunkMs = 0;

      let failure: GatewayError;
      try {
        await options.runAttempt(attemptContext);
        const durationMs = performance.now() - startedAt;
        ctx.attempts.push(record(route, deployment, durationMs));
        ctx.served = { route, deployment };
        if (attemptContext.chunks) {
          // The attempt stays open while the stream flows: its timer gives way to the idle
          // timer, and its health verdict waits for the stream's end (onStreamEnd).
          clearTimeout(timer);
          firstChunkMs = durationMs;
          ctx.chunks = attemptContext.chunks;
        } else {
          health.success(deployment.id, durationMs);
          release();
          ctx.response = attemptContext.response;
        }
        return { kind: "served" };
      } catch (error) {
        release();
        if (error instanceof DeploymentSkip) return { kind: "skipped", skip: error };
        failure = toGatewayError(error, abort.signal, deployment);
        ctx.attempts.push(record(route, deployment, performance.now() - startedAt, failure));
      }

      // The caller's abort and a spent deadline end the whole call, not just this attempt.
      if (ctx.signal.aborted) throw abortReason(ctx.signal);
      if (failure instanceof TimeoutError && performance.now() >= ctx.deadline) throw failure;
      if (!isRetryable(failure)) return { kind: "failed", error: failure };

      const retryAfterMs = failure instanceof ProviderError ? failure.retryAfterMs : undefined;
      if (retryAfterMs !== undefined && retryAfterMs > options.maxDelayMs) {
        // Waiting that long would hold the caller; cool the deployment and move on instead,
        // on the last try too, so the next calls do not knock on the same door.
        if (health.coolFor(deployment.id, retryAfterMs)) {
          reportCooldown(ctx, { deployment: deployment.id, durationMs: retryAfterMs, reason: "retry-after" });
        }
        return { kind: "failed", error: failure };
      }
      // A timeout shorter than the deployment's own (a caller's `timeoutMs`, or the deadline)
      // says more about the caller's patience than the deployment's health.
      const blameDeployment = !(failure instanceof TimeoutError) || timeoutMs >= configuredTimeoutMs;
      const cooledFor = blameDeployment ? health.failure(deployment.id, probe) : undefined;
      if (cooledFor !== undefined) {
        reportCooldown(ctx, { deployment: deployment.id, durationMs: cooledFor, reason: probe ? "probe-failed" : "failures" });
        return { kind: "failed", error: failure };
      }
      if (attempt > options.retries) return { kind: "failed", error: failure };
      // Cooled meanwhile by someone else (another call, or another process through the store).
      if (health.unavailableForMs(deployment.id) > 0) return { kind: "failed", error: failure };

      const delayMs = retryAfterMs ?? backoffDelay(attempt, options.minDelayMs, options.maxDelayMs);
      if (performance.now() + delayMs >= ctx.deadline) return { kind: "failed", error: failure };
      if (events.has("retry") || ctx.trace) {
        const retried = { ...identityOf(ctx), deployment: deployment.id, attempt, delayMs, error: failure };
        events.emit("retry", retried);
        ctx.trace?.event("retry", retried);
      }
      if (delayMs > 0) {
        await sleep(delayMs, ctx.signal).catch(() => {
          throw abortReason(ctx.signal);
        });
      }
    }
  }

  return async function route(ctx: CallContext): Promise<void> {
    const failures: FailedAttempt[] = [];
    const unsupported: InvalidRequestError[] = [];
    let firstBackInMs = Number.POSITIVE_INFINITY;
    let capacityBackInMs = Number.POSITIVE_INFINITY;
    let cooling = 0;
    let skippedForCapacity = 0;
    let tooLong = 0;
    let previous: Route | undefined;

    for (const current of routeChain(ctx.route, table)) {
      if (previous) {
        if (events.has("fallback") || ctx.trace) {
          const fellBack = { ...identityOf(ctx), from: previous.name, to: current.name };
          events.emit("fallback", fellBack);
          ctx.trace?.event("fallback", fellBack);
        }
      }
      previous = current;
      for (const deployment of orderDeployments(current.strategy, current.deployments, health)) {
        const waitMs = health.unavailableForMs(deployment.id);
        if (waitMs > 0) {
          cooling++;
          firstBackInMs = Math.min(firstBackInMs, waitMs);
          continue;
        }
        if (!fitsContextWindow(ctx, deployment)) {
          tooLong++;
          continue;
        }
        const outcome = await tryDeployment(ctx, current, deployment);
        if (outcome.kind === "served") return;
        if (outcome.kind === "skipped") {
          skippedForCapacity++;
          capacityBackInMs = Math.min(capacityBackInMs, outcome.skip.retryAfterMs);
          continue;
        }
        if (outcome.error instanceof InvalidRequestError) {
          // This provider cannot express the request (e.g. `seed` on Anthropic); another
          // deployment or fallback may. Nothing was sent, so nothing cools down.
          unsupported.push(outcome.error);
          failures.push({ deployment: deployment.id, error: outcome.error });
          continue;
        }
        if (!isRetryable(outcome.error)) throw outcome.error;
        failures.push({ deployment: deployment.id, error: outcome.error });
      }
    }

    if (unsupported.length > 0 && unsupported.length === failures.length && cooling === 0 && skippedForCapacity === 0) {
      // Every candidate refused the request as asked: that is the caller's to fix, so say what.
      throw unsupported.length === 1
        ? unsupported[0]!
        : new InvalidRequestError(
            unsupported.flatMap((error) => error.issues),
            "No deployment of this route or its fallbacks can serve the request as asked:",
          );
    }
    if (failures.length === 0 && skippedForCapacity > 0 && cooling === 0) {
      throw new RateLimitError("deployment", capacityBackInMs, `every deployment of '${ctx.route.name}' is at its RPM/TPM limit`);
    }
    const back = Number.isFinite(firstBackInMs) ? Math.ceil(firstBackInMs) : undefined;
    throw new AllDeploymentsFailedError(failures, describeFailure(ctx.route.name, failures, cooling, tooLong, skippedForCapacity, back), back);
  };

  function fitsContextWindow(ctx: CallContext, deployment: Deployment): boolean {
    if (deployment.contextWindow === undefined) return true;
    ctx.promptTokenEstimate ??= estimatePromptTokens(ctx.request);
    return ctx.promptTokenEstimate + (requestedMaxTokens(ctx.request) ?? 0) <= deployment.contextWindow;
  }
}

function isRetryable(error: GatewayError): boolean {
  if (error instanceof ProviderError) return error.retryable;
  return error instanceof TimeoutError;
}

function toGatewayError(error: unknown, signal: AbortSignal, deployment: Deployment): GatewayError {
  if (signal.aborted) return abortReason(signal);
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

function describeFailure(
  route: string,
  failures: readonly FailedAttempt[],
  cooling: number,
  tooLong: number,
  capacity: number,
  backInMs: number | undefined,
): string {
  const parts: string[] = [];
  if (failures.length > 0) {
    parts.push(failures.map((failure) => `${failure.deployment}: ${failure.error.message}`).join("; "));
  }
  if (cooling > 0) parts.push(`${cooling} cooling down (first back in ${backInMs} ms)`);
  if (capacity > 0) parts.push(`${capacity} at their RPM/TPM limit`);
  if (tooLong > 0) parts.push(`${tooLong} with a context window too small for this request`);
  return `No deployment of '${route}' or its fallbacks could serve the call: ${parts.join("; ") || "none configured"}`;
}
