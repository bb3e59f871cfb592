import type { ChatChunk } from "../core/chat-chunk.js";
import type { Usage } from "../core/chat-response.js";

/**
 * Passes a stream through and calls `onEnd` once with the usage it reported (the last `usage`
 * seen, if any) when it ends, fails or is abandoned: for settling a deployment's TPM reservation
 * at the attempt level, where the call-level settlement does not reach. An explicit iterator so
 * that `return()` before the first `next()` still ends it.
 */
export function watchStreamUsage(
  chunks: AsyncIterable<ChatChunk>,
  onEnd: (usage: Usage | undefined) => void,
): AsyncIterableIterator<ChatChunk> {
  const source = chunks[Symbol.asyncIterator]();
  let usage: Usage | undefined;
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    onEnd(usage);
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (ended) return { done: true, value: undefined };
      try {
        const result = await source.next();
        if (result.done) end();
        else if (result.value.usage) usage = result.value.usage;
        return result;
      } catch (error) {
        end();
        throw error;
      }
    },
    async return() {
      try {
        await source.return?.();
      } finally {
        end();
      }
      return { done: true, value: undefined };
    },
  };
}
