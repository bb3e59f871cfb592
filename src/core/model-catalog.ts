import type { ModelFacts, Price } from "./route.js";
import catalog from "./catalog.json" with { type: "json" };

/** One catalog row: facts about a provider-side model and where its price came from. */
export interface CatalogEntry {
  provider: "openai" | "anthropic" | "google";
  contextWindow: number;
  /** 0 for embedding models, which answer with vectors, not tokens. */
  maxOutputTokens: number;
  /** USD per 1M tokens. */
  price: { input: number; output: number; cachedInput?: number; cacheWrite?: number };
  /** Where the price was read, and when (YYYY-MM-DD). */
  source: string;
  asOf: string;
  /** Price tiers left out, retirements, figures not confirmed at the source. */
  note?: string;
}

/** Prices and limits as the gateway sees them: config overrides first, then the catalog. */
export interface PriceBook {
  /**
   * The price of a provider-side model, or `undefined` when neither config nor catalog knows it.
   * `provider` (the config key) lets a `"provider/model"` override win for that provider only.
   */
  priceOf(model: string, provider?: string): Price | undefined;
  /** Context window, output cap and price; `undefined` when nothing is known. */
  factsOf(model: string, provider?: string): ModelFacts | undefined;
}

const PROVIDERS: ReadonlySet<string> = new Set(["openai", "anthropic", "google"]);

function isProvider(value: string): value is CatalogEntry["provider"] {
  return PROVIDERS.has(value);
}

/**
 * What may follow a known name for the longer name to be the same model: a date or build
 * (`-2024-08-06`, `-20250929`, `-001`), `-latest`, `-preview-05-20`, `-exp`, or `-0` (Anthropic's
 * `claude-opus-4-0` alias). Anything else names another model with its own price: `gpt-4o-mini`,
 * `o3-pro`, `gpt-4o-realtime-preview`, and `claude-opus-4-5` (a one- or two-digit first part is a
 * new version, not a snapshot). Such names stay unknown rather than borrow a wrong price.
 */
const SNAPSHOT_SUFFIX = /^(?:0|\d{3,}|latest|preview|exp|experimental)(?:-(?:\d+|latest|preview|exp|experimental))*$/;

/**
 * Finds `model` in `table`: exact name, else the longest known name that `model` extends with
 * `-<snapshot>`, else the same after dropping a leading `<namespace>/` (`openai/gpt-4o`,
 * `models/gemini-2.5-flash`). Cost: a few map reads; nothing is sorted per call.
 */
function resolveName<T>(table: ReadonlyMap<string, T>, model: string): T | undefined {
  const found = resolveBare(table, model);
  if (found !== undefined) return found;
  const slash = model.lastIndexOf("/");
  return slash >= 0 ? resolveBare(table, model.slice(slash + 1)) : undefined;
}

function resolveBare<T>(table: ReadonlyMap<string, T>, model: string): T | undefined {
  const exact = table.get(model);
  if (exact !== undefined) return exact;
  // From the right, so the first known prefix is the longest one.
  for (let dash = model.lastIndexOf("-"); dash > 0; dash = model.lastIndexOf("-", dash - 1)) {
    const family = table.get(model.slice(0, dash));
    // The longest known prefix decides: falling back to a shorter one would let `gpt-4o-mini-tts` become `gpt-4o`.
    if (family !== undefined) return SNAPSHOT_SUFFIX.test(model.slice(dash + 1)) ? family : undefined;
  }
  return undefined;
}

function loadCatalog(): ReadonlyMap<string, CatalogEntry> {
  const entries = new Map<string, CatalogEntry>();
  for (const [name, row] of Object.entries(catalog.models)) {
    // A typo in the JSON should fail at import, not bill a model at nothing.
    if (!isProvider(row.provider)) throw new Error(`catalog.json: '${name}' has unknown provider '${row.provider}'`);
    const price = Object.freeze({ ...row.price });
    entries.set(name, Object.freeze({ ...row, provider: row.provider, price }));
  }
  return entries;
}

function toFacts(entry: CatalogEntry): ModelFacts {
  // An output cap of 0 marks an embedding model; routing should not read it as "no output allowed".
  return entry.maxOutputTokens > 0
    ? { contextWindow: entry.contextWindow, maxOutputTokens: entry.maxOutputTokens, price: entry.price }
    : { contextWindow: entry.contextWindow, price: entry.price };
}

const entries = loadCatalog();
const facts: ReadonlyMap<string, ModelFacts> = new Map(
  [...entries].map(([name, entry]): [string, ModelFacts] => [name, Object.freeze(toFacts(entry))]),
);

/**
 * Facts for a provider-side model name from the built-in catalog. Snapshot names resolve
 * to their family (`gpt-4o-2024-08-06` -> `gpt-4o`, `claude-sonnet-4-5-20250929` ->
 * `claude-sonnet-4-5`), so a new snapshot is priced like its family until the table says otherwise.
 *
 * @example
 * lookupModel("openai/gpt-4o-mini-2024-07-18")?.price; // { input: 0.15, output: 0.6, cachedInput: 0.075 }
 * lookupModel("o3-pro"); // undefined: not a snapshot of o3
 */
export function lookupModel(model: string): ModelFacts | undefined {
  return resolveName(facts, model);
}

/**
 * A price book over the catalog and the config's `prices`. An override is found by the same
 * rules as a catalog row (exact, snapshot, `<namespace>/`), and any override that matches wins
 * over the catalog, even a more specific catalog row. A key `"provider/model"` applies only
 * when that provider (config key) serves the model.
 *
 * @example
 * const book = createPriceBook({ "gpt-4o": { input: 2, output: 8 }, "azure/gpt-4o-mini": { input: 0.1, output: 0.5 } });
 * book.priceOf("gpt-4o-2024-08-06");           // { input: 2, output: 8 }
 * book.priceOf("gpt-4o-mini", "azure");        // { input: 0.1, output: 0.5 }
 * book.factsOf("gpt-4o")?.contextWindow;       // 128000, from the catalog
 */
export function createPriceBook(overrides: Readonly<Record<string, Price>> = {}): PriceBook {
  const table: ReadonlyMap<string, Price> = new Map(Object.entries(overrides));
  // Most configs have no provider-qualified keys; skip building `provider/model` strings for them.
  const qualified = [...table.keys()].some((key) => key.includes("/"));

  const overrideOf = (model: string, provider: string | undefined): Price | undefined => {
    if (table.size === 0) return undefined;
    const forProvider = qualified && provider !== undefined ? resolveBare(table, `${provider}/${model}`) : undefined;
    return forProvider ?? resolveName(table, model);
  };

  return {
    priceOf(model, provider) {
      return overrideOf(model, provider) ?? resolveName(entries, model)?.price;
    },
    factsOf(model, provider) {
      const known = resolveName(facts, model);
      const price = overrideOf(model, provider);
      if (price === undefined) return known;
      return { ...known, price };
    },
  };
}
