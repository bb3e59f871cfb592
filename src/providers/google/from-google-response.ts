import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { ReasoningDetail, ToolCall } from "../../core/chat-request.js";
import type { ChatResponse, Usage } from "../../core/chat-response.js";
import { ProviderError } from "../../core/errors.js";
import { logprobsResultSchema, toChoiceLogprobs } from "./google-logprobs.js";
import { mapGoogleFinishReason } from "./map-google-finish-reason.js";

// Lenient on purpose: unknown fields are ignored and enums read as plain strings, so a field or a
// finish reason Google adds later cannot break a call.
const partSchema = z.object({
  text: z.string().optional(),
  thought: z.boolean().optional(),
  thoughtSignature: z.string().optional(),
  functionCall: z
    .object({ id: z.string().optional(), name: z.string(), args: z.record(z.string(), z.unknown()).optional() })
    .optional(),
});

const usageSchema = z.object({
  promptTokenCount: z.number().optional(),
  candidatesTokenCount: z.number().optional(),
  totalTokenCount: z.number().optional(),
  thoughtsTokenCount: z.number().optional(),
  cachedContentTokenCount: z.number().optional(),
  toolUsePromptTokenCount: z.number().optional(),
});

const responseSchema = z.object({
  candidates: z
    .array(
      z.object({
        content: z.object({ parts: z.array(partSchema).optional() }).optional(),
        finishReason: z.string().optional(),
        /** Which of `candidateCount` answers this is (0-based). */
        index: z.number().int().nonnegative().optional(),
        logprobsResult: logprobsResultSchema.optional(),
      }),
    )
    .optional(),
  promptFeedback: z.object({ blockReason: z.string().optional() }).optional(),
  usageMetadata: usageSchema.optional(),
  modelVersion: z.string().optional(),
  responseId: z.string().optional(),
  /** Google reports a failure inside an SSE stream as a chunk carrying only `error`. */
  error: z
    .object({
      code: z.number().optional(),
      message: z.string().optional(),
      status: z.string().optional(),
      details: z.array(z.unknown()).optional(),
    })
    .optional(),
});

export type GoogleResponse = z.infer<typeof responseSchema>;
export type GoogleUsage = z.infer<typeof usageSchema>;
export type GoogleResponsePart = z.infer<typeof partSchema>;

/** Checks a `GenerateContentResponse` (or one stream chunk) without trusting its shape. */
export function parseGoogleResponse(payload: unknown, provider: string): GoogleResponse {
  const parsed = responseSchema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues[0]?.path.join(".") || "(root)";
  throw new ProviderError(`Gemini returned a response this adapter cannot read (at ${where})`, {
    provider,
    retryable: true,
    type: "invalid_response",
  });
}

/**
 * Gemini's token counts in OpenAI's shape. Thinking tokens are output tokens (billed as
 * output), so they count in `completion_tokens` and are broken out as `reasoning_tokens`.
 * `toolUsePromptTokenCount` (the results of Google's built-in tools, fed back to the model) is
 * input Google bills as input, outside `promptTokenCount`: it counts in `prompt_tokens`.
 */
export function toUsage(usage: GoogleUsage): Usage {
  const promptTokens = (usage.promptTokenCount ?? 0) + (usage.toolUsePromptTokenCount ?? 0);
  const thoughts = usage.thoughtsTokenCount;
  const completionTokens = (usage.candidatesTokenCount ?? 0) + (thoughts ?? 0);
  const result: Usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: usage.totalTokenCount ?? promptTokens + completionTokens,
  };
  if (usage.cachedContentTokenCount !== undefined) {
    result.prompt_tokens_details = { cached_tokens: usage.cachedContentTokenCount };
  }
  if (thoughts !== undefined) result.completion_tokens_details = { reasoning_tokens: thoughts };
  return result;
}

/**
 * Gemini has no ids for function calls (the API sometimes sends one; then it is kept). A random
 * key per response keeps ids unique across the turns of a conversation, which callers key
 * tool results by.
 */
export function toolCallIdFactory(): (part: NonNullable<GoogleResponsePart["functionCall"]>, index: number) => string {
  const key = randomUUID().replace(/-/g, "").slice(0, 12);
  return (call, index) => call.id ?? `call_${key}_${index}`;
}

/** Gemini's thought summaries of a turn, joined: OpenAI-shape `reasoning_content`. */
export function thoughtsOf(parts: readonly GoogleResponsePart[]): string | undefined {
  const texts = parts.filter((part) => part.text !== undefined && part.thought === true).map((part) => part.text);
  return texts.length > 0 ? texts.join("") : undefined;
}

/**
 * A part's thought signature as a `reasoning_details` entry, with the id of the tool call the
 * part carried (so it goes back on that call), or none for a text part.
 */
export function signatureDetail(part: GoogleResponsePart, toolCallId: string | undefined): ReasoningDetail | undefined {
  if (part.thoughtSignature === undefined || part.thoughtSignature === "") return undefined;
  return {
    type: "reasoning.encrypted",
    data: part.thoughtSignature,
    format: "google-gemini-v1",
    ...(toolCallId !== undefined ? { id: toolCallId } : {}),
  };
}

/** The visible text of a turn: Gemini's thought summaries are not part of the answer. */
export function textOf(parts: readonly GoogleResponsePart[]): string | undefined {
  const texts = parts.filter((part) => part.text !== undefined && part.thought !== true).map((part) => part.text);
  return texts.length > 0 ? texts.join("") : undefined;
}

export interface ResponseMeta {
  provider: string;
  /** The deployment's model, used when Gemini does not report `modelVersion`. */
  model: string;
}

/**
 * Translates a Gemini `GenerateContentResponse` to an OpenAI chat completion. A prompt Gemini
 * blocked (no candidates, `promptFeedback.blockReason`) is an answer, not an error: it reads as
 * `finish_reason: "content_filter"` with `content: null`, like an OpenAI filtered completion,
 * because retrying the same prompt would be blocked again.
 */
export function fromGoogleResponse(payload: unknown, meta: ResponseMeta): ChatResponse {
  const response = parseGoogleResponse(payload, meta.provider);
  const candidates = response.candidates ?? [];
  const blocked = candidates.length === 0 && response.promptFeedback?.blockReason !== undefined;
  if (candidates.length === 0 && !blocked) {
    throw new ProviderError("Gemini returned no candidates and no block reason", {
      provider: meta.provider,
      retryable: true,
      type: "empty_response",
    });
  }
  const result: ChatResponse = {
    id: response.responseId ?? `chatcmpl-${randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: response.modelVersion ?? meta.model,
    // `candidateCount` (OpenAI's `n`) answers come back as candidates, each saying its index.
    choices: blocked ? [toChoice(undefined, 0, true)] : candidates.map((candidate, position) => toChoice(candidate, candidate.index ?? position, false)),
  };
  if (response.usageMetadata) result.usage = toUsage(response.usageMetadata);
  return result;
}

type GoogleCandidate = NonNullable<GoogleResponse["candidates"]>[number];

function toChoice(candidate: GoogleCandidate | undefined, index: number, blocked: boolean): ChatResponse["choices"][number] {
  const parts = candidate?.content?.parts ?? [];
  const idFor = toolCallIdFactory();
  const toolCalls: ToolCall[] = [];
  const details: ReasoningDetail[] = [];
  for (const part of parts) {
    let callId: string | undefined;
    if (part.functionCall !== undefined) {
      callId = idFor(part.functionCall, toolCalls.length);
      toolCalls.push({
        id: callId,
        type: "function",
        function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
      });
    }
    const detail = signatureDetail(part, callId);
    if (detail !== undefined) details.push(detail);
  }
  const reasoning = thoughtsOf(parts);
  return {
    index,
    message: {
      role: "assistant",
      // An empty answer is "" (as OpenAI, the other adapters and the stream accumulator say);
      // null only beside tool calls or for a blocked prompt.
      content: textOf(parts) ?? (toolCalls.length > 0 || blocked ? null : ""),
      ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}),
      ...(details.length > 0 ? { reasoning_details: details } : {}),
    },
    finish_reason: blocked ? "content_filter" : mapGoogleFinishReason(candidate?.finishReason, toolCalls.length > 0),
    logprobs: toChoiceLogprobs(candidate?.logprobsResult),
  };
}
