import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatChunk } from "../src/core/chat-chunk.js";
import type { ChatRequest } from "../src/core/chat-request.js";
import { openai } from "../src/openai.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";

/**
 * How the OpenAI chunk stream ends its request: a stream read to its end has nothing left to
 * cut and is not aborted (an abort builds two DOMExceptions per stream for nothing); one the
 * consumer leaves early is aborted at once.
 */
const hello: ChatRequest = { model: "smart", messages: [{ role: "user", content: "Hello there" }] };
let fake: FakeOpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});

/** The adapter over a `fetch` that keeps the signal of each request it sends. */
function recordingAdapter(signals: AbortSignal[]) {
  const recording: typeof fetch = (input, init) => {
    if (init?.signal) signals.push(init.signal);
    return fetch(input, init);
  };
  return openai({ apiKey: "sk-test", baseURL: fake.url, fetch: recording });
}

const context = () => ({ model: "gpt-4o-mini", signal: new AbortController().signal, timeoutMs: 10_000 });

describe("openai stream: how the request ends", () => {
  it("does not abort a request whose stream was read to its end", async () => {
    const signals: AbortSignal[] = [];
    const chunks: ChatChunk[] = [];
    for await (const chunk of recordingAdapter(signals).stream(hello, context())) chunks.push(chunk);
    expect(chunks.at(-1)?.usage).toBeDefined();
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(false);
  });

  it("aborts the request of a stream left before its end", async () => {
    fake.enqueue({ reply: "one two three four", chunkDelayMs: 20 });
    const signals: AbortSignal[] = [];
    for await (const _chunk of recordingAdapter(signals).stream(hello, context())) break;
    expect(signals[0]!.aborted).toBe(true);
    expect((await fake.waitForClientAbort(2_000)).closedEarly).toBe(true);
  });
});
