import type { Deployment } from "../core/route.js";
import type { Strategy } from "../core/route.js";
import type { HealthTracker } from "./health.js";

/**
 * Orders a route's deployments for one call: the first is tried first, the rest are the
 * next candidates when it fails, is cooling or is out of capacity.
 */
export function orderDeployments(
  strategy: Strategy,
  deployments: readonly Deployment[],
  health: HealthTracker,
  random: () => number = Math.random,
): readonly Deployment[] {
  if (deployments.length < 2) return deployments;
  switch (strategy) {
    case "ordered":
    case "cascade":
      return deployments;
    case "weighted":
      return weightedOrder(deployments, random);
    case "least-latency":
      // Unmeasured deployments sort first so each gets measured once.
      return stableSortBy(deployments, (d) => health.latencyMs(d.id) ?? -1);
    case "least-busy":
      return stableSortBy(deployments, (d) => health.inFlight(d.id));
    case "cheapest":
      // Unknown prices sort last: never assume an unpriced model is free.
      return stableSortBy(deployments, (d) => (d.price ? d.price.input + d.price.output : Number.POSITIVE_INFINITY));
  }
}

/** Whether `orderDeployments` returns the deployments as configured, whatever the health: then a walk can be kept. */
export function keepsConfiguredOrder(strategy: Strategy, deployments: readonly Deployment[]): boolean {
  return deployments.length < 2 || strategy === "ordered" || strategy === "cascade";
}

/** Weighted random order without replacement: P(first = d) = weight(d) / total. */
function weightedOrder(deployments: readonly Deployment[], random: () => number): Deployment[] {
  const pool = [...deployments];
  const order: Deployment[] = [];
  let total = pool.reduce((sum, d) => sum + d.weight, 0);
  while (pool.length > 0) {
    let pick = random() * total;
    let index = 0;
    while (index < pool.length - 1 && pick >= pool[index]!.weight) {
      pick -= pool[index]!.weight;
      index++;
    }
    const [chosen] = pool.splice(index, 1);
    order.push(chosen!);
    total -= chosen!.weight;
  }
  return order;
}

function stableSortBy(deployments: readonly Deployment[], score: (d: Deployment) => number): Deployment[] {
  return deployments
    .map((deployment, index) => ({ deployment, index, score: score(deployment) }))
    .sort((a, b) => a.score - b.score || a.index - b.index)
    .map((entry) => entry.deployment);
}
