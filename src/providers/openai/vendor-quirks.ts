import { createHash } from "node:crypto";
import type { Usage } from "../../core/chat-response.js";

/*
 * What OpenAI-compatible servers send that OpenAI does not, turned into OpenAI's shape. Each
 * function takes the wire value as parsed leniently and returns the gateway's; docs/adapters.md
 * lists which vendor does what.
 */

/** Text and thinking read from a message's (or a delta's) `content`. */
export interface ReadContent {
  /** The answer's text; `undefined` when `content` held no text at all. */
  text: string | undefined;
  /** Thinking text (Mistral's `thinking` chunks), kept apart from the answer. */
  reasoning: string | undefined;
}

/**
 * `content` as a string (OpenAI) or as an array of typed chunks (Mistral: `text`, `thinking`
 * holding text chunks, `reference`, `image_url`...). Text chunks are joined in order; thinking
 * goes to `reasoning`; chunks with no text (references, images) carry nothing to read.
 */
export function readContent(content: unknown): ReadContent {
  if (typeof content === "string") return { text: content, reasoning: undefined };
  if (!Array.isArray(content)) return { text: undefined, reasoning: undefined };
  let text: string | undefined;
  let reasoning: string | undefined;
  for (const part of content) {
    if (!isRecord(part)) continue;
    if (part.type === "text" && typeof part.text === "string") text = (text ?? "") + part.text;
    else if (part.type === "thinking") {
      const thought = thinkingText(part.thinking);
      if (thought !== undefined) reasoning = (reasoning ?? "") + thought;
    }
  }
  return { text, reasoning };
}

/** Mistral's `thinking` is an array of text chunks; a plain string is read too. */
function thinkingText(thinking: unknown): string | undefined {
  if (typeof thinking === "string") return thinking;
  if (!Array.isArray(thinking)) return undefined;
  let text: string | undefined;
  for (const part of thinking) {
    if (isRecord(part) && typeof part.text === "string") text = (text ?? "") + part.text;
  }
  return text;
}

/** Joins the reasoning a vendor sent in its own field and in content chunks; `undefined` when none. */
export function joinReasoning(...pieces: (string | null | undefined)[]): string | undefined {
  const present = pieces.filter((piece): piece is string => typeof piece === "string");
  return present.length === 0 ? undefined : present.join("");
}

/** Usage as the wire sent it, every field optional (read leniently). */
export interface WireUsage {
  prompt_tokens?: number | undefined;
  completion_tokens?: number | undefined;
  total_tokens?: number | undefined;
  prompt_tokens_details?:
    | {
        cached_tokens?: number | undefined;
        cache_write_tokens?: number | undefined;
        audio_tokens?: number | undefined;
        text_tokens?: number | undefined;
        image_tokens?: number | undefined;
      }
    | null
    | undefined;
  completion_tokens_details?:
    | {
        reasoning_tokens?: number | undefined;
        audio_tokens?: number | undefined;
        accepted_prediction_tokens?: number | undefined;
        rejected_prediction_tokens?: number | undefined;
        text_tokens?: number | undefined;
      }
    | null
    | undefined;
  /** DeepSeek's own name for cache reads (it sends `prompt_tokens_details.cached_tokens` too). */
  prompt_cache_hit_tokens?: number | undefined;
  /** Moonshot's cache reads at the top level of `usage` (its context caching), inside `prompt_tokens`. */
  cached_tokens?: number | undefined;
}

/**
 * Usage in OpenAI's terms, every detail field kept. xAI and Gemini's OpenAI endpoint count
 * reasoning outside `completion_tokens` but inside `total_tokens` (and bill it as output): when
 * the counts add up that way, reasoning is moved into `completion_tokens`, so that
 * `total = prompt + completion` and cost bills reasoning once, as OpenAI's own usage reads.
 */
export function toUsage(usage: WireUsage): Usage {
  const prompt = usage.prompt_tokens ?? 0;
  let completion = usage.completion_tokens ?? 0;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens;
  const total = usage.total_tokens;
  if (reasoning !== undefined && reasoning > 0 && total !== undefined && total !== prompt + completion && total === prompt + completion + reasoning) {
    completion += reasoning;
  }
  const result: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total ?? prompt + completion };

  const promptDetails: NonNullable<Usage["prompt_tokens_details"]> = {};
  const cached = usage.prompt_tokens_details?.cached_tokens ?? usage.prompt_cache_hit_tokens ?? usage.cached_tokens;
  if (cached !== undefined) promptDetails.cached_tokens = cached;
  const written = usage.prompt_tokens_details?.cache_write_tokens;
  if (written !== undefined) promptDetails.cache_write_tokens = written;
  const audioIn = usage.prompt_tokens_details?.audio_tokens;
  if (audioIn !== undefined) promptDetails.audio_tokens = audioIn;
  const textIn = usage.prompt_tokens_details?.text_tokens;
  if (textIn !== undefined) promptDetails.text_tokens = textIn;
  const imageIn = usage.prompt_tokens_details?.image_tokens;
  if (imageIn !== undefined) promptDetails.image_tokens = imageIn;
  if (Object.keys(promptDetails).length > 0) result.prompt_tokens_details = promptDetails;

  const completionDetails: NonNullable<Usage["completion_tokens_details"]> = {};
  const source = usage.completion_tokens_details;
  if (reasoning !== undefined) completionDetails.reasoning_tokens = reasoning;
  if (source?.audio_tokens !== undefined) completionDetails.audio_tokens = source.audio_tokens;
  if (source?.accepted_prediction_tokens !== undefined) completionDetails.accepted_prediction_tokens = source.accepted_prediction_tokens;
  if (source?.rejected_prediction_tokens !== undefined) completionDetails.rejected_prediction_tokens = source.rejected_prediction_tokens;
  if (source?.text_tokens !== undefined) completionDetails.text_tokens = source.text_tokens;
  if (Object.keys(completionDetails).length > 0) result.completion_tokens_details = completionDetails;
  return result;
}

/**
 * An id for a tool call a server sent with an empty or missing id (Gemini's OpenAI endpoint sends
 * `""`), so the caller can answer it by `tool_call_id`. Derived from the response id and the
 * call's position, so the stream and its final response agree, and a replay gets the same id.
 */
export function stableToolCallId(responseId: string, choiceIndex: number, callIndex: number): string {
  const digest = createHash("sha256").update(`${responseId}\u0000${choiceIndex}\u0000${callIndex}`).digest("hex");
  return `call_${digest.slice(0, 24)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
