import type { ChatChunk, ChunkChoice } from "./chat-chunk.js";
import type { ChatResponse } from "./chat-response.js";

/**
 * The chunks a provider would have streamed for a stored answer, in OpenAI's order: a role
 * chunk, the content, the tool calls, the finish reason, then usage with no choices. Assembled
 * again they give back the same response, so streamed and plain callers share entries.
 */
export function responseToChunks(response: ChatResponse): ChatChunk[] {
  const base = { id: response.id, object: "chat.completion.chunk" as const, created: response.created, model: response.model };
  const fingerprint = response.system_fingerprint !== undefined ? { system_fingerprint: response.system_fingerprint } : {};
  // A search-backed vendor's sources ride on every chunk, as Perplexity streams them.
  const sources = {
    ...(response.citations ? { citations: response.citations } : {}),
    ...(response.search_results ? { search_results: response.search_results } : {}),
  };
  const chunk = (choices: ChunkChoice[]): ChatChunk => ({ ...base, choices, ...fingerprint, ...sources });
  const chunks: ChatChunk[] = [];
  for (const choice of response.choices) {
    const message = choice.message;
    const index = choice.index;
    const hasContent = typeof message.content === "string";
    // A role chunk without content keeps `content: null` (tool-only answers) null on reassembly.
    chunks.push(chunk([{ index, delta: hasContent ? { role: "assistant", content: "" } : { role: "assistant" }, finish_reason: null }]));
    if (hasContent && message.content) chunks.push(chunk([{ index, delta: { content: message.content }, finish_reason: null }]));
    if (typeof message.refusal === "string") chunks.push(chunk([{ index, delta: { refusal: message.refusal }, finish_reason: null }]));
    (message.tool_calls ?? []).forEach((call, callIndex) => {
      chunks.push(
        chunk([
          {
            index,
            delta: {
              tool_calls: [
                call.type === "custom"
                  ? { index: callIndex, id: call.id, type: "custom", custom: { name: call.custom.name, input: call.custom.input } }
                  : { index: callIndex, id: call.id, type: "function", function: { name: call.function.name, arguments: call.function.arguments } },
              ],
            },
            finish_reason: null,
          },
        ]),
      );
    });
    chunks.push(chunk([{ index, delta: {}, finish_reason: choice.finish_reason }]));
  }
  if (response.usage) chunks.push({ ...chunk([]), usage: response.usage });
  return chunks;
}

/**
 * Replays chunks as a stream. An explicit iterator: nothing to release when the consumer
 * stops early, and no generator machinery per chunk.
 */
export function replayChunks(chunks: readonly ChatChunk[]): AsyncIterableIterator<ChatChunk> {
  let position = 0;
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (position >= chunks.length) return { done: true, value: undefined };
      return { done: false, value: chunks[position++]! };
    },
    async return() {
      position = chunks.length;
      return { done: true, value: undefined };
    },
  };
}
