import { toolCallInput, toolCallName, type ChatRequest } from "./chat-request.js";
import type { ChatResponse } from "./chat-response.js";

/** Counts the tokens of a text: a real tokenizer, or `estimateTextTokens`. */
export type TextTokenCounter = (text: string) => number;

/** Tokens OpenAI adds around each message (role, separators). */
const PER_MESSAGE_OVERHEAD = 4;
/** Tokens that prime the assistant's reply. */
const REPLY_PRIMING = 3;
/** An image costs roughly 85-1,100 tokens by detail; count a mid value. */
const IMAGE_TOKENS = 765;
/**
 * Output tokens reserved against TPM limits and budgets when neither the request
 * (`max_tokens` / `max_completion_tokens`) nor the catalog caps a deployment's output.
 * Also the `max_tokens` the Anthropic adapter sends then, since its API requires one: one number.
 */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4_096;

/** Characters looked at per text: the estimate costs the same for 2 KB and for 2 MB. */
const SAMPLE_SIZE = 64;

/**
 * A fast, provider-neutral token estimate for a text. Plain chars/4 is right for English prose
 * but 2-4x low for JSON, numbers, code and CJK, which would let budgets and TPM limits be
 * overrun; this weighs character classes instead (ASCII letters ~4 per token, digits ~2,
 * punctuation ~1 each, CJK ~1 each, other scripts ~2 per token), from an evenly spaced sample of
 * at most 64 characters, scaled to the length, so it costs ~0.6 µs for 2 KB or 200 KB.
 * Measured against the larger of o200k/cl100k counts: 0.9-1.15x for chat, English, code and
 * markdown; 1.1-1.55x for JSON; 0.9-1.1x for Chinese and Japanese; 0.9x for digit lists; about
 * 0.5x for base64 and random symbols, the texts it underestimates.
 *
 * @example
 * estimateTextTokens("Hi! Can you help me write an email to my landlord?"); // 12 (o200k: 13)
 */
export function estimateTextTokens(text: string): number {
  const length = text.length;
  if (length === 0) return 0;
  const step = length > SAMPLE_SIZE ? length / SAMPLE_SIZE : 1;
  let weight = 0;
  let sampled = 0;
  for (let position = 0; position < length; position += step) {
    weight += characterWeight(text.charCodeAt(position | 0));
    sampled++;
  }
  return Math.ceil((weight * length) / sampled);
}

/** Tokens per character by class, fitted on o200k and cl100k (see `estimateTextTokens`). */
function characterWeight(code: number): number {
  if (code < 128) {
    const lower = code | 32;
    if (lower >= 97 && lower <= 122) return 0.24; // letters: ~4.2 per token
    if (code >= 48 && code <= 57) return 0.5; // digits: split in groups of 1-3
    if (code === 32 || code === 10 || code === 9 || code === 13) return 0.1; // spaces mostly merge into words
    return 0.8; // punctuation and symbols
  }
  if (code >= 0x2e80) return 1; // CJK, kana, hangul and beyond: about one token each
  return 0.5; // accented Latin, Cyrillic, Greek, Arabic, Hebrew...
}

/**
 * Prompt tokens of a request: each message's text counted by `countText` (a tokenizer when one
 * applies, the estimate otherwise), plus OpenAI's per-message overhead, images at a mid value,
 * tool calls and tool schemas as JSON.
 */
export function estimatePromptTokens(request: ChatRequest, countText: TextTokenCounter = estimateTextTokens): number {
  let tokens = REPLY_PRIMING;
  for (const message of request.messages) {
    tokens += PER_MESSAGE_OVERHEAD;
    const content = "content" in message ? message.content : undefined;
    if (typeof content === "string") tokens += countText(content);
    else if (Array.isArray(content)) {
      for (const part of content) tokens += part.type === "text" ? countText(part.text) : part.type === "refusal" ? countText(part.refusal) : IMAGE_TOKENS;
    }
    if (message.role === "assistant" && message.tool_calls) {
      for (const call of message.tool_calls) tokens += countText(toolCallName(call)) + countText(toolCallInput(call));
    }
  }
  if (request.tools) tokens += countText(JSON.stringify(request.tools));
  return tokens;
}

/** Completion tokens of an answer as delivered (for a stream whose usage never arrived). */
export function estimateCompletionTokens(response: ChatResponse, countText: TextTokenCounter = estimateTextTokens): number {
  let tokens = 0;
  for (const choice of response.choices) {
    const message = choice.message;
    if (message.content) tokens += countText(message.content);
    if (message.refusal) tokens += countText(message.refusal);
    for (const call of message.tool_calls ?? []) tokens += countText(toolCallName(call)) + countText(toolCallInput(call));
  }
  return tokens;
}

/**
 * Share of the tightest TPM limit at which a prompt is worth counting exactly. Below it the
 * estimate's error (about ±15% on prose and code) cannot change an admission decision by more
 * than a fraction of a percent of the limit, and settlement corrects every reservation to the
 * provider's reported usage within the same call. OpenAI's tokenizer costs ~35 µs per 2 KB,
 * more than the rest of the pipeline together, so it is spent only where precision matters.
 */
const EXACT_COUNT_SHARE = 0.05;

/**
 * Prompt tokens for a TPM reservation: the fast estimate, or `exactCounter` (OpenAI's
 * tokenizer) when the prompt is large enough next to `tightestTpm` for precision to matter.
 */
export function promptTokensForLimit(
  request: ChatRequest,
  exactCounter: TextTokenCounter | undefined,
  tightestTpm: number,
): number {
  const rough = estimatePromptTokens(request);
  if (exactCounter === undefined || rough < tightestTpm * EXACT_COUNT_SHARE) return rough;
  return estimatePromptTokens(request, exactCounter);
}
