import { z } from "zod";
import type { ChatChunk, ChunkDelta } from "../../core/chat-chunk.js";
import type { FinishReason } from "../../core/chat-response.js";
import { ProviderError } from "../../core/errors.js";
import {
  REASONING_FORMAT,
  anthropicUsageSchema,
  reasoningDetailOf,
  toUsage,
  type AnthropicUsage,
  type ResponseContext,
} from "./from-anthropic-response.js";
import { mapAnthropicStopReason } from "./map-anthropic-stop-reason.js";

/** Every Messages stream event, leniently: only what we read; unknown events and deltas pass by. */
const eventSchema = z.object({
  type: z.string(),
  index: z.number().optional(),
  message: z.object({ id: z.string().optional(), model: z.string().optional(), usage: anthropicUsageSchema.nullish() }).optional(),
  content_block: z
    .object({
      type: z.string(),
      id: z.string().optional(),
      name: z.string().optional(),
      text: z.string().optional(),
      thinking: z.string().optional(),
      signature: z.string().optional(),
      data: z.string().optional(),
    })
    .optional(),
  delta: z
    .object({
      type: z.string().optional(),
      text: z.string().optional(),
      partial_json: z.string().optional(),
      thinking: z.string().optional(),
      signature: z.string().optional(),
      stop_reason: z.string().nullish(),
    })
    .optional(),
  usage: anthropicUsageSchema.nullish(),
});

/**
 * `message_delta` usage is cumulative (and on newer API versions repeats the input counts), so
 * each counter it reports replaces the one from `message_start`; nothing is ever added.
 */
function latestUsage(current: AnthropicUsage, update: AnthropicUsage | null | undefined): AnthropicUsage {
  if (!update) return current;
  const merged: AnthropicUsage = { ...current };
  for (const key of ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"] as const) {
    const value = update[key];
    if (typeof value === "number") merged[key] = value;
  }
  if (update.cache_creation) merged.cache_creation = update.cache_creation;
  if (update.output_tokens_details) merged.output_tokens_details = update.output_tokens_details;
  return merged;
}

/**
 * Anthropic Messages stream events as OpenAI chunks: a first chunk with the role; text deltas
 * as `content`; each `tool_use` block as a tool call (index = its ordinal among tool blocks)
 * whose `input_json_delta`s are argument deltas; a chunk with `finish_reason` on
 * `message_delta`; and on `message_stop` a last chunk with `usage` and `choices: []`.
 * In JSON mode the forced tool's input deltas are `content` deltas and text blocks are dropped.
 * A stream that ends before `message_stop` was cut: that is a retryable `ProviderError`.
 */
export async function* toChatChunks(events: AsyncIterable<unknown>, context: ResponseContext): AsyncGenerator<ChatChunk> {
  const jsonMode = context.jsonToolName !== undefined;
  let id = "";
  let model = context.model;
  let usage: AnthropicUsage = {};
  let stopped = false;
  /** Content block index -> tool call ordinal, for the blocks that are tool calls. */
  const toolOrdinals = new Map<number, number>();
  /** Tool blocks (and the JSON block) that have sent some input, so an empty input still reads `{}`. */
  const blocksWithInput = new Set<number>();
  let jsonBlock: number | undefined;

  const chunk = (delta: ChunkDelta, finishReason: FinishReason | null = null): ChatChunk => ({
    id,
    object: "chat.completion.chunk",
    created: context.created,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  });
  const inputDelta = (index: number, json: string): ChatChunk | undefined => {
    if (index === jsonBlock) return chunk({ content: json });
    const ordinal = toolOrdinals.get(index);
    return ordinal === undefined ? undefined : chunk({ tool_calls: [{ index: ordinal, function: { arguments: json } }] });
  };

  for await (const raw of events) {
    const parsed = eventSchema.safeParse(raw);
    if (!parsed.success) continue;
    const event = parsed.data;
    const index = event.index ?? -1;
    switch (event.type) {
      case "message_start":
        id = event.message?.id ?? id;
        model = event.message?.model ?? model;
        usage = latestUsage(usage, event.message?.usage);
        yield chunk({ role: "assistant" });
        break;
      case "content_block_start": {
        const block = event.content_block;
        const detail = block === undefined ? undefined : reasoningDetailOf(block, index);
        if (detail !== undefined) {
          // Thinking as `reasoning_content` text; the block (pieces joined by index) as `reasoning_details`.
          yield chunk({
            ...(detail.type === "reasoning.text" && detail.text !== "" ? { reasoning_content: detail.text } : {}),
            reasoning_details: [detail],
          });
        } else if (block?.type === "text" && !jsonMode) {
          if (block.text) yield chunk({ content: block.text });
        } else if (block?.type === "tool_use") {
          if (jsonMode) {
            if (block.name === context.jsonToolName) jsonBlock = index;
          } else {
            const ordinal = toolOrdinals.size;
            toolOrdinals.set(index, ordinal);
            yield chunk({
              tool_calls: [{ index: ordinal, id: block.id ?? "", type: "function", function: { name: block.name ?? "", arguments: "" } }],
            });
          }
        }
        break;
      }
      case "content_block_delta": {
        const delta = event.delta;
        if (delta?.type === "thinking_delta" && delta.thinking) {
          yield chunk({
            reasoning_content: delta.thinking,
            reasoning_details: [{ type: "reasoning.text", text: delta.thinking, format: REASONING_FORMAT, index }],
          });
        } else if (delta?.type === "signature_delta" && delta.signature) {
          yield chunk({ reasoning_details: [{ type: "reasoning.text", text: "", signature: delta.signature, format: REASONING_FORMAT, index }] });
        } else if (delta?.type === "text_delta" && !jsonMode && delta.text) {
          yield chunk({ content: delta.text });
        } else if (delta?.type === "input_json_delta" && delta.partial_json) {
          const next = inputDelta(index, delta.partial_json);
          if (next) {
            blocksWithInput.add(index);
            yield next;
          }
        }
        break;
      }
      case "content_block_stop": {
        // A tool called without arguments streams no JSON; the unstreamed answer says "{}".
        if ((toolOrdinals.has(index) || index === jsonBlock) && !blocksWithInput.has(index)) {
          const next = inputDelta(index, "{}");
          if (next) yield next;
        }
        break;
      }
      case "message_delta": {
        usage = latestUsage(usage, event.usage);
        const finishReason = mapAnthropicStopReason(event.delta?.stop_reason, { jsonMode });
        if (finishReason) yield chunk({}, finishReason);
        break;
      }
      case "message_stop":
        stopped = true;
        yield { id, object: "chat.completion.chunk", created: context.created, model, choices: [], usage: toUsage(usage) };
        break;
      default:
        break; // ping and event types newer than this adapter
    }
  }
  if (!stopped) {
    throw new ProviderError(`Stream from ${context.provider} ended before message_stop`, {
      provider: context.provider,
      retryable: true,
      type: "stream_truncated",
    });
  }
}
