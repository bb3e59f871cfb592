import { describe, expect, it } from "vitest";
import type { ChatChunk } from "../src/core/chat-chunk.js";
import { TimeoutError } from "../src/core/errors.js";
import { AttemptAbort } from "../src/routing/attempt-abort.js";
import { relayStream } from "../src/routing/stream-relay.js";

const chunk = (content: string): ChatChunk => ({
  id: "c1",
  object: "chat.completion.chunk",
  created: 0,
  model: "m",
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
});

describe("relayStream settles once its attempt is aborted", () => {
  it("even when the abort lands in the same tick as the chunk being read, and nobody reads again", async () => {
    const abort = new AttemptAbort();
    let deliver!: (result: IteratorResult<ChatChunk>) => void;
    const upstream: AsyncIterator<ChatChunk> = {
      next: () => new Promise((resolve) => (deliver = resolve)),
      return: async () => ({ done: true, value: undefined }),
    };
    const ends: unknown[] = [];
    const relay = relayStream([], upstream, {
      provider: "p",
      deployment: "d",
      signal: abort.signal,
      aborted: abort.aborted,
      idleTimeoutMs: 10_000,
      abort: (reason) => abort.abort(reason),
      onEnd: (error) => ends.push(error ?? "ended"),
      onAbandoned: (reason) => ends.push(reason),
    });
    const read = relay.next();
    // The abort (caller, close(), hedge) is queued just before the provider's chunk arrives:
    // its handler runs after the chunk settled the read but before the read returned.
    const reason = new TimeoutError(1);
    queueMicrotask(() => abort.abort(reason));
    deliver({ done: false, value: chunk("late") });
    await read.catch(() => {});
    // The consumer reads no more: the relay must still have ended, or the call's
    // reservation and in-flight count wait for a read that never comes.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ends).toHaveLength(1);
    expect(ends[0]).toBe(reason);
  });
});
