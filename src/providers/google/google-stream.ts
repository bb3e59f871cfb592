import { randomUUID } from "node:crypto";
import type { ChatChunk, ChunkChoice, ToolCallDelta } from "../../core/chat-chunk.js";
import type { FinishReason, Usage } from "../../core/chat-response.js";
import { ProviderError } from "../../core/errors.js";
import type { ReasoningDetail } from "../../core/chat-request.js";
import {
  parseGoogleResponse,
  signatureDetail,
  textOf,
  thoughtsOf,
  toUsage,
  toolCallIdFactory,
  type ResponseMeta,
} from "./from-google-response.js";
import { toChoiceLogprobs } from "./google-logprobs.js";
import { classifyGoogleError, type GoogleErrorContext } from "./google-errors.js";
import { mapGoogleFinishReason } from "./map-google-finish-reason.js";

/**
 * Translates Gemini's SSE chunks (`streamGenerateContent?alt=sse`, each a full
 * `GenerateContentResponse`) to OpenAI chunks: a role chunk, a content delta per chunk of text,
 * each function call as one complete tool-call delta (Gemini never splits a call), a finish
 * chunk, then a usage chunk with `choices: []`.
 *
 * Gemini repeats `usageMetadata` on chunks as running totals, so only the last one counts:
 * summing them would bill the prompt once per chunk.
 */
export async function* toChatChunks(
  responses: AsyncIterable<unknown>,
  meta: ResponseMeta,
  errors: GoogleErrorContext,
): AsyncGenerator<ChatChunk> {
  let id = "";
  let model = meta.model;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: ChunkChoice[], usage?: Usage): ChatChunk => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices,
    ...(usage ? { usage } : {}),
  });

  const idFor = toolCallIdFactory();
  let started = false;
  let toolCallCount = 0;
  let finishReason: string | undefined;
  let blocked = false;
  let usage: Usage | undefined;

  for await (const payload of responses) {
    const response = parseGoogleResponse(payload, meta.provider);
    if (response.error) {
      throw classifyGoogleError(
        {
          status: response.error.code,
          googleStatus: response.error.status,
          message: `${response.error.message ?? "error inside the stream"} (in stream)`,
          details: response.error.details,
        },
        errors,
      );
    }
    if (!started) {
      started = true;
      id = response.responseId ?? `chatcmpl-${randomUUID()}`;
      model = response.modelVersion ?? model;
      yield chunk([{ index: 0, delta: { role: "assistant" }, finish_reason: null }]);
    }
    if (response.usageMetadata) usage = toUsage(response.usageMetadata);
    const candidate = response.candidates?.[0];
    if (candidate === undefined && response.promptFeedback?.blockReason !== undefined) blocked = true;
    const parts = candidate?.content?.parts ?? [];

    const thoughts = thoughtsOf(parts);
    if (thoughts !== undefined && thoughts.length > 0) {
      yield chunk([{ index: 0, delta: { reasoning_content: thoughts }, finish_reason: null }]);
    }
    const text = textOf(parts);
    if (text !== undefined && text.length > 0) {
      // Each chunk's logprobsResult covers the tokens of that chunk's text.
      const logprobs = toChoiceLogprobs(candidate?.logprobsResult);
      yield chunk([{ index: 0, delta: { content: text }, finish_reason: null, ...(logprobs ? { logprobs } : {}) }]);
    }
    const toolCalls: ToolCallDelta[] = [];
    const details: ReasoningDetail[] = [];
    for (const part of parts) {
      let callId: string | undefined;
      if (part.functionCall !== undefined) {
        callId = idFor(part.functionCall, toolCallCount);
        toolCalls.push({
          index: toolCallCount,
          id: callId,
          type: "function",
          function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
        });
        toolCallCount++;
      }
      const detail = signatureDetail(part, callId);
      if (detail !== undefined) details.push(detail);
    }
    if (toolCalls.length > 0) yield chunk([{ index: 0, delta: { tool_calls: toolCalls }, finish_reason: null }]);
    if (details.length > 0) yield chunk([{ index: 0, delta: { reasoning_details: details }, finish_reason: null }]);
    if (candidate?.finishReason !== undefined) finishReason = candidate.finishReason;
  }

  if (finishReason === undefined && !blocked) {
    // Gemini always ends a complete stream with a finish reason: without one, the answer is cut short.
    throw new ProviderError("Gemini stream ended before a finish reason", {
      provider: meta.provider,
      retryable: true,
      type: "stream_incomplete",
    });
  }
  const reason: FinishReason = blocked ? "content_filter" : mapGoogleFinishReason(finishReason, toolCallCount > 0);
  yield chunk([{ index: 0, delta: {}, finish_reason: reason }]);
  if (usage) yield chunk([], usage);
}
