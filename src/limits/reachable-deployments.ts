import type { Deployment, Route, RouteTable } from "../config/resolve-routes.js";

/**
 * Every deployment a call to `route` could be served by: the route's own, then its fallbacks'
 * (breadth-first, each route once, as the router walks them), without duplicates. Budgets reserve
 * the worst case over these.
 */
export function reachableDeployments(route: Route, table: RouteTable): Deployment[] {
  const seen = new Set<string>([route.name]);
  const routes: Route[] = [route];
  const deployments = new Map<string, Deployment>();
  // Bounded: each route is visited once, and routes are finite.
  for (let index = 0; index < routes.length; index++) {
    const current = routes[index]!;
    for (const deployment of current.deployments) deployments.set(deployment.id, deployment);
    for (const name of current.fallbacks) {
      if (seen.has(name)) continue;
      seen.add(name);
      const next = table.resolve(name);
      if (next) routes.push(next);
    }
  }
  return [...deployments.values()];
}
