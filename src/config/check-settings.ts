import type { z } from "zod";
import { toIssues } from "../core/config-issues.js";
import { ConfigError, type Issue } from "../core/errors.js";
import { catalogProvidersOf, createPriceBook, guessedPlacements, type PriceBook } from "../core/model-catalog.js";
import type { ModelFactsLookup, RouteTable } from "../core/route.js";
import { unreadable } from "../core/unreadable.js";
import { checkBudgetPrices } from "./check-budget-prices.js";
import { checkConfigShape } from "./check-config-shape.js";
import { checkKeyModels } from "./check-key-models.js";
import { buildRouteTable } from "./resolve-routes.js";
import { gatewayConfigSchema } from "./schema.js";

/** A config that passed every check, and the route table built from it. */
export interface CheckedSettings {
  settings: z.output<typeof gatewayConfigSchema>;
  table: RouteTable;
}

/**
 * Validates a gateway config all at once: its shape, then what only the route table can tell
 * (unknown models in keys, budgets over unpriced models). Throws one `ConfigError` listing
 * every bad path.
 */
export function checkSettings(config: unknown): CheckedSettings {
  const settings = parseConfig(config);
  const issues: Issue[] = [];
  const prices = createPriceBook(settings.prices, catalogProvidersOf(settings.providers), guessedPlacements(settings.providers));
  const table = buildRouteTable(settings.providers, settings.models ?? {}, factsFrom(prices), issues, (provider, model) =>
    prices.knows(model, provider),
  );
  checkKeyModels(settings.keys, table, issues);
  const budgetsConfigured =
    settings.users?.budget !== undefined || Object.values(settings.keys ?? {}).some((key) => key.budget !== undefined);
  checkBudgetPrices(budgetsConfigured, table, issues);
  if (settings.controlPlane && !settings.spend?.store && settings.spend?.maxRecords !== undefined) {
    issues.push({ path: "spend.maxRecords", message: "sizes the default memory store only; with a controlPlane, records go to its ledger" });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { settings, table };
}

function parseConfig(config: unknown): z.output<typeof gatewayConfigSchema> {
  let shapeIssues: Issue[];
  let parsed: ReturnType<typeof gatewayConfigSchema.safeParse>;
  try {
    shapeIssues = checkConfigShape(config);
    parsed = gatewayConfigSchema.safeParse(config);
  } catch (error) {
    throw new ConfigError([{ path: "", message: unreadable(error) }]);
  }
  const issues = parsed.success ? shapeIssues : [...shapeIssues, ...toIssues(parsed.error)];
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  return parsed.data;
}

/** Catalog facts with the config's `prices` on top, for the route table. */
function factsFrom(prices: PriceBook): ModelFactsLookup {
  return (provider, model) => prices.factsOf(model, provider);
}
