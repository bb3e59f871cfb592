import { routeChain, type Deployment, type Route, type RouteTable } from "../core/route.js";
import {
  AllDeploymentsFailedError,
  InvalidRequestError,
  RateLimitError,
  type FailedAttempt,
} from "../core/errors.js";
import type { CooldownEvent } from "../core/events.js";
import { promptTokensOf } from "../core/settle.js";
import type { CallContext } from "../core/call-context.js";
import { withIdentity } from "../core/identity.js";
import { report } from "../core/report.js";
import { abortReason, sleep } from "../core/abortable.js";
import type { AttemptAbort } from "./attempt-abort.js";
import { isRetryable } from "./decide.js";
import { deploymentTrier, type DeploymentOutcome, type DeploymentTrierOptions } from "./try-deployment.js";
import { keepsConfiguredOrder, orderDeployments } from "./strategies.js";
import { requestedMaxTokens } from "../core/chat-request.js";
import type { HedgeStats } from "./hedge.js";
import { dispatchRoutes } from "./route-dispatch.js";

/** One call's walk: each route of the chain with its deployments in the order tried, and all of them in that order. */
interface Walk {
  readonly plan: readonly { readonly route: Route; readonly deployments: readonly Deployment[] }[];
  readonly candidates: readonly Deployment[];
}

/** Panic mode tries the one candidate back first: there is nowhere else to go. */
const alwaysLastResort = (): boolean => true;

/** What the router passes through to each deployment's tries, plus what it needs itself. */
export interface RouterOptions extends Omit<DeploymentTrierOptions, "live" | "reportCooldown"> {
  table: RouteTable;
  /** Aborts when the gateway closes: every attempt in flight is aborted with its reason. */
  closeSignal: AbortSignal;
  /** Hedged routes' counters, for `gateway.stats()`. */
  hedgeStats: HedgeStats;
}

/**
 * Routing and reliability, the innermost call middleware: walks the requested route and then
 * its fallbacks; within a route, the deployments in strategy order, skipping cooling and
 * full ones; on each deployment, retries with backoff. A non-retryable error ends the call at
 * once (it would fail the same way elsewhere) unless the route's `fallbackOn` says it is the
 * deployment's alone; abort and the deadline end it at any point. When every candidate is
 * cooling, the one back first is tried early (panic mode) rather than failing for minutes.
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

  // A route's chain (itself, then its fallbacks' in walk order) follows from the table alone:
  // walked once per route, not per call (a generator, a Set and an array each time).
  const chains = new WeakMap<Route, readonly Route[]>();
  const chainOf = (start: Route): readonly Route[] => {
    let chain = chains.get(start);
    if (!chain) {
      chain = [...routeChain(start, table)];
      chains.set(start, chain);
    }
    return chain;
  };

  // A walk whose every step keeps its deployments' configured order (one deployment, or an
  // ordered or cascade strategy) is the same on every call: built once per route, not the
  // plan's objects and the candidates' array per call.
  const fixedWalks = new WeakMap<Route, Walk>();
  const walkOf = (start: Route): Walk => {
    const fixed = fixedWalks.get(start);
    if (fixed) return fixed;
    const chain = chainOf(start);
    const plan = chain.map((route) => ({
      route,
      deployments: orderDeployments(route.strategy, route.deployments, health),
    }));
    const walk: Walk = { plan, candidates: plan.flatMap((step) => step.deployments) };
    if (chain.every((route) => keepsConfiguredOrder(route.strategy, route.deployments))) fixedWalks.set(start, walk);
    return walk;
  };

  // Cascade and hedged routes walk a route more than once (route-dispatch.ts).
  return dispatchRoutes(route, { table, events, hedgeStats: options.hedgeStats });

  async function route(ctx: CallContext): Promise<void> {
    const failures: FailedAttempt[] = [];
    const unsupported: InvalidRequestError[] = [];
    let firstBackInMs = Number.POSITIVE_INFINITY;
    let firstBack: { route: Route; deployment: Deployment } | undefined;
    let capacityBackInMs = Number.POSITIVE_INFINITY;
    let cooling = 0;
    let skippedForCapacity = 0;
    let tooLong = 0;
    let previous: Route | undefined;

    // The whole walk up front, so an attempt knows whether any candidate after it is left.
    const { plan, candidates } = walkOf(ctx.route);
    let position = -1;
    /** For the attempt at `position` (the loop waits for each attempt): whether no candidate after it is usable now. */
    const lastResort = (): boolean => {
      for (let index = position + 1; index < candidates.length; index++) {
        const candidate = candidates[index]!;
        if (health.unavailableForMs(candidate.id) === 0 && fitsContextWindow(ctx, candidate)) return false;
      }
      return true;
    };

    /** One deployment's outcome into the call's tally; true when the call is served. */
    const settle = (deployment: Deployment, outcome: DeploymentOutcome): boolean => {
      if (outcome.kind === "served") return true;
      if (outcome.kind === "skipped") {
        skippedForCapacity++;
        capacityBackInMs = Math.min(capacityBackInMs, outcome.skip.retryAfterMs);
        return false;
      }
      if (outcome.error instanceof InvalidRequestError) {
        // This provider cannot express the request (e.g. `seed` on Anthropic); another
        // deployment or fallback may. Nothing was sent, so nothing cools down.
        unsupported.push(outcome.error);
        failures.push({ deployment: deployment.id, error: outcome.error });
        return false;
      }
      if (!isRetryable(outcome.error) && !outcome.fallBack) throw outcome.error;
      failures.push({ deployment: deployment.id, error: outcome.error });
      return false;
    };

    for (const { route: current, deployments } of plan) {
      if (previous) {
        const from = previous.name;
        report(events, ctx, "fallback", () => withIdentity(ctx, { from, to: current.name }));
      }
      previous = current;
      for (const deployment of deployments) {
        position++;
        const waitMs = health.unavailableForMs(deployment.id);
        if (waitMs > 0) {
          cooling++;
          if (waitMs < firstBackInMs) {
            firstBackInMs = waitMs;
            firstBack = { route: current, deployment };
          }
          continue;
        }
        if (!fitsContextWindow(ctx, deployment)) {
          tooLong++;
          continue;
        }
        if (settle(deployment, await tryDeployment(ctx, current, deployment, lastResort))) return;
      }
    }

    // Every candidate left was cooling: rather than fail until the first comes back, try it
    // (Envoy's panic mode), one early probe at a time; or, when its provider asked for a short
    // wait, wait for it. A deployment cooled for a failure of its own (a revoked key, a
    // retired model) is not tried early.
    if (firstBack && fitsContextWindow(ctx, firstBack.deployment)) {
      const { deployment } = firstBack;
      const reason = health.coolingReason(deployment.id);
      const waitMs = health.unavailableForMs(deployment.id);
      if (reason === "retry-after" && waitMs > 0 && waitMs <= options.maxDelayMs && performance.now() + waitMs < ctx.deadline) {
        await sleep(waitMs, ctx.signal).catch(() => {
          throw abortReason(ctx.signal);
        });
        if (settle(deployment, await tryDeployment(ctx, firstBack.route, deployment, alwaysLastResort))) return;
      } else if (reason !== "deployment" && reason !== "retry-after") {
        const release = health.claimEarlyProbe(deployment.id);
        if (release) {
          try {
            if (settle(deployment, await tryDeployment(ctx, firstBack.route, deployment, alwaysLastResort))) return;
          } finally {
            release();
          }
        }
      }
      const stillCoolingMs = health.unavailableForMs(deployment.id);
      if (stillCoolingMs > 0) firstBackInMs = stillCoolingMs;
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
    // An embedding model's window bounds each input, not their sum: the provider judges those.
    if (deployment.contextWindow === undefined || ctx.embedding) return true;
    return promptTokensOf(ctx) + (requestedMaxTokens(ctx.request) ?? 0) <= deployment.contextWindow;
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
