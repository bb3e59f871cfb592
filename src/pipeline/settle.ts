import type { ChatChunk } from "../contract/chat-chunk.js";
import type { ChatResponse } from "../contract/chat-response.js";
import { ChunkAccumulator } from "../contract/chunk-accumulator.js";
import type { CallContext } from "./context.js";

/** How a call ended, for middleware that act at the end (budgets, spend, cache, spans). */
export interface Settlement {
  /** The full answer: the response, or a stream's chunks assembled. Absent when nothing arrived. */
  response?: ChatResponse;
  /** Set when the call or its stream failed. */
  error?: unknown;
  /** A stream the consumer stopped early: `response` holds what was delivered. */
  abandoned: boolean;
}

/**
 * Runs `onSettled` once when the call is over: at once for a plain response; for a stream,
 * when it ends, fails or is abandoned by the consumer. Call it after `await next()` resolved;
 * errors thrown by `next()` are the caller's to handle.
 */
export function whenSettled(ctx: CallContext, onSettled: (settlement: Settlement) => void): void {
  const chunks = ctx.chunks;
  if (!chunks) {
    onSettled({ response: ctx.response, abandoned: false });
    return;
  }
  ctx.chunks = tapStream(chunks, onSettled);
}

/**
 * An explicit iterator rather than a generator: `return()` on a generator that never started
 * skips its `finally`, and an unconsumed stream must still settle (and release reservations).
 */
function tapStream(
  chunks: AsyncIterable<ChatChunk>,
  onSettled: (settlement: Settlement) => void,
): AsyncIterableIterator<ChatChunk> {
  const source = chunks[Symbol.asyncIterator]();
  const accumulator = new ChunkAccumulator();
  let settled = false;
  const settle = (settlement: Settlement): void => {
    if (settled) return;
    settled = true;
    onSettled(settlement);
  };
  const partial = (): ChatResponse | undefined => (accumulator.hasContent ? accumulator.toResponse() : undefined);
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (settled) return { done: true, value: undefined };
      try {
        const result = await source.next();
        if (result.done) settle({ response: accumulator.toResponse(), abandoned: false });
        else accumulator.add(result.value);
        return result;
      } catch (error) {
        settle({ response: partial(), error, abandoned: false });
        throw error;
      }
    },
    async return() {
      try {
        await source.return?.();
      } finally {
        settle({ response: partial(), abandoned: true });
      }
      return { done: true, value: undefined };
    },
  };
}
