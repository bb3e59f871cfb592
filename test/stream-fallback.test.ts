import { afterEach, describe, expect, it } from "vitest";
import { createGateway, TimeoutError, type ChatChunk, type Gateway } from "../src/index.js";
import { openai } from "../src/openai.js";
import { serve } from "../src/server.js";
import { startFakeOpenAI } from "./fakes/openai-server.js";

/**
 * A stream whose first deployment sends its role-only opening chunk and then fails falls back
 * silently, and the caller sees one stream: the serving attempt's chunks only, each with the
 * same id, `created` and model, one role, whether it reads in process or over HTTP.
 */
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const messages = [{ role: "user" as const, content: "hi" }];

/** One fake, two deployments on it: the first request (gpt-4o) fails after its role chunk. */
async function failingThenFine(): Promise<{ gateway: Gateway; requests: () => number }> {
  const fake = await startFakeOpenAI();
  closers.push(() => fake.close());
  fake.enqueue({ streamError: { afterChunks: 1, message: "overloaded", type: "server_error" } }, { reply: "from the backup" });
  const gateway = createGateway({
    providers: { openai: openai({ baseURL: fake.url, apiKey: "test" }) },
    models: { m: { deployments: ["openai/gpt-4o", "openai/gpt-4o-mini"] } },
    retry: { retries: 0, minDelayMs: 1, maxDelayMs: 10 },
  });
  closers.push(() => gateway.close());
  return { gateway, requests: () => fake.requestCount };
}

function summary(chunks: readonly ChatChunk[]): { ids: string[]; created: number[]; models: string[]; roles: number; text: string } {
  return {
    ids: [...new Set(chunks.map((chunk) => chunk.id))],
    created: [...new Set(chunks.map((chunk) => chunk.created))],
    models: [...new Set(chunks.map((chunk) => chunk.model))],
    roles: chunks.filter((chunk) => chunk.choices.some((choice) => choice.delta.role !== undefined)).length,
    text: chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join(""),
  };
}

describe("a stream that fails after its role-only opening chunk", () => {
  it("falls back in process: the caller sees only the backup's chunks, one id, one role", async () => {
    const { gateway, requests } = await failingThenFine();
    const stream = await gateway.chat({ model: "m", messages, stream: true });
    // Resolved after the fallback: the deployment is already the one that serves.
    expect(stream.gateway.deployment).toBe("openai/gpt-4o-mini");
    const chunks: ChatChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const seen = summary(chunks);
    expect(seen.text).toBe("from the backup");
    expect(seen.roles).toBe(1);
    expect(seen.ids).toEqual(["chatcmpl-fake-2"]); // the second request's; the first's never reached the caller
    expect(seen.created).toHaveLength(1);
    expect(seen.models).toEqual(["gpt-4o-mini"]);
    const final = await stream.finalResponse();
    expect(final.id).toBe("chatcmpl-fake-2");
    expect(final.gateway.attempts.map((attempt) => [attempt.deployment, attempt.errorCode ?? "ok"])).toEqual([
      ["openai/gpt-4o", "provider_error"],
      ["openai/gpt-4o-mini", "ok"],
    ]);
    expect(requests()).toBe(2);
  });

  it("falls back behind the server: one 200 SSE stream of the backup's chunks, its deployment in the headers", async () => {
    const { gateway } = await failingThenFine();
    const server = await serve(gateway, { port: 0 });
    closers.unshift(() => server.close());
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages, stream: true, stream_options: { include_usage: true } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-modelgate-deployment")).toBe("openai/gpt-4o-mini");
    const events = (await response.text()).split("\n\n").filter((event) => event.startsWith("data: "));
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.slice("data: ".length)) as ChatChunk);
    const seen = summary(chunks);
    expect(seen.text).toBe("from the backup");
    expect(seen.roles).toBe(1);
    expect(seen.ids).toEqual(["chatcmpl-fake-2"]);
    expect(seen.created).toHaveLength(1);
    expect(seen.models).toEqual(["gpt-4o-mini"]);
  });
});

describe("a stream whose adapter ignores its abort signal", () => {
  /** A provider that sends one content chunk and then never another, deaf to its signal. */
  function deafStaller(reads: { pending: number }) {
    return {
      name: "deaf",
      chat: (): Promise<never> => Promise.reject(new Error("stream only")),
      stream: (): AsyncIterable<ChatChunk> => ({
        [Symbol.asyncIterator]: () => {
          let sent = false;
          return {
            next: (): Promise<IteratorResult<ChatChunk>> => {
              if (!sent) {
                sent = true;
                const chunk: ChatChunk = {
                  id: "deaf-1",
                  object: "chat.completion.chunk",
                  created: 1,
                  model: "x",
                  choices: [{ index: 0, delta: { role: "assistant", content: "hello" }, finish_reason: null }],
                };
                return Promise.resolve({ done: false, value: chunk });
              }
              reads.pending++;
              return new Promise(() => {}); // never settles, whatever the signal says
            },
          };
        },
      }),
    };
  }

  it("still fails a read that waits past the idle timeout", async () => {
    const reads = { pending: 0 };
    const gateway = createGateway({ providers: { deaf: deafStaller(reads) as never }, streamIdleTimeoutMs: 50 });
    closers.push(() => gateway.close());
    const stream = await gateway.chat({ model: "deaf/x", messages, stream: true });
    const started = performance.now();
    const chunks: ChatChunk[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) chunks.push(chunk);
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TimeoutError);
    expect(chunks).toHaveLength(1);
    expect(reads.pending).toBe(1);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("fails a pending read when the gateway closes", async () => {
    const reads = { pending: 0 };
    const gateway = createGateway({ providers: { deaf: deafStaller(reads) as never } });
    const stream = await gateway.chat({ model: "deaf/x", messages, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    const pending = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(reads.pending).toBe(1);
    await gateway.close();
    await expect(pending).rejects.toMatchObject({ code: "gateway_closed" });
  });
});
