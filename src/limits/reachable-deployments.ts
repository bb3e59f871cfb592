import { routeChain, type Deployment, type Route, type RouteTable } from "../core/route.js";

/**
 * Every deployment a call to `route` could be served by: the route's own, then its fallbacks'
 * (in the order the router walks them), without duplicates. Budgets reserve the worst case
 * over these.
 */
export function reachableDeployments(route: Route, table: RouteTable): Deployment[] {
  const deployments = new Map<string, Deployment>();
  for (const current of routeChain(route, table)) {
    for (const deployment of current.deployments) deployments.set(deployment.id, deployment);
  }
  return [...deployments.values()];
}
