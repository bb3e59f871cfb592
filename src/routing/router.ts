import { routeChain, type Deployment, type Route, type RouteTable } from "../core/route.js";
import {
  AllDeploymentsFailedError,
  InvalidRequestError,
  RateLimitError,
  type FailedAttempt,
} from "../core/errors.js";
import type { CooldownEvent, GatewayEvents } from "../core/events.js";
import { estimatePromptTokens } from "../core/token-estimate.js";
import type { AttemptContext } from "../core/attempt-context.js";
import type { CallContext } from "../core/call-context.js";
import { identityOf } from "../core/identity.js";
import { report } from "../core/report.js";
import { abortReason } from "../core/abortable.js";
import type { AttemptAbort } from "./attempt-abort.js";
import { isRetryable } from "./decide.js";
import { deploymentTrier } from "./try-deployment.js";
import type { HealthTracker } from "./health.js";
import { orderDeployments } from "./strategies.js";
import { requestedMaxTokens } from "../core/chat-request.js";
import type { HedgeStats } from "./hedge.js";
import { dispatchRoutes } from "./route-dispatch.js";

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
  /** Hedged routes' counters, for `gateway.stats()`. */
  hedgeStats: HedgeStats;
}

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
    report(events, ctx, "cooldown", () => cooldown);
  }

  const tryDeployment = deploymentTrier({ ...options, live, reportCooldown });

  // Cascade and hedged routes walk a route more than once (route-dispatch.ts).
  return dispatchRoutes(route, { table, events, hedgeStats: options.hedgeStats });

  async function route(ctx: CallContext): Promise<void> {
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
        const from = previous.name;
        report(events, ctx, "fallback", () => ({ ...identityOf(ctx), from, to: current.name }));
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
  }

  function fitsContextWindow(ctx: CallContext, deployment: Deployment): boolean {
    if (deployment.contextWindow === undefined) return true;
    ctx.promptTokenEstimate ??= estimatePromptTokens(ctx.request);
    return ctx.promptTokenEstimate + (requestedMaxTokens(ctx.request) ?? 0) <= deployment.contextWindow;
  }
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
