import { z } from "zod";
import type { ProviderAdapter } from "./provider-adapter.js";
import type { AcceptCheck, HedgePolicy } from "./cascade-types.js";

/**
 * What a call is routed over: logical routes, the deployments behind them, and their prices.
 * Config builds these (config/resolve-routes.ts); every feature reads them from here.
 */

const usd = z.number().nonnegative();

/**
 * The prices of a whole call whose prompt (cached and cache-written tokens included) is above
 * `abovePromptTokens`: Gemini 2.5 Pro and Claude Sonnet 4/4.5 above 200k, GPT-5.4 above 272k.
 */
export const longContextPriceSchema = z
  .object({
    abovePromptTokens: z.number().int().positive(),
    input: usd,
    output: usd,
    cachedInput: usd.optional(),
    cacheWrite: usd.optional(),
    cacheWrite1h: usd.optional(),
  })
  .strict();

/** USD per 1M tokens. */
export const priceSchema = z
  .object({
    input: usd,
    output: usd,
    cachedInput: usd.optional(),
    /** Anthropic's cache-write price (5-minute TTL, 1.25x input); defaults to `input`. */
    cacheWrite: usd.optional(),
    /**
     * Anthropic's price for cache writes with the 1-hour TTL (2x input), billed to
     * `prompt_tokens_details.cache_write_1h_tokens`; defaults to `cacheWrite`.
     */
    cacheWrite1h: usd.optional(),
    /** Audio input tokens (`prompt_tokens_details.audio_tokens`); defaults to `input`. */
    audioInput: usd.optional(),
    /** Audio output tokens (`completion_tokens_details.audio_tokens`); defaults to `output`. */
    audioOutput: usd.optional(),
    /** Dearer prices for long prompts, where the provider has them. */
    longContext: longContextPriceSchema.optional(),
  })
  .strict();

export const strategySchema = z.enum(["ordered", "weighted", "least-latency", "least-busy", "cheapest", "cascade"]);

/**
 * A failure that is one deployment's alone, so the call falls back rather than ends: an HTTP
 * status (401, 403, 404) or a provider error type (`model_not_found`, for errors inside a 200
 * stream, which carry no status).
 */
export const fallbackConditionSchema = z.union([z.number().int().min(400).max(499), z.string().min(1).max(100)]);
export type FallbackCondition = z.infer<typeof fallbackConditionSchema>;

export type Price = z.infer<typeof priceSchema>;
export type Strategy = z.infer<typeof strategySchema>;

/** A model its vendor deprecated or retired: dates are YYYY-MM-DD. */
export interface Deprecation {
  /** When the vendor announced it, where known. */
  since?: string;
  /** When it stops (or stopped) being served on the vendor's own API. */
  retiresOn?: string;
  /** The vendor's suggested successor. */
  replacement?: string;
}

/** What the gateway knows of a provider-side model (context window, output cap, price). */
export interface ModelFacts {
  contextWindow?: number;
  maxOutputTokens?: number;
  price?: Price;
  /** Set when the catalog marks the model deprecated or retired. */
  deprecated?: Deprecation;
}

export type ModelFactsLookup = (provider: string, model: string) => ModelFacts | undefined;

/** One provider-side model behind a logical route, with what routing needs to know of it. */
export interface Deployment {
  /** `provider/model`, unique per gateway; health and limits are keyed by it. */
  readonly id: string;
  /** The config key of the provider. */
  readonly provider: string;
  readonly adapter: ProviderAdapter;
  /** Provider-side model name. */
  readonly model: string;
  readonly weight: number;
  readonly rpm: number | undefined;
  readonly tpm: number | undefined;
  readonly timeoutMs: number | undefined;
  readonly contextWindow: number | undefined;
  readonly maxOutputTokens: number | undefined;
  readonly price: Price | undefined;
  /** Set when the catalog marks the model deprecated: the first attempt on it warns. */
  readonly deprecated?: Deprecation;
}

/** A logical model: the deployments that serve it, how to pick among them, what follows them. */
export interface Route {
  readonly name: string;
  readonly deployments: readonly Deployment[];
  readonly strategy: Strategy;
  readonly fallbacks: readonly string[];
  readonly cache: boolean;
  /** Non-retryable failures that fall back to the next deployment instead of ending the call. */
  readonly fallbackOn: readonly FallbackCondition[];
  /** For `strategy: "cascade"`: whether a tier's answer is good enough to return. */
  readonly accept?: AcceptCheck;
  /** Starts a second attempt on the next deployment when the first is slow. */
  readonly hedge?: HedgePolicy;
}

export interface RouteTable {
  readonly routes: ReadonlyMap<string, Route>;
  /**
   * The route for a logical name, a one-deployment route for an undeclared `provider/model`, or
   * for a bare model name that exactly one configured provider's catalog knows.
   */
  resolve(name: string): Route | undefined;
  /**
   * The `provider/model` names a bare model name could mean: one per configured provider whose
   * catalog knows it (two or more: the name is ambiguous and `resolve` declines it).
   */
  servedBy?(name: string): readonly string[];
}

/** The route, then its fallbacks breadth-first, each route once: the order the router walks. */
export function* routeChain(start: Route, table: RouteTable): Generator<Route> {
  const seen = new Set<string>([start.name]);
  const queue: Route[] = [start];
  // Bounded: each route is queued once, and routes are finite.
  for (let index = 0; index < queue.length; index++) {
    const current = queue[index]!;
    yield current;
    for (const name of current.fallbacks) {
      if (seen.has(name)) continue;
      seen.add(name);
      const next = table.resolve(name);
      if (next) queue.push(next);
    }
  }
}

/** Every deployment the config declares, once each. */
export function declaredDeployments(table: RouteTable): Deployment[] {
  const seen = new Map<string, Deployment>();
  for (const route of table.routes.values()) for (const deployment of route.deployments) seen.set(deployment.id, deployment);
  return [...seen.values()];
}
