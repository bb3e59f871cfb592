import { z } from "zod";
import type { ReasoningDetail, ToolCall } from "../../core/chat-request.js";
import type { ChatResponse, Usage } from "../../core/chat-response.js";
import { ProviderError } from "../../core/errors.js";
import { mapAnthropicStopReason } from "./map-anthropic-stop-reason.js";

/*
 * Lenient schemas: only the fields we read, unknown fields and block types ignored, so an API
 * addition (a new block type, a new usage counter) never breaks a call.
 */

const count = z.number().nullish();

/** Usage as `message_start`, `message_delta` and a whole message report it. */
export const anthropicUsageSchema = z.object({
  input_tokens: count,
  output_tokens: count,
  cache_read_input_tokens: count,
  cache_creation_input_tokens: count,
  /** The cache writes split by TTL; their sum is `cache_creation_input_tokens`. */
  cache_creation: z.object({ ephemeral_5m_input_tokens: count, ephemeral_1h_input_tokens: count }).nullish(),
  output_tokens_details: z.object({ thinking_tokens: count }).nullish(),
});
export type AnthropicUsage = z.infer<typeof anthropicUsageSchema>;

const blockSchema = z.object({
  type: z.string(),
  text: z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  input: z.unknown().optional(),
  thinking: z.string().optional(),
  signature: z.string().optional(),
  data: z.string().optional(),
});

/** What `reasoning_details` entries this adapter writes say they are (and reads back). */
export const REASONING_FORMAT = "anthropic-claude-v1";

/**
 * A `thinking` block as `reasoning.text` (with its signature), a `redacted_thinking` block as
 * `reasoning.encrypted`; `index` is the block's position, so stream pieces join the same way.
 */
export function reasoningDetailOf(block: { type: string; thinking?: string; signature?: string; data?: string }, index: number): ReasoningDetail | undefined {
  if (block.type === "thinking") {
    return {
      type: "reasoning.text",
      text: block.thinking ?? "",
      ...(block.signature !== undefined && block.signature !== "" ? { signature: block.signature } : {}),
      format: REASONING_FORMAT,
      index,
    };
  }
  if (block.type === "redacted_thinking") return { type: "reasoning.encrypted", data: block.data ?? "", format: REASONING_FORMAT, index };
  return undefined;
}

const messageSchema = z.object({
  id: z.string(),
  model: z.string().optional(),
  content: z.array(blockSchema),
  stop_reason: z.string().nullish(),
  usage: anthropicUsageSchema.nullish(),
});

/**
 * Anthropic counts input in three disjoint parts; OpenAI's `prompt_tokens` is their sum, with
 * the cached and cache-written parts broken out so cost can price each (1-hour writes, dearer than
 * 5-minute ones, as `cache_write_1h_tokens` when Anthropic reports the split).
 */
export function toUsage(usage: AnthropicUsage | null | undefined): Usage {
  const input = usage?.input_tokens ?? 0;
  const cacheRead = usage?.cache_read_input_tokens ?? 0;
  const cacheCreation = usage?.cache_creation_input_tokens ?? 0;
  const output = usage?.output_tokens ?? 0;
  const prompt = input + cacheRead + cacheCreation;
  const promptDetails: NonNullable<Usage["prompt_tokens_details"]> = { cached_tokens: cacheRead, cache_creation_tokens: cacheCreation };
  const written1h = usage?.cache_creation?.ephemeral_1h_input_tokens;
  if (typeof written1h === "number" && written1h > 0) promptDetails.cache_write_1h_tokens = written1h;
  const result: Usage = {
    prompt_tokens: prompt,
    completion_tokens: output,
    total_tokens: prompt + output,
    prompt_tokens_details: promptDetails,
  };
  const thinking = usage?.output_tokens_details?.thinking_tokens;
  if (typeof thinking === "number") result.completion_tokens_details = { reasoning_tokens: thinking };
  return result;
}

export interface ResponseContext {
  /** The adapter's name, for errors. */
  provider: string;
  /** The provider-side model, used when the payload names none. */
  model: string;
  /** The forced tool that emulates `response_format`, if any. */
  jsonToolName: string | undefined;
  /** Seconds since the epoch, for `created`. */
  created: number;
}

/**
 * An Anthropic `Message` as an OpenAI `chat.completion`. Text blocks join into `content`
 * (`null` when the answer is only tool calls); `tool_use` blocks become `tool_calls`. In JSON
 * mode the forced tool's input is the `content` and other blocks are dropped, so the content
 * always parses.
 */
export function fromAnthropicResponse(payload: unknown, context: ResponseContext): ChatResponse {
  const parsed = messageSchema.safeParse(payload);
  if (!parsed.success) {
    throw new ProviderError(`${context.provider} returned a message this adapter cannot read`, {
      provider: context.provider,
      retryable: true,
      type: "invalid_response",
    });
  }
  const message = parsed.data;
  const jsonMode = context.jsonToolName !== undefined;
  let content: string | null = null;
  const toolCalls: ToolCall[] = [];
  const details: ReasoningDetail[] = [];
  let reasoning: string | undefined;

  for (const [index, block] of message.content.entries()) {
    const detail = reasoningDetailOf(block, index);
    if (detail !== undefined) {
      details.push(detail);
      if (detail.type === "reasoning.text") reasoning = (reasoning ?? "") + detail.text;
    } else if (block.type === "text" && !jsonMode) {
      content = (content ?? "") + (block.text ?? "");
    } else if (block.type === "tool_use") {
      const argumentsJson = JSON.stringify(block.input ?? {});
      if (jsonMode) {
        if (block.name === context.jsonToolName) content = argumentsJson;
      } else {
        toolCalls.push({ id: block.id ?? "", type: "function", function: { name: block.name ?? "", arguments: argumentsJson } });
      }
    }
  }

  return {
    id: message.id,
    object: "chat.completion",
    created: context.created,
    model: message.model ?? context.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          // An empty answer is "" (as OpenAI and the stream accumulator say); null only beside tool calls.
          content: content ?? (toolCalls.length === 0 ? "" : null),
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}),
          ...(details.length > 0 ? { reasoning_details: details } : {}),
        },
        finish_reason: mapAnthropicStopReason(message.stop_reason, { jsonMode }),
        logprobs: null,
      },
    ],
    usage: toUsage(message.usage),
  };
}
