import type { CallContext } from "../core/call-context.js";
import type { HedgePolicy } from "../core/cascade-types.js";
import { addUsd, computeCost } from "../core/cost.js";
import { AbortError } from "../core/errors.js";
import type { GatewayEvents } from "../core/events.js";
import { withIdentity } from "../core/identity.js";
import { report } from "../core/report.js";
import type { Route } from "../core/route.js";
import { subCall } from "./cascade.js";

/** Per route: calls seen, hedges started, hedges that answered first, hedges the budget refused. */
export interface HedgeRouteStats {
  calls: number;
  hedged: number;
  hedgeWon: number;
  overBudget: number;
}

/** Latencies kept per route for `afterPercentile`; a percentile needs this many first. */
const LATENCY_WINDOW = 200;
const MIN_SAMPLES = 20;
const DEFAULT_BUDGET_PERCENT = 10;

/** Hedging counters and latency windows, one per gateway (no module state). */
export class HedgeStats {
  private readonly routes = new Map<string, HedgeRouteStats & { latencies: number[]; next: number }>();

  route(name: string): HedgeRouteStats & { latencies: number[]; next: number } {
    let state = this.routes.get(name);
    if (!state) {
      state = { calls: 0, hedged: 0, hedgeWon: 0, overBudget: 0, latencies: [], next: 0 };
      this.routes.set(name, state);
    }
    return state;
  }

  snapshot(): Record<string, HedgeRouteStats> {
    const out: Record<string, HedgeRouteStats> = {};
    for (const [name, { calls, hedged, hedgeWon, overBudget }] of this.routes) out[name] = { calls, hedged, hedgeWon, overBudget };
    return out;
  }
}

export interface HedgingOptions {
  events: GatewayEvents;
  hedgeStats: HedgeStats;
  routeOnce: (ctx: CallContext) => Promise<void>;
}

/**
 * A hedged route: the route is walked as usual; if it has not answered (a stream: sent its
 * first chunk) after the policy's wait, a second attempt starts on the next deployment. The
 * first to answer wins and the other is aborted at once. At most one hedge per call, and
 * hedges are capped at `budgetPercent` of the route's calls (at least one), like Envoy's retry
 * budgets, so a slow provider cannot double the load on the next one.
 */
export function createHedging(options: HedgingOptions): (ctx: CallContext) => Promise<void> {
  const { events, hedgeStats, routeOnce } = options;

  return async function hedged(ctx: CallContext): Promise<void> {
    const policy = ctx.route.hedge!;
    const state = hedgeStats.route(ctx.route.name);
    state.calls++;
    const startedAt = performance.now();
    const waitMs = hedgeDelay(policy, state.latencies);

    const primaryRoute: Route = { ...ctx.route, hedge: undefined };
    const primary = launch(ctx, primaryRoute);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeUp = new Promise<"time">((resolve) => {
      if (waitMs !== undefined) timer = setTimeout(() => resolve("time"), waitMs);
    });
    const first = await Promise.race([primary.done.then(() => "primary" as const, () => "primary" as const), timeUp]);
    clearTimeout(timer);

    const budgetPercent = policy.budgetPercent ?? DEFAULT_BUDGET_PERCENT;
    const overBudget = state.hedged >= Math.max(1, Math.floor((state.calls * budgetPercent) / 100));
    if (first === "time" && overBudget) state.overBudget++;
    if (first === "primary" || overBudget) {
      try {
        await primary.done;
      } finally {
        primary.unlink();
      }
      adopt(ctx, primary.sub);
      remember(state, performance.now() - startedAt);
      return;
    }

    state.hedged++;
    const next = ctx.route.deployments[1]!;
    const hedge = launch(ctx, { name: ctx.route.name, deployments: [next], strategy: "ordered", fallbacks: [], fallbackOn: ctx.route.fallbackOn, cache: ctx.route.cache });
    let winner: typeof primary;
    try {
      winner = await Promise.any([primary.done.then(() => primary), hedge.done.then(() => hedge)]);
    } catch {
      primary.unlink();
      hedge.unlink();
      // Both failed: the primary's error says what happened to the route itself.
      await primary.done;
      throw new AbortError();
    }
    const loser = winner === primary ? hedge : primary;
    // The loser is cut at once; if it had answered too, what it cost is the call's.
    loser.controller.abort(new AbortError());
    if (loser.sub.response && loser.sub.served?.deployment.price && loser.sub.response.usage) {
      ctx.extraCostUsd = addUsd(ctx.extraCostUsd ?? 0, computeCost(loser.sub.response.usage, loser.sub.served.deployment.price).usd);
    }
    void loser.done.catch(() => {}).finally(() => loser.unlink());
    if (loser.sub.chunks) void loser.sub.chunks[Symbol.asyncIterator]().return?.();
    winner.unlink();
    if (winner === hedge) state.hedgeWon++;
    adopt(ctx, winner.sub);
    remember(state, performance.now() - startedAt);
    report(events, ctx, "hedge", () =>
      withIdentity(ctx, {
        route: ctx.route.name,
        primary: ctx.route.deployments[0]!.id,
        hedge: next.id,
        winner: winner.sub.served?.deployment.id ?? "",
      }),
    );
  };

  /** One walk with an abort of its own, linked to the call's. */
  function launch(ctx: CallContext, route: Route) {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(ctx.signal.reason);
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener("abort", onAbort, { once: true });
    const sub = subCall(ctx, route, ctx.request, ctx.stream, controller.signal);
    const done = routeOnce(sub);
    done.catch(() => {});
    return { sub, controller, done, unlink: () => ctx.signal.removeEventListener("abort", onAbort) };
  }
}

function adopt(ctx: CallContext, sub: CallContext): void {
  ctx.served = sub.served;
  if (sub.chunks) ctx.chunks = sub.chunks;
  else ctx.response = sub.response;
}

function remember(state: { latencies: number[]; next: number }, latencyMs: number): void {
  if (state.latencies.length < LATENCY_WINDOW) state.latencies.push(latencyMs);
  else state.latencies[state.next] = latencyMs;
  state.next = (state.next + 1) % LATENCY_WINDOW;
}

/** The wait before hedging, or undefined (no hedge) while a percentile has too few samples. */
export function hedgeDelay(policy: HedgePolicy, latencies: readonly number[]): number | undefined {
  if ("afterMs" in policy) return policy.afterMs;
  if (latencies.length < MIN_SAMPLES) return undefined;
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((policy.afterPercentile / 100) * sorted.length))];
}
