import type { ModelFacts } from "../config/resolve-routes.js";
import catalog from "./catalog.json" with { type: "json" };

/** One catalog row: facts about a provider-side model and where its price came from. */
export interface CatalogEntry {
  provider: "openai" | "anthropic" | "google";
  contextWindow: number;
  maxOutputTokens: number;
  /** USD per 1M tokens. */
  price: { input: number; output: number; cachedInput?: number; cacheWrite?: number };
  /** Where the price was read, and when (YYYY-MM-DD). */
  source: string;
  asOf: string;
}

const entries = catalog.models as Record<string, CatalogEntry>;
const names = Object.keys(entries).sort((a, b) => b.length - a.length);

/**
 * Facts for a provider-side model name. Dated or suffixed names resolve to their family
 * (`gpt-4o-2024-08-06` -> `gpt-4o`, `claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`) by
 * longest known prefix, so a new snapshot is priced like its family until the table says otherwise.
 */
export function lookupModel(model: string): ModelFacts | undefined {
  const exact = entries[model];
  const entry = exact ?? entries[names.find((name) => model.startsWith(`${name}-`)) ?? ""];
  if (!entry) return undefined;
  return { contextWindow: entry.contextWindow, maxOutputTokens: entry.maxOutputTokens, price: entry.price };
}
