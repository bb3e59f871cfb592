import type { Attributes } from "@opentelemetry/api";
import { requestedMaxTokens, type ChatRequest } from "../core/chat-request.js";
import type { ChatResponse, Usage } from "../core/chat-response.js";
import { GatewayError, ProviderError } from "../core/errors.js";
import {
  GEN_AI_OUTPUT_TYPE,
  GEN_AI_REQUEST_FREQUENCY_PENALTY,
  GEN_AI_REQUEST_MAX_TOKENS,
  GEN_AI_REQUEST_PRESENCE_PENALTY,
  GEN_AI_REQUEST_SEED,
  GEN_AI_REQUEST_STOP_SEQUENCES,
  GEN_AI_REQUEST_STREAM,
  GEN_AI_REQUEST_TEMPERATURE,
  GEN_AI_REQUEST_TOP_P,
  GEN_AI_RESPONSE_FINISH_REASONS,
  GEN_AI_RESPONSE_ID,
  GEN_AI_RESPONSE_MODEL,
  GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
} from "./semconv.js";

/** What the caller asked of the model: the same for every attempt, so built once per call. */
export function requestAttributes(request: ChatRequest): Attributes {
  const attributes: Attributes = { [GEN_AI_REQUEST_STREAM]: request.stream === true };
  if (request.temperature !== undefined) attributes[GEN_AI_REQUEST_TEMPERATURE] = request.temperature;
  if (request.top_p !== undefined) attributes[GEN_AI_REQUEST_TOP_P] = request.top_p;
  const maxTokens = requestedMaxTokens(request);
  if (maxTokens !== undefined) attributes[GEN_AI_REQUEST_MAX_TOKENS] = maxTokens;
  if (request.seed !== undefined) attributes[GEN_AI_REQUEST_SEED] = request.seed;
  if (request.stop !== undefined) attributes[GEN_AI_REQUEST_STOP_SEQUENCES] = typeof request.stop === "string" ? [request.stop] : request.stop;
  if (request.frequency_penalty !== undefined) attributes[GEN_AI_REQUEST_FREQUENCY_PENALTY] = request.frequency_penalty;
  if (request.presence_penalty !== undefined) attributes[GEN_AI_REQUEST_PRESENCE_PENALTY] = request.presence_penalty;
  if (request.response_format) attributes[GEN_AI_OUTPUT_TYPE] = request.response_format.type === "text" ? "text" : "json";
  return attributes;
}

/** What the model answered with, content aside. */
export function responseAttributes(response: ChatResponse): Attributes {
  const finishReasons: string[] = [];
  for (const choice of response.choices) if (choice.finish_reason) finishReasons.push(choice.finish_reason);
  const attributes: Attributes = { [GEN_AI_RESPONSE_MODEL]: response.model, [GEN_AI_RESPONSE_ID]: response.id };
  if (finishReasons.length > 0) attributes[GEN_AI_RESPONSE_FINISH_REASONS] = finishReasons;
  return attributes;
}

/**
 * Token counts, only those the provider reported. `prompt_tokens` already includes cached and
 * cache-written tokens and `completion_tokens` includes reasoning ones (src/contract), which is
 * what the spec asks of `gen_ai.usage.input_tokens` / `output_tokens`.
 */
export function usageAttributes(usage: Usage): Attributes {
  const attributes: Attributes = {
    [GEN_AI_USAGE_INPUT_TOKENS]: usage.prompt_tokens,
    [GEN_AI_USAGE_OUTPUT_TOKENS]: usage.completion_tokens,
  };
  const cached = usage.prompt_tokens_details?.cached_tokens;
  if (cached !== undefined) attributes[GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = cached;
  const cacheWritten = usage.prompt_tokens_details?.cache_creation_tokens;
  if (cacheWritten !== undefined) attributes[GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = cacheWritten;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens;
  if (reasoning !== undefined) attributes[GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = reasoning;
  return attributes;
}

/**
 * `error.type`, low-cardinality as the spec asks: the provider's own error type when it gave
 * one (`overloaded_error`, `insufficient_quota`), else the HTTP status, else modelgate's stable
 * code (`timeout`, `rate_limited`, `all_failed`, ...), else the error's class name.
 */
export function errorType(error: unknown): string {
  if (error instanceof ProviderError) {
    if (error.type) return error.type;
    if (error.status !== undefined) return String(error.status);
    return error.code;
  }
  if (error instanceof GatewayError) return error.code;
  if (error instanceof Error && error.name) return error.name;
  return "_OTHER";
}
