import type { Deprecation, ModelFacts, Price } from "./route.js";
import catalog from "./catalog.json" with { type: "json" };

/**
 * Who serves and prices a catalog row: the vendor, by its own name. OpenAI-compatible vendors
 * (Mistral, DeepSeek, xAI, Groq, Together) are vendors like any other here: the wire protocol
 * says nothing about the price list.
 */
export const CATALOG_PROVIDERS = ["openai", "anthropic", "google", "mistral", "deepseek", "xai", "groq", "together"] as const;
export type CatalogProvider = (typeof CATALOG_PROVIDERS)[number];

/** One catalog row: facts about a provider-side model and where its price came from. */
export interface CatalogEntry {
  provider: CatalogProvider;
  contextWindow: number;
  /**
   * 0 for embedding models, which answer with vectors, not tokens; absent when the vendor
   * publishes no cap below the context window (routing and budgets then reserve their default).
   */
  maxOutputTokens?: number;
  /** USD per 1M tokens, with the long-context tier where the vendor has one. */
  price: Price;
  /** Where the price was read, and when (YYYY-MM-DD). */
  source: string;
  asOf: string;
  /** Set when the vendor deprecated or retired the model. */
  deprecated?: Deprecation;
  /** Retirements, figures not confirmed at the source. */
  note?: string;
}

/** Prices and limits as the gateway sees them: config overrides first, then the catalog. */
export interface PriceBook {
  /**
   * The price of a provider-side model, or `undefined` when neither config nor catalog knows it.
   * `provider` (the config key) lets a `"provider/model"` override win for that provider only,
   * and picks the vendor whose catalog rows apply (see `catalogProviderOf`).
   */
  priceOf(model: string, provider?: string): Price | undefined;
  /** Context window, output cap, price and deprecation; `undefined` when nothing is known. */
  factsOf(model: string, provider?: string): ModelFacts | undefined;
  /**
   * Whether the catalog of the vendor behind config provider `provider` lists `model`. A provider
   * whose vendor is not known (a local server, a proxy) knows no model: bare names never pick it.
   */
  knows(model: string, provider: string): boolean;
}

const PROVIDERS: ReadonlySet<string> = new Set(CATALOG_PROVIDERS);

function isProvider(value: string): value is CatalogProvider {
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

/** A row as catalog.json holds it: a provider name not yet checked against `CATALOG_PROVIDERS`. */
type CatalogRow = Omit<CatalogEntry, "provider"> & { provider: string };

function loadCatalog(): ReadonlyMap<string, CatalogEntry> {
  const entries = new Map<string, CatalogEntry>();
  const rows: Record<string, CatalogRow> = catalog.models;
  for (const [name, row] of Object.entries(rows)) {
    // A typo in the JSON should fail at import, not bill a model at nothing.
    if (!isProvider(row.provider)) throw new Error(`catalog.json: '${name}' has unknown provider '${row.provider}'`);
    const longContext = row.price.longContext ? Object.freeze({ ...row.price.longContext }) : undefined;
    const price = Object.freeze({ ...row.price, ...(longContext ? { longContext } : {}) });
    const deprecated = row.deprecated ? Object.freeze({ ...row.deprecated }) : undefined;
    entries.set(name, Object.freeze({ ...row, provider: row.provider, price, ...(deprecated ? { deprecated } : {}) }));
  }
  return entries;
}

function toFacts(entry: CatalogEntry): ModelFacts {
  const facts: ModelFacts = { contextWindow: entry.contextWindow, price: entry.price };
  // An output cap of 0 marks an embedding model; routing should not read it as "no output allowed".
  if (entry.maxOutputTokens !== undefined && entry.maxOutputTokens > 0) facts.maxOutputTokens = entry.maxOutputTokens;
  if (entry.deprecated) facts.deprecated = entry.deprecated;
  return facts;
}

const entries = loadCatalog();
const facts: ReadonlyMap<string, ModelFacts> = new Map(
  [...entries].map(([name, entry]): [string, ModelFacts] => [name, Object.freeze(toFacts(entry))]),
);
/** Each vendor's rows alone: a config provider known to be Mistral is priced from Mistral's rows only. */
const factsByProvider: ReadonlyMap<CatalogProvider, ReadonlyMap<string, ModelFacts>> = new Map(
  CATALOG_PROVIDERS.map((provider): [CatalogProvider, ReadonlyMap<string, ModelFacts>] => [
    provider,
    new Map([...entries].filter(([, entry]) => entry.provider === provider).map(([name]) => [name, facts.get(name)!])),
  ]),
);

/** API hosts of each vendor: `openai({ baseURL: "https://api.mistral.ai/v1" })` is Mistral. */
const HOSTS: ReadonlyMap<string, CatalogProvider> = new Map([
  ["api.openai.com", "openai"],
  ["api.anthropic.com", "anthropic"],
  ["generativelanguage.googleapis.com", "google"],
  ["aiplatform.googleapis.com", "google"],
  ["api.mistral.ai", "mistral"],
  ["api.deepseek.com", "deepseek"],
  ["api.x.ai", "xai"],
  ["api.groq.com", "groq"],
  ["api.together.xyz", "together"],
  ["api.together.ai", "together"],
]);

/** Config keys people give these vendors, beside the vendor names themselves. */
const KEY_ALIASES: ReadonlyMap<string, CatalogProvider> = new Map([
  ["azure", "openai"],
  ["claude", "anthropic"],
  ["gemini", "google"],
  ["vertex", "google"],
  ["grok", "xai"],
  ["x-ai", "xai"],
  ["togetherai", "together"],
]);

/** Adapters that speak only one vendor's protocol; `openai()` speaks to many, so its name says nothing. */
const ADAPTER_NAMES: ReadonlyMap<string, CatalogProvider> = new Map([
  ["anthropic", "anthropic"],
  ["gcp.gemini", "google"],
  ["gcp.vertex_ai", "google"],
]);

/**
 * The vendor whose catalog rows price a configured provider, or `undefined` when it cannot be
 * told (a local server, a proxy). In order: the adapter's API host (`api.mistral.ai`, regional
 * `*-aiplatform.googleapis.com`, Azure OpenAI's `*.openai.azure.com`), the config key
 * (`mistral`, or an alias such as `azure`), the adapter (`anthropic()`, `google()`).
 *
 * @example
 * catalogProviderOf("mistral", { name: "openai", serverAddress: "api.mistral.ai" }); // "mistral"
 * catalogProviderOf("local", { name: "openai", serverAddress: "127.0.0.1" });       // undefined
 */
export function catalogProviderOf(key: string, adapter: { readonly name: string; readonly serverAddress?: string }): CatalogProvider | undefined {
  const host = adapter.serverAddress?.toLowerCase();
  if (host !== undefined) {
    const byHost = HOSTS.get(host);
    if (byHost) return byHost;
    if (host.endsWith("-aiplatform.googleapis.com")) return "google";
    if (host.endsWith(".openai.azure.com")) return "openai";
  }
  const lower = key.toLowerCase();
  if (isProvider(lower)) return lower;
  return KEY_ALIASES.get(lower) ?? ADAPTER_NAMES.get(adapter.name);
}

/**
 * Config keys placed by their name or adapter only, not by a vendor's API host: an `openai()`
 * keyed "openai" but pointed at a local vLLM or a proxy. Their placement is a guess, so a model
 * missing from that vendor's rows is priced from any row of its name (`createPriceBook`).
 */
export function guessedPlacements(providers: Readonly<Record<string, { readonly name: string; readonly serverAddress?: string }>>): Set<string> {
  const guessed = new Set<string>();
  for (const [key, adapter] of Object.entries(providers)) {
    if (catalogProviderOf(key, adapter) === undefined) continue;
    const host = adapter.serverAddress?.toLowerCase();
    const byHost = host !== undefined && (HOSTS.has(host) || host.endsWith("-aiplatform.googleapis.com") || host.endsWith(".openai.azure.com"));
    if (!byHost) guessed.add(key);
  }
  return guessed;
}

/** `catalogProviderOf` for each configured provider, for `createPriceBook`. */
export function catalogProvidersOf(
  providers: Readonly<Record<string, { readonly name: string; readonly serverAddress?: string }>>,
): Record<string, CatalogProvider | undefined> {
  const vendors: Record<string, CatalogProvider | undefined> = {};
  for (const [key, adapter] of Object.entries(providers)) vendors[key] = catalogProviderOf(key, adapter);
  return vendors;
}

/**
 * Facts for a provider-side model name from the built-in catalog; with `provider`, from that
 * vendor's rows only. Snapshot names resolve to their family (`gpt-4o-2024-08-06` -> `gpt-4o`,
 * `claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`, `mistral-large-latest` ->
 * `mistral-large`), so a new snapshot is priced like its family until the table says otherwise.
 *
 * @example
 * lookupModel("openai/gpt-4o-mini-2024-07-18")?.price; // { input: 0.15, output: 0.6, cachedInput: 0.075 }
 * lookupModel("o3-deep-research"); // undefined: not a snapshot of o3
 * lookupModel("gpt-4o", "mistral"); // undefined: Mistral does not serve it
 */
export function lookupModel(model: string, provider?: CatalogProvider): ModelFacts | undefined {
  const table = provider === undefined ? facts : factsByProvider.get(provider);
  return table === undefined ? undefined : resolveName(table, model);
}

/**
 * A price book over the catalog and the config's `prices`. An override is found by the same
 * rules as a catalog row (exact, snapshot, `<namespace>/`), and any override that matches wins
 * over the catalog, even a more specific catalog row. A key `"provider/model"` applies only
 * when that provider (config key) serves the model. `vendors` maps config keys to the vendor
 * whose rows price them (`catalogProviderOf`); a key it does not place is priced from any row,
 * and so is a model a `guessed` key's vendor does not list (`guessedPlacements`).
 *
 * @example
 * const book = createPriceBook({ "gpt-4o": { input: 2, output: 8 }, "azure/gpt-4o-mini": { input: 0.1, output: 0.5 } });
 * book.priceOf("gpt-4o-2024-08-06");           // { input: 2, output: 8 }
 * book.priceOf("gpt-4o-mini", "azure");        // { input: 0.1, output: 0.5 }
 * book.factsOf("gpt-4o")?.contextWindow;       // 128000, from the catalog
 */
export function createPriceBook(
  overrides: Readonly<Record<string, Price>> = {},
  vendors: Readonly<Record<string, CatalogProvider | undefined>> = {},
  guessed: ReadonlySet<string> = new Set(),
): PriceBook {
  const table: ReadonlyMap<string, Price> = new Map(Object.entries(overrides));
  const vendorOf: ReadonlyMap<string, CatalogProvider | undefined> = new Map(Object.entries(vendors));
  // Most configs have no provider-qualified keys; skip building `provider/model` strings for them.
  const qualified = [...table.keys()].some((key) => key.includes("/"));

  const overrideOf = (model: string, provider: string | undefined): Price | undefined => {
    if (table.size === 0) return undefined;
    const forProvider = qualified && provider !== undefined ? resolveBare(table, `${provider}/${model}`) : undefined;
    return forProvider ?? resolveName(table, model);
  };
  const catalogFacts = (model: string, provider: string | undefined): ModelFacts | undefined => {
    const scoped = lookupModel(model, provider === undefined ? undefined : vendorOf.get(provider));
    // A placement guessed from the key alone does not rule out another vendor's model.
    return scoped ?? (provider !== undefined && guessed.has(provider) ? lookupModel(model) : undefined);
  };

  return {
    priceOf(model, provider) {
      return overrideOf(model, provider) ?? catalogFacts(model, provider)?.price;
    },
    factsOf(model, provider) {
      const known = catalogFacts(model, provider);
      const price = overrideOf(model, provider);
      if (price === undefined) return known;
      return { ...known, price };
    },
    knows(model, provider) {
      const vendor = vendorOf.get(provider);
      return vendor !== undefined && lookupModel(model, vendor) !== undefined;
    },
  };
}
