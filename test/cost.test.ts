import { describe, expect, it } from "vitest";
import { priceSchema, type Price } from "../src/core/route.js";
import type { Usage } from "../src/core/chat-response.js";
import { computeCost, computeCostUsd, estimateMaxCostUsd } from "../src/core/cost.js";
import { CATALOG_PROVIDERS, catalogProviderOf, catalogProvidersOf, createPriceBook, guessedPlacements, lookupModel } from "../src/core/model-catalog.js";
import catalog from "../src/core/catalog.json" with { type: "json" };

/** Usage in OpenAI's shape, with total_tokens derived so tests state only what matters. */
function usage(
  prompt: number,
  completion: number,
  details: { cached?: number; written?: number; reasoning?: number } = {},
): Usage {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: details.cached, cache_creation_tokens: details.written },
    completion_tokens_details: { reasoning_tokens: details.reasoning },
  };
}

const gpt4o: Price = { input: 2.5, output: 10, cachedInput: 1.25 };
const o4mini: Price = { input: 1.1, output: 4.4, cachedInput: 0.275 };
const sonnet45: Price = { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 };
const flash25: Price = { input: 0.3, output: 2.5, cachedInput: 0.03 };

describe("computeCost: each provider's usage shape", () => {
  it("OpenAI with cached prompt tokens bills them at cachedInput", () => {
    // 6,000 uncached x 2.5 + 4,000 cached x 1.25 + 500 out x 10, per 1M = 0.015 + 0.005 + 0.005
    expect(computeCost(usage(10_000, 500, { cached: 4_000 }), gpt4o)).toEqual({ usd: 0.025, sane: true });
  });

  it("OpenAI reasoning model: reasoning tokens are inside completion_tokens, not added on top", () => {
    // 1,200 in x 1.1 + 3,000 out x 4.4 = 0.00132 + 0.0132 (not 5,500 out)
    expect(computeCost(usage(1_200, 3_000, { reasoning: 2_500 }), o4mini)).toEqual({ usd: 0.01452, sane: true });
  });

  it("Anthropic: prompt_tokens includes cache reads and cache writes, each at its own price", () => {
    // input_tokens 100, cache_read 20,000, cache_creation 5,000 -> prompt_tokens 25,100
    // 100 x 3 + 20,000 x 0.3 + 5,000 x 3.75 + 800 x 15 = 0.0003 + 0.006 + 0.01875 + 0.012
    const result = computeCost(usage(25_100, 800, { cached: 20_000, written: 5_000 }), sonnet45);
    expect(result).toEqual({ usd: 0.03705, sane: true });
  });

  it("Anthropic 1-hour cache writes bill at cacheWrite1h, else at cacheWrite; more 1h than written is clamped", () => {
    const split: Usage = {
      ...usage(25_100, 800),
      prompt_tokens_details: { cached_tokens: 20_000, cache_creation_tokens: 5_000, cache_write_1h_tokens: 1_000 },
    };
    // 100 x 3 + 20,000 x 0.3 + 4,000 x 3.75 + 1,000 x 6 + 800 x 15 = 0.0003 + 0.006 + 0.015 + 0.006 + 0.012
    expect(computeCost(split, { ...sonnet45, cacheWrite1h: 6 })).toEqual({ usd: 0.0393, sane: true });
    // No cacheWrite1h on the price: every write at cacheWrite, as before.
    expect(computeCost(split, sonnet45)).toEqual({ usd: 0.03705, sane: true });
    const tooMany: Usage = { ...split, prompt_tokens_details: { ...split.prompt_tokens_details, cache_write_1h_tokens: 9_000 } };
    // Capped at the 5,000 written: 5,000 x 6 instead of 3.75.
    expect(computeCost(tooMany, { ...sonnet45, cacheWrite1h: 6 })).toEqual({ usd: 0.0483, sane: false });
  });

  it("Gemini with thoughts: completion = candidates + thoughts, billed once at output", () => {
    // prompt 11,500 incl. 10,000 cached; candidates 1,000 + thoughts 10,000
    // 1,500 x 0.3 + 10,000 x 0.03 + 11,000 x 2.5 = 0.00045 + 0.0003 + 0.0275
    expect(computeCost(usage(11_500, 11_000, { cached: 10_000, reasoning: 10_000 }), flash25)).toEqual({
      usd: 0.02825,
      sane: true,
    });
  });

  it("without cachedInput or cacheWrite, cache reads and writes cost input", () => {
    const plain: Price = { input: 2, output: 8 };
    // 1,000 prompt tokens at 2 whatever their cache state + 100 out x 8
    expect(computeCostUsd(usage(1_000, 100, { cached: 600, written: 300 }), plain)).toBe(0.0028);
    expect(computeCostUsd(usage(1_000, 100), plain)).toBe(0.0028);
  });

  it("sums in whole picodollars, so small amounts come out exact", () => {
    // Naive float: 3 * 0.1 / 1e6 = 3.0000000000000004e-7; 0.075 / 1e6 * 7 = 5.2499999999999997e-7
    expect(computeCostUsd(usage(3, 0), { input: 0.1, output: 0 })).toBe(3e-7);
    expect(computeCostUsd(usage(7, 0), { input: 0.075, output: 0 })).toBe(5.25e-7);
    expect(computeCostUsd(usage(1, 1), { input: 0.005, output: 0.4 })).toBe(4.05e-7);
  });

  it("accepts null detail fields as absent", () => {
    const withNulls = {
      prompt_tokens: 10,
      completion_tokens: 10,
      total_tokens: 20,
      prompt_tokens_details: { cached_tokens: null },
    } as unknown as Usage;
    expect(computeCost(withNulls, { input: 1, output: 1 })).toEqual({ usd: 0.00002, sane: true });
  });
});

describe("computeCost: nonsensical usage is clamped and flagged", () => {
  const price: Price = { input: 1, output: 2, cachedInput: 0.5, cacheWrite: 1.25 };

  it("negative counts count as 0", () => {
    const result = computeCost(usage(-1_000, 100), price);
    expect(result).toEqual({ usd: 0.0002, sane: false });
    expect(computeCost(usage(100, -5_000), price)).toEqual({ usd: 0.0001, sane: false });
  });

  it("NaN and Infinity count as 0", () => {
    expect(computeCost(usage(Number.NaN, 100), price)).toEqual({ usd: 0.0002, sane: false });
    expect(computeCost(usage(100, Number.POSITIVE_INFINITY), price)).toEqual({ usd: 0.0001, sane: false });
    expect(computeCost(usage(100, 0, { cached: Number.NaN }), price)).toEqual({ usd: 0.0001, sane: false });
  });

  it("a missing prompt or completion count is flagged", () => {
    const missing = { completion_tokens: 10, total_tokens: 10 } as unknown as Usage;
    expect(computeCost(missing, price)).toEqual({ usd: 0.00002, sane: false });
  });

  it("cached above prompt is capped at the prompt, never a negative uncached count", () => {
    // 100 prompt, "500 cached": all 100 billed as cached at 0.5
    const result = computeCost(usage(100, 0, { cached: 500 }), price);
    expect(result).toEqual({ usd: 0.00005, sane: false });
    expect(result.usd).toBeGreaterThanOrEqual(0);
  });

  it("cache reads plus writes above the prompt: writes are capped to what is left", () => {
    // 100 prompt: 80 cached x 0.5 + 20 written x 1.25 (not 90)
    expect(computeCost(usage(100, 0, { cached: 80, written: 90 }), price)).toEqual({ usd: 0.000065, sane: false });
  });

  it("reasoning above completion bills the reasoning (thoughts left out of completion_tokens)", () => {
    expect(computeCost(usage(0, 10, { reasoning: 1_000 }), price)).toEqual({ usd: 0.002, sane: false });
  });

  it("fractional counts are rounded up and flagged", () => {
    expect(computeCost(usage(99.2, 0), price)).toEqual({ usd: 0.0001, sane: false });
  });

  it("a negative price bills nothing rather than a negative amount", () => {
    const result = computeCost(usage(1_000, 1_000), { input: -5, output: 1 });
    expect(result).toEqual({ usd: 0.001, sane: false });
  });

  it("never returns a negative cost, whatever the mix", () => {
    const counts = [-1e9, -1, 0, 1, 1e6, Number.NaN, Number.NEGATIVE_INFINITY];
    for (const prompt of counts) {
      for (const cached of counts) {
        const result = computeCost(usage(prompt, 5, { cached, written: cached, reasoning: prompt }), price);
        expect(result.usd).toBeGreaterThanOrEqual(0);
        expect(Number.isFinite(result.usd)).toBe(true);
      }
    }
  });
});

describe("estimateMaxCostUsd", () => {
  it("prices every prompt token uncached and the whole output cap", () => {
    // 1,000 x 2.5 + 4,096 x 10 = 0.0025 + 0.04096
    expect(estimateMaxCostUsd(1_000, 4_096, gpt4o)).toBe(0.04346);
  });

  it("is never below the cost of a call that stays within it", () => {
    const reserved = estimateMaxCostUsd(25_100, 800, sonnet45);
    // Every prompt token at the cache-write price ($3.75/M, dearer than input): 0.094125 + 0.012.
    expect(reserved).toBe(0.106125);
    expect(reserved).toBeGreaterThanOrEqual(computeCostUsd(usage(25_100, 800, { cached: 20_000, written: 5_000 }), sonnet45));
    // A prompt written to the cache whole costs the most; input-price reservations missed it.
    expect(reserved).toBeGreaterThanOrEqual(computeCostUsd(usage(25_100, 800, { written: 25_100 }), sonnet45));
  });

  it("reserves at the 1-hour cache-write price when it is the dearest", () => {
    const withHour: Price = { ...sonnet45, cacheWrite1h: 6 };
    // 25,100 x 6 + 800 x 15 = 0.1506 + 0.012
    expect(estimateMaxCostUsd(25_100, 800, withHour)).toBe(0.1626);
    const allHour: Usage = { ...usage(25_100, 800, { written: 25_100 }), prompt_tokens_details: { cache_creation_tokens: 25_100, cache_write_1h_tokens: 25_100 } };
    expect(computeCostUsd(allHour, withHour)).toBe(0.1626);
  });

  it("treats bad counts as 0", () => {
    expect(estimateMaxCostUsd(-10, Number.NaN, gpt4o)).toBe(0);
    expect(estimateMaxCostUsd(1_000, -1, gpt4o)).toBe(0.0025);
  });
});

describe("lookupModel", () => {
  it("finds exact names with their facts", () => {
    expect(lookupModel("gpt-4o")).toEqual({
      contextWindow: 128_000,
      maxOutputTokens: 16_384,
      price: { input: 2.5, output: 10, cachedInput: 1.25 },
    });
    expect(lookupModel("claude-sonnet-4-6")?.price).toEqual({ ...sonnet45, cacheWrite1h: 6 });
    expect(lookupModel("gemini-2.5-flash")?.price).toEqual(flash25);
  });

  it("resolves dated snapshots to their family", () => {
    expect(lookupModel("gpt-4o-2024-08-06")).toBe(lookupModel("gpt-4o"));
    expect(lookupModel("claude-sonnet-4-5-20250929")).toBe(lookupModel("claude-sonnet-4-5"));
    expect(lookupModel("gemini-2.5-flash-preview-05-20")).toBe(lookupModel("gemini-2.5-flash"));
    expect(lookupModel("gemini-2.0-flash-001")).toBe(lookupModel("gemini-2.0-flash"));
    expect(lookupModel("claude-3-7-sonnet-latest")).toBe(lookupModel("claude-3-7-sonnet"));
    expect(lookupModel("claude-opus-4-0")).toBe(lookupModel("claude-opus-4"));
  });

  it("prefers the longest family", () => {
    expect(lookupModel("gpt-4o-mini-2024-07-18")).toBe(lookupModel("gpt-4o-mini"));
    expect(lookupModel("o3-mini-2025-01-31")).toBe(lookupModel("o3-mini"));
    expect(lookupModel("claude-opus-4-1-20250805")).toBe(lookupModel("claude-opus-4-1"));
    expect(lookupModel("claude-opus-4-20250514")).toBe(lookupModel("claude-opus-4"));
    expect(lookupModel("gemini-2.5-flash-lite-preview-06-17")).toBe(lookupModel("gemini-2.5-flash-lite"));
  });

  it("does not mistake a sibling model for a snapshot", () => {
    expect(lookupModel("gpt-4o-mini")?.price?.input).toBe(0.15);
    expect(lookupModel("o3-mini")?.price?.input).toBe(1.1);
    expect(lookupModel("o3")?.price?.input).toBe(2);
    // Different models with their own prices stay unknown instead of borrowing a wrong one.
    expect(lookupModel("o3-deep-research")).toBeUndefined();
    expect(lookupModel("gpt-5-codex")).toBeUndefined();
    expect(lookupModel("gpt-4o-realtime-preview")).toBeUndefined();
    expect(lookupModel("gpt-4o-mini-tts")).toBeUndefined();
    expect(lookupModel("claude-opus-4-9")).toBeUndefined();
    // Opus 4.5 has a row of its own: a third of Opus 4's price, not a snapshot of it.
    expect(lookupModel("claude-opus-4-5-20251101")?.price?.input).toBe(5);
    expect(lookupModel("claude-opus-4-20250514")?.price?.input).toBe(15);
    expect(lookupModel("gemini-2.5-flash-image-preview")).toBeUndefined();
  });

  it("an exact row beats its family: the first gpt-4o snapshot kept its own price", () => {
    expect(lookupModel("gpt-4o-2024-05-13")?.price).toEqual({ input: 5, output: 15 });
  });

  it("strips a leading namespace", () => {
    expect(lookupModel("openai/gpt-4o")).toBe(lookupModel("gpt-4o"));
    expect(lookupModel("models/gemini-2.5-flash")).toBe(lookupModel("gemini-2.5-flash"));
    expect(lookupModel("anthropic/claude-sonnet-4-5-20250929")).toBe(lookupModel("claude-sonnet-4-5"));
    expect(lookupModel("openai/o3-mini")?.price?.input).toBe(1.1);
  });

  it("returns undefined for unknown or malformed names", () => {
    for (const name of ["", "-", "gpt", "gpt-4o-", "llama-3.1-70b", "openai/", "/", "4o"]) {
      expect(lookupModel(name), name).toBeUndefined();
    }
  });

  it("leaves the output cap out for embedding models", () => {
    expect(lookupModel("text-embedding-3-small")).toEqual({ contextWindow: 8191, price: { input: 0.02, output: 0 } });
  });
});

describe("createPriceBook", () => {
  const mine: Price = { input: 2, output: 8 };

  it("without overrides, is the catalog", () => {
    const book = createPriceBook();
    expect(book.priceOf("gpt-4o-2024-08-06")).toEqual(gpt4o);
    expect(book.factsOf("gpt-4o")).toEqual(lookupModel("gpt-4o"));
    expect(book.priceOf("my-model")).toBeUndefined();
    expect(book.factsOf("my-model")).toBeUndefined();
  });

  it("an override by exact name wins over the catalog", () => {
    const book = createPriceBook({ "gpt-4o": mine });
    expect(book.priceOf("gpt-4o")).toEqual(mine);
    expect(book.factsOf("gpt-4o")).toEqual({ contextWindow: 128_000, maxOutputTokens: 16_384, price: mine });
  });

  it("an override covers its snapshots, but not sibling models", () => {
    const book = createPriceBook({ "gpt-4o": mine });
    expect(book.priceOf("gpt-4o-2024-08-06")).toEqual(mine);
    expect(book.priceOf("openai/gpt-4o")).toEqual(mine);
    // Any matching override wins, even over a more specific catalog row.
    expect(book.priceOf("gpt-4o-2024-05-13")).toEqual(mine);
    expect(book.priceOf("gpt-4o-mini")).toEqual(lookupModel("gpt-4o-mini")?.price);
  });

  it("prices models the catalog does not know", () => {
    const book = createPriceBook({ "llama-3.1-70b": { input: 0.6, output: 0.6 } });
    expect(book.factsOf("llama-3.1-70b")).toEqual({ price: { input: 0.6, output: 0.6 } });
    expect(book.priceOf("groq/llama-3.1-70b")).toEqual({ input: 0.6, output: 0.6 });
  });

  it("a provider/model override applies only to that provider", () => {
    const azure: Price = { input: 0.1, output: 0.5 };
    const book = createPriceBook({ "azure/gpt-4o-mini": azure });
    expect(book.priceOf("gpt-4o-mini", "azure")).toEqual(azure);
    expect(book.priceOf("gpt-4o-mini-2024-07-18", "azure")).toEqual(azure);
    expect(book.priceOf("gpt-4o-mini", "openai")).toEqual(lookupModel("gpt-4o-mini")?.price);
    expect(book.priceOf("gpt-4o-mini")).toEqual(lookupModel("gpt-4o-mini")?.price);
    expect(book.factsOf("gpt-4o-mini", "azure")?.contextWindow).toBe(128_000);
  });

  it("keeps a copy of the overrides: later edits to the config object do not leak in", () => {
    const overrides: Record<string, Price> = { "gpt-4o": mine };
    const book = createPriceBook(overrides);
    delete overrides["gpt-4o"];
    expect(book.priceOf("gpt-4o")).toEqual(mine);
  });
});

describe("catalog.json", () => {
  const rows = Object.entries(catalog.models);
  const required = [
    "gpt-5.5", "gpt-5.4", "gpt-5.4-mini", "gpt-5.2", "gpt-5.1", "gpt-5", "gpt-5-mini", "gpt-5-nano",
    "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o3-pro", "o4-mini", "o3-mini", "gpt-4o", "gpt-4o-mini",
    "text-embedding-3-small", "text-embedding-3-large",
    "claude-opus-4-8", "claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1", "claude-opus-4",
    "claude-sonnet-4-6", "claude-sonnet-4-5", "claude-sonnet-4", "claude-haiku-4-5",
    "gemini-3.1-pro-preview", "gemini-3-pro-preview", "gemini-3-flash-preview",
    "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-embedding-001",
    "mistral-large", "mistral-small", "deepseek-chat", "deepseek-reasoner", "grok-4.3",
    "llama-3.3-70b-versatile", "qwen/qwen3-32b", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
  ];

  it("explains its units and that config prices override it", () => {
    expect(catalog.note).toMatch(/per 1M tokens/);
    expect(catalog.note).toMatch(/override/);
  });

  it("lists the common models of each provider", () => {
    for (const name of required) expect(catalog.models, name).toHaveProperty([name]);
  });

  it("every row has a valid price, limits, a vendor source and a past date", () => {
    const today = new Date().toISOString().slice(0, 10);
    for (const [name, row] of rows) {
      expect(priceSchema.safeParse(row.price).success, name).toBe(true);
      expect(CATALOG_PROVIDERS, name).toContain(row.provider);
      expect(row.contextWindow, name).toBeGreaterThan(0);
      const maxOutputTokens = "maxOutputTokens" in row ? row.maxOutputTokens : undefined;
      if (maxOutputTokens !== undefined) expect(maxOutputTokens, name).toBeGreaterThanOrEqual(0);
      expect(row.source, name).toMatch(
        /^https:\/\/(platform\.openai\.com|platform\.claude\.com|ai\.google\.dev|mistral\.ai|api-docs\.deepseek\.com|docs\.x\.ai|groq\.com|www\.together\.ai)\//,
      );
      expect(row.asOf, name).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(row.asOf <= today, name).toBe(true);
    }
  });

  it("cache prices are discounts, and Anthropic's 5-minute cache write is 1.25x input", () => {
    for (const [name, row] of rows) {
      const price: Price = row.price;
      if (price.cachedInput !== undefined) expect(price.cachedInput, name).toBeLessThanOrEqual(price.input);
      if (row.provider === "anthropic") {
        expect(price.cacheWrite, name).toBeCloseTo(price.input * 1.25, 10);
        expect(price.cacheWrite1h, name).toBeCloseTo(price.input * 2, 10);
        if (price.longContext) expect(price.longContext.cacheWrite1h, name).toBeCloseTo(price.longContext.input * 2, 10);
        // 0.1x input, or less since Anthropic cut cache reads on its newest models.
        expect(price.cachedInput, name).toBeLessThanOrEqual(price.input * 0.1 + 1e-12);
      } else {
        expect(price.cacheWrite, name).toBeUndefined();
        expect(price.cacheWrite1h, name).toBeUndefined();
      }
    }
  });
});

describe("computeCost: every usage detail field, billed once", () => {
  const audioModel: Price = { input: 2.5, output: 10, cachedInput: 1.25, cacheWrite: 3, audioInput: 40, audioOutput: 80 };

  it("bills OpenAI's cache_write_tokens at cacheWrite", () => {
    const written: Usage = { prompt_tokens: 1_000, completion_tokens: 0, total_tokens: 1_000, prompt_tokens_details: { cache_write_tokens: 400 } };
    // 600 x 2.5 + 400 x 3 = 2,700 per 1M
    expect(computeCost(written, audioModel)).toEqual({ usd: 0.0027, sane: true });
  });

  it("counts cache writes once when an adapter names them both ways", () => {
    const both: Usage = {
      prompt_tokens: 1_000,
      completion_tokens: 0,
      total_tokens: 1_000,
      prompt_tokens_details: { cache_write_tokens: 400, cache_creation_tokens: 400 },
    };
    expect(computeCost(both, audioModel)).toEqual({ usd: 0.0027, sane: true });
  });

  it("bills audio tokens at the audio prices, and the rest of prompt and completion at text prices", () => {
    const spoken: Usage = {
      prompt_tokens: 1_000,
      completion_tokens: 300,
      total_tokens: 1_300,
      prompt_tokens_details: { cached_tokens: 200, cache_write_tokens: 100, audio_tokens: 50 },
      completion_tokens_details: { reasoning_tokens: 40, audio_tokens: 60, accepted_prediction_tokens: 5, rejected_prediction_tokens: 7 },
    };
    // 650 x 2.5 + 200 x 1.25 + 100 x 3 + 50 x 40 + 240 x 10 + 60 x 80 = 11,375 per 1M; reasoning and
    // prediction tokens are inside completion_tokens and add nothing.
    expect(computeCost(spoken, audioModel)).toEqual({ usd: 0.011375, sane: true });
  });

  it("bills audio at text prices when the route has no audio price", () => {
    const spoken: Usage = {
      prompt_tokens: 100,
      completion_tokens: 10,
      total_tokens: 110,
      prompt_tokens_details: { audio_tokens: 100 },
      completion_tokens_details: { audio_tokens: 10 },
    };
    expect(computeCost(spoken, gpt4o)).toEqual(computeCost(usage(100, 10), gpt4o));
  });

  it("caps detail counts at what is left of the prompt and flags it", () => {
    const over: Usage = {
      prompt_tokens: 100,
      completion_tokens: 10,
      total_tokens: 110,
      prompt_tokens_details: { cached_tokens: 80, audio_tokens: 50 },
      completion_tokens_details: { audio_tokens: 20 },
    };
    // 80 cached x 1.25 + 20 audio x 40 + 10 audio out x 80 = 100 + 800 + 800
    expect(computeCost(over, audioModel)).toEqual({ usd: 0.0017, sane: false });
  });

  it("reserves at the dearest of the audio and text prices", () => {
    expect(estimateMaxCostUsd(1_000, 100, audioModel)).toBe((1_000 * 40 + 100 * 80) / 1e6);
  });
});

describe("long-context tiers", () => {
  const gemini25Pro = lookupModel("gemini-2.5-pro")!.price!;
  const sonnet45Long = lookupModel("claude-sonnet-4-5")!.price!;

  it("bills a prompt at the threshold at the base prices, one token more at the tier's, for the whole call", () => {
    expect(computeCostUsd(usage(200_000, 1_000), gemini25Pro)).toBe(0.26);
    expect(computeCostUsd(usage(200_001, 1_000), gemini25Pro)).toBe(0.5150025);
  });

  it("counts cache reads and writes toward the threshold and bills them at the tier's cache prices", () => {
    // 100k uncached at 6, 100k read at 0.6, 50k written at 7.5, 1k out at 22.5.
    expect(computeCostUsd(usage(250_000, 1_000, { cached: 100_000, written: 50_000 }), sonnet45Long)).toBe(1.0575);
  });

  it("reserves at the tier's prices when the prompt is above the threshold", () => {
    expect(estimateMaxCostUsd(300_000, 1_000, gemini25Pro)).toBe(0.765);
    expect(estimateMaxCostUsd(100_000, 1_000, gemini25Pro)).toBe(0.135);
  });

  it("is accepted in config prices", () => {
    const price = { input: 1, output: 2, longContext: { abovePromptTokens: 10, input: 3, output: 4 } };
    expect(priceSchema.safeParse(price).success).toBe(true);
    expect(priceSchema.safeParse({ ...price, longContext: { abovePromptTokens: 0, input: 3, output: 4 } }).success).toBe(false);
    expect(computeCostUsd(usage(11, 1), price)).toBe(0.000037);
  });
});

describe("vendors", () => {
  it("tells a configured provider's vendor by host, then key, then adapter", () => {
    expect(catalogProviderOf("mistral", { name: "openai", serverAddress: "api.mistral.ai" })).toBe("mistral");
    expect(catalogProviderOf("eu", { name: "openai", serverAddress: "api.mistral.ai" })).toBe("mistral");
    expect(catalogProviderOf("fast", { name: "openai", serverAddress: "api.groq.com" })).toBe("groq");
    expect(catalogProviderOf("groq", { name: "openai", serverAddress: "127.0.0.1" })).toBe("groq");
    expect(catalogProviderOf("azure", { name: "openai", serverAddress: "acme.openai.azure.com" })).toBe("openai");
    expect(catalogProviderOf("claude", { name: "anthropic", serverAddress: "127.0.0.1" })).toBe("anthropic");
    expect(catalogProviderOf("primary", { name: "gcp.gemini" })).toBe("google");
    expect(catalogProviderOf("primary", { name: "openai", serverAddress: "127.0.0.1" })).toBeUndefined();
  });

  it("a provider pointed at Mistral is priced from Mistral's rows, snapshots included", () => {
    const book = createPriceBook({}, { mistral: "mistral", openai: "openai" });
    expect(book.priceOf("mistral-large-latest", "mistral")).toEqual({ input: 0.5, output: 1.5, cachedInput: 0.05 });
    expect(book.priceOf("mistral-large-2512", "mistral")).toEqual(book.priceOf("mistral-large", "mistral"));
    expect(book.priceOf("mistral-large-latest", "openai")).toBeUndefined();
    expect(book.priceOf("gpt-4o", "mistral")).toBeUndefined();
    // A provider the book cannot place (a proxy, a local server) is priced from any row, as before.
    expect(book.priceOf("mistral-large-latest", "proxy")).toEqual({ input: 0.5, output: 1.5, cachedInput: 0.05 });
  });

  it("a provider placed by its key alone (pointed at a local server) still prices another vendor's model by name", () => {
    const providers = { openai: { name: "openai", serverAddress: "127.0.0.1" }, mistral: { name: "openai", serverAddress: "api.mistral.ai" } };
    expect([...guessedPlacements(providers)]).toEqual(["openai"]);
    const book = createPriceBook({}, catalogProvidersOf(providers), guessedPlacements(providers));
    expect(book.priceOf("deepseek-chat", "openai")).toEqual(lookupModel("deepseek-chat")?.price);
    expect(book.priceOf("gpt-4o", "openai")).toEqual(lookupModel("gpt-4o", "openai")?.price);
    // Placed by its API host: Mistral's rows only.
    expect(book.priceOf("gpt-4o", "mistral")).toBeUndefined();
  });

  it("knows a model only through a placed provider's own catalog", () => {
    const book = createPriceBook({}, { openai: "openai", groq: "groq", local: undefined });
    expect(book.knows("gpt-4o", "openai")).toBe(true);
    expect(book.knows("gpt-4o-2024-08-06", "openai")).toBe(true);
    expect(book.knows("gpt-4o", "groq")).toBe(false);
    expect(book.knows("qwen/qwen3-32b", "groq")).toBe(true);
    expect(book.knows("gpt-4o", "local")).toBe(false);
    expect(book.knows("gpt-4o", "nobody")).toBe(false);
  });
});

describe("deprecations in the catalog", () => {
  const rows = Object.entries(catalog.models) as [string, { deprecated?: { since?: string; retiresOn?: string; replacement?: string } }][];

  it("carry dates and a replacement the catalog lists and does not deprecate", () => {
    const deprecated = rows.filter(([, row]) => row.deprecated);
    expect(deprecated.map(([name]) => name)).toEqual(expect.arrayContaining(["claude-sonnet-4-5", "claude-opus-4-1", "gemini-2.0-flash"]));
    for (const [name, row] of deprecated) {
      const { since, retiresOn, replacement } = row.deprecated!;
      if (since !== undefined) expect(since, name).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      if (retiresOn !== undefined) expect(retiresOn, name).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      if (replacement !== undefined) {
        expect(lookupModel(replacement), `${name} -> ${replacement}`).toBeDefined();
        expect(lookupModel(replacement)?.deprecated, `${name} -> ${replacement}`).toBeUndefined();
      }
    }
  });

  it("reach the facts routing reads", () => {
    expect(lookupModel("claude-sonnet-4-5-20250929")?.deprecated).toEqual({ retiresOn: "2026-11-30", replacement: "claude-sonnet-5-5" });
    expect(lookupModel("claude-sonnet-4-6")?.deprecated).toBeUndefined();
  });
});
