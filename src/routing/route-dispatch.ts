import type { CallContext } from "../core/call-context.js";
import type { GatewayEvents } from "../core/events.js";
import type { RouteTable } from "../core/route.js";
import { createCascade } from "./cascade.js";
import { createHedging, type HedgeStats } from "./hedge.js";

/**
 * The routes that need more than one walk of a route: a cascade (tiers in turn) and a hedged
 * route (two walks at once). Every other route goes straight to `routeOnce`.
 */
export function dispatchRoutes(
  routeOnce: (ctx: CallContext) => Promise<void>,
  options: { table: RouteTable; events: GatewayEvents; hedgeStats: HedgeStats },
): (ctx: CallContext) => Promise<void> {
  const cascade = createCascade({ ...options, routeOnce });
  const hedged = createHedging({ ...options, routeOnce });
  // An embeddings call walks its route once: a cascade judges generated text, and a hedge's
  // second walk would bill a second embedding for the same vectors.
  return (ctx) => (ctx.embedding ? routeOnce(ctx) : ctx.route.accept ? cascade(ctx) : ctx.route.hedge && ctx.route.deployments.length > 1 ? hedged(ctx) : routeOnce(ctx));
}
