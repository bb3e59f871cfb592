import type { Issue } from "../core/errors.js";
import { declaredDeployments, type RouteTable } from "../core/route.js";

/**
 * Budgets can only limit what has a price. With any budget configured, a declared deployment
 * whose model neither the catalog nor `prices` can price would be free under every budget, so
 * it is a config error with the fix in the message; a free local model says so with
 * `{ input: 0, output: 0 }`. (An undeclared `provider/model` name used at run time is refused
 * per call, `UnpricedModelError`, when a budget applies to it.)
 */
export function checkBudgetPrices(
  budgetsConfigured: boolean,
  table: RouteTable,
  issues: Issue[],
): void {
  if (!budgetsConfigured) return;
  for (const deployment of declaredDeployments(table)) {
    if (deployment.price) continue;
    issues.push({
      path: "prices",
      message: `budgets are configured but '${deployment.id}' has no price (not in the catalog): add prices: { "${deployment.model}": { input, output } } (USD per 1M tokens; 0 for a free local model)`,
    });
  }
}
