import type { Price } from "./route.js";
import type { Usage } from "./chat-response.js";

/** The cost of one call, and whether the usage it was computed from made sense. */
export interface CostResult {
  /** USD, never negative, rounded to 1e-10. */
  usd: number;
  /**
   * `false` when the usage was nonsensical (a count negative, NaN, missing or fractional; cached
   * plus cache-written tokens above the prompt; reasoning above the completion) or the price was
   * negative. `usd` is then an estimate from repaired counts (bad ones 0, fractions rounded up):
   * record it, and flag or log the call.
   */
  sane: boolean;
}

/**
 * Prices arrive in USD per 1M tokens; one USD per 1M tokens is 1e6 picodollars per token. Counts
 * times whole picodollars are exact integers, so a call's cost is summed without float drift and
 * divided once at the end.
 */
const PICODOLLARS_PER_USD_PER_MILLION = 1e6;
/** Picodollars in the 1e-10 USD the result is rounded to. */
const PICODOLLARS_PER_ROUNDING_STEP = 100;
const ROUNDING_STEPS_PER_USD = 1e10;

/** Collects whether any input had to be repaired, so `computeCost` can say so. */
interface Repairs {
  sane: boolean;
}

function tokenCount(value: number | null | undefined, repairs: Repairs, optional: boolean): number {
  // Providers send null or omit detail fields they do not report; that is absence, not nonsense.
  if (value === undefined || value === null) {
    if (!optional) repairs.sane = false;
    return 0;
  }
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    repairs.sane = false;
    return 0;
  }
  if (!Number.isInteger(value)) {
    repairs.sane = false;
    return Math.ceil(value);
  }
  return value;
}

function picodollarsPerToken(usdPerMillion: number | undefined, fallback: number, repairs: Repairs): number {
  if (usdPerMillion === undefined) return fallback;
  if (!Number.isFinite(usdPerMillion) || usdPerMillion < 0) {
    repairs.sane = false;
    return 0;
  }
  return Math.round(usdPerMillion * PICODOLLARS_PER_USD_PER_MILLION);
}

/**
 * The prices that apply to a call with `promptTokens` (cached and cache-written included): the
 * long-context tier above its threshold, for the whole call, as Google and Anthropic bill it.
 */
export function priceForPrompt(price: Price, promptTokens: number): Price {
  const tier = price.longContext;
  if (tier === undefined || !(promptTokens > tier.abovePromptTokens)) return price;
  return { input: tier.input, output: tier.output, cachedInput: tier.cachedInput, cacheWrite: tier.cacheWrite, cacheWrite1h: tier.cacheWrite1h };
}

function toUsd(picodollars: number): number {
  return Math.round(picodollars / PICODOLLARS_PER_ROUNDING_STEP) / ROUNDING_STEPS_PER_USD;
}

/**
 * What a call cost, from its usage in OpenAI's shape and a price in USD per 1M tokens.
 *
 * Billing, each token once:
 * - prompt: `cached_tokens` at `cachedInput` (else `input`); cache writes at `cacheWrite` (else
 *   `input`), counted once whether the adapter named them `cache_creation_tokens` (Anthropic) or
 *   `cache_write_tokens` (OpenAI) or both (the larger is taken), of which `cache_write_1h_tokens`
 *   (Anthropic's 1-hour TTL) at `cacheWrite1h` (else `cacheWrite`, else `input`); audio `audio_tokens` at
 *   `audioInput` (else `input`); the rest at `input`.
 * - completion: audio `audio_tokens` at `audioOutput` (else `output`); the rest at `output`.
 *   Reasoning and rejected prediction tokens are already part of `completion_tokens` (adapters
 *   normalise vendors that count reasoning outside it) and are never added on top.
 * A price with a `longContext` tier bills the whole call at the tier's prices when
 * `prompt_tokens` is above its `abovePromptTokens`.
 *
 * Nonsense is clamped, never billed negative: bad counts become 0, detail counts are capped at
 * what is left of the prompt or completion (cache reads first, then writes, then audio; 1-hour
 * writes at the writes), and a
 * completion smaller than its own reasoning is raised to it. Any repair sets `sane: false`.
 *
 * @example
 * computeCost(
 *   { prompt_tokens: 10_000, completion_tokens: 500, total_tokens: 10_500, prompt_tokens_details: { cached_tokens: 4_000 } },
 *   { input: 2.5, output: 10, cachedInput: 1.25 },
 * ); // { usd: 0.025, sane: true }
 */
export function computeCost(usage: Usage, listed: Price): CostResult {
  const repairs: Repairs = { sane: true };
  const promptDetails = usage.prompt_tokens_details;
  const completionDetails = usage.completion_tokens_details;
  const prompt = tokenCount(usage.prompt_tokens, repairs, false);
  const price = priceForPrompt(listed, prompt);
  let completion = tokenCount(usage.completion_tokens, repairs, false);
  const reasoning = tokenCount(completionDetails?.reasoning_tokens, repairs, true);
  if (reasoning > completion) {
    completion = reasoning;
    repairs.sane = false;
  }

  let left = prompt;
  const take = (count: number): number => {
    if (count <= left) {
      left -= count;
      return count;
    }
    repairs.sane = false;
    const taken = left;
    left = 0;
    return taken;
  };
  const cached = take(tokenCount(promptDetails?.cached_tokens, repairs, true));
  const written = take(
    Math.max(
      tokenCount(promptDetails?.cache_creation_tokens, repairs, true),
      tokenCount(promptDetails?.cache_write_tokens, repairs, true),
    ),
  );
  let written1h = tokenCount(promptDetails?.cache_write_1h_tokens, repairs, true);
  if (written1h > written) {
    written1h = written;
    repairs.sane = false;
  }
  const audioIn = take(tokenCount(promptDetails?.audio_tokens, repairs, true));
  const textIn = left;

  let audioOut = tokenCount(completionDetails?.audio_tokens, repairs, true);
  if (audioOut > completion) {
    audioOut = completion;
    repairs.sane = false;
  }

  const input = picodollarsPerToken(price.input, 0, repairs);
  const output = picodollarsPerToken(price.output, 0, repairs);
  const cacheWrite = picodollarsPerToken(price.cacheWrite, input, repairs);
  const picodollars =
    textIn * input +
    cached * picodollarsPerToken(price.cachedInput, input, repairs) +
    (written - written1h) * cacheWrite +
    written1h * picodollarsPerToken(price.cacheWrite1h, cacheWrite, repairs) +
    audioIn * picodollarsPerToken(price.audioInput, input, repairs) +
    (completion - audioOut) * output +
    audioOut * picodollarsPerToken(price.audioOutput, output, repairs);
  return { usd: toUsd(picodollars), sane: repairs.sane };
}

/** `computeCost(usage, price).usd`, for callers that do not act on nonsensical usage. */
export function computeCostUsd(usage: Usage, price: Price): number {
  return computeCost(usage, price).usd;
}

/**
 * The most a call can cost before it runs, for budget reservations: every prompt token at the
 * dearest input price (`input`, or `cacheWrite` / `cacheWrite1h` / `cachedInput` / `audioInput`
 * when dearer: Anthropic bills a 5-minute cache write at 1.25x input, a 1-hour one at 2x), and `maxOutputTokens` at the dearer of `output`
 * and `audioOutput`. Bad counts count as 0.
 *
 * @example
 * estimateMaxCostUsd(1_000, 4_096, { input: 2.5, output: 10 }); // 0.04346
 */
export function estimateMaxCostUsd(promptTokens: number, maxOutputTokens: number, listed: Price): number {
  const repairs: Repairs = { sane: true };
  const price = priceForPrompt(listed, promptTokens);
  const picodollars =
    tokenCount(promptTokens, repairs, false) *
      Math.max(
        picodollarsPerToken(price.input, 0, repairs),
        picodollarsPerToken(price.cacheWrite, 0, repairs),
        picodollarsPerToken(price.cacheWrite1h, 0, repairs),
        picodollarsPerToken(price.cachedInput, 0, repairs),
        picodollarsPerToken(price.audioInput, 0, repairs),
      ) +
    tokenCount(maxOutputTokens, repairs, false) *
      Math.max(picodollarsPerToken(price.output, 0, repairs), picodollarsPerToken(price.audioOutput, 0, repairs));
  return toUsd(picodollars);
}

/** `a + b` in USD, rounded to whole picodollars: float sums of prices must not drift (0.1 + 0.2). */
export function addUsd(a: number, b: number): number {
  return Math.round((a + b) * 1e12) / 1e12;
}
