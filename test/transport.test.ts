import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { anthropic } from "../src/anthropic.js";
import type { ChatChunk } from "../src/core/chat-chunk.js";
import type { ChatRequest } from "../src/core/chat-request.js";
import { ProviderError } from "../src/core/errors.js";
import type { AdapterContext, ProviderAdapter } from "../src/core/provider-adapter.js";
import { openai } from "../src/openai.js";
import { fetchIsRouted } from "../src/providers/shared/fetch-transport.js";
import { startFakeAnthropic, type FakeAnthropic } from "./fakes/anthropic-server.js";
import { freePort } from "./fakes/free-port.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";

// undici's fetch marks every request with `sec-fetch-mode: cors`; node:http never sends it,
// so the fake servers' logs tell which transport carried a call.
const UNDICI_MARK = "sec-fetch-mode";
const GLOBAL_DISPATCHER = Symbol.for("undici.globalDispatcher.1");
const hello: ChatRequest = { model: "m", messages: [{ role: "user", content: "Hello there" }] };

let fakeOpenAI: FakeOpenAI;
let fakeAnthropic: FakeAnthropic;

beforeAll(async () => {
  [fakeOpenAI, fakeAnthropic] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
});
afterAll(async () => {
  await Promise.all([fakeOpenAI.close(), fakeAnthropic.close()]);
});
beforeEach(() => {
  fakeOpenAI.reset();
  fakeOpenAI.setDefault({});
});

function context(overrides: Partial<AdapterContext> = {}): AdapterContext {
  return { model: "gpt-4o-mini", signal: new AbortController().signal, timeoutMs: 10_000, ...overrides };
}

async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

const openAIAdapter = (options: Parameters<typeof openai>[0] = {}): ProviderAdapter => openai({ apiKey: "sk-test", baseURL: fakeOpenAI.url, ...options });
const lastOpenAIHeaders = (): Record<string, string> => fakeOpenAI.lastRequest!.headers;

describe("openai() over the node transport", () => {
  it("sends JSON and streamed calls through node:http by default, and through fetch when asked", async () => {
    const adapter = openAIAdapter();
    expect((await adapter.chat(hello, context())).choices[0]!.message.content).toBe("Echo: Hello there");
    expect(lastOpenAIHeaders()[UNDICI_MARK]).toBeUndefined();
    const text = (await collect(adapter.stream(hello, context()))).map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe("Echo: Hello there");
    expect(lastOpenAIHeaders()[UNDICI_MARK]).toBeUndefined();
    expect(fakeOpenAI.lastRequest!.body.stream).toBe(true);

    await openAIAdapter({ transport: "fetch" }).chat(hello, context());
    expect(lastOpenAIHeaders()[UNDICI_MARK]).toBe("cors");
  });

  it("uses a caller's fetch over either transport", async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => (calls++, globalThis.fetch(input, init));
    await openAIAdapter({ fetch: counting, transport: "node" }).chat(hello, context());
    expect(calls).toBe(1);
  });

  it("stops the upstream response when aborted mid-stream", async () => {
    fakeOpenAI.enqueue({ reply: "one two three four five", chunkDelayMs: 300 });
    const controller = new AbortController();
    const chunks: ChatChunk[] = [];
    const error = await failure(
      (async () => {
        for await (const chunk of openAIAdapter().stream(hello, context({ signal: controller.signal }))) {
          chunks.push(chunk);
          controller.abort();
        }
      })(),
    );
    expect(error.type).toBe("aborted");
    expect(chunks.length).toBeGreaterThan(0);
    expect((await fakeOpenAI.waitForClientAbort(5_000)).closedEarly).toBe(true);
  });

  it("times out as a retryable error", async () => {
    fakeOpenAI.enqueue({ hang: true });
    const error = await failure(openAIAdapter().chat(hello, context({ timeoutMs: 100 })));
    expect([error.type, error.retryable]).toEqual(["timeout", true]);
  });

  it("maps a refused connection to a retryable connection error", async () => {
    const port = await freePort();
    const error = await failure(openai({ apiKey: "sk-test", baseURL: `http://127.0.0.1:${port}/v1` }).chat(hello, context()));
    expect([error.type, error.retryable]).toEqual(["connection_error", true]);
  });

  it("maps a 429 with Retry-After as before", async () => {
    fakeOpenAI.enqueue({ fail: { status: 429, message: "slow down", headers: { "retry-after": "2" } } });
    const error = await failure(openAIAdapter().chat(hello, context()));
    expect([error.status, error.retryable, error.retryAfterMs]).toEqual([429, true, 2_000]);
    expect(lastOpenAIHeaders()[UNDICI_MARK]).toBeUndefined();
  });

  it("reads a gzip'd answer when the caller asks for compression", async () => {
    const completion = { id: "c1", object: "chat.completion", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, message: { role: "assistant", content: "zipped" }, finish_reason: "stop", logprobs: null }] };
    let acceptEncoding: string | undefined;
    const server: Server = createServer((request, response) => {
      acceptEncoding = request.headers["accept-encoding"];
      request.resume().on("end", () => response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" }).end(gzipSync(JSON.stringify(completion))));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      const response = await openai({ apiKey: "sk-test", baseURL, headers: { "accept-encoding": "gzip" } }).chat(hello, context());
      expect(response.choices[0]!.message.content).toBe("zipped");
      expect(acceptEncoding).toBe("gzip");
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("anthropic() over the node transport", () => {
  it("sends JSON and streamed calls through node:http by default, and through fetch when asked", async () => {
    const adapter = anthropic({ apiKey: "sk-ant-test", baseURL: fakeAnthropic.url });
    const ctx = context({ model: "claude-haiku-4-5" });
    expect((await adapter.chat(hello, ctx)).choices[0]!.message.content).toBe("Hello from fake Anthropic");
    expect(fakeAnthropic.requests.at(-1)!.headers[UNDICI_MARK]).toBeUndefined();
    expect((await collect(adapter.stream(hello, ctx))).length).toBeGreaterThan(1);
    expect(fakeAnthropic.requests.at(-1)!.headers[UNDICI_MARK]).toBeUndefined();
    await anthropic({ apiKey: "sk-ant-test", baseURL: fakeAnthropic.url, transport: "fetch" }).chat(hello, ctx);
    expect(fakeAnthropic.requests.at(-1)!.headers[UNDICI_MARK]).toBe("cors");
  });
});

describe("a global undici dispatcher", () => {
  it("keeps the SDK's fetch when the user set one, not for Node's own default", async () => {
    // Node installs its default dispatcher on the first fetch: that one does not count.
    await (await fetch(`${fakeOpenAI.url}/models`)).text();
    const nodeDefault = (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER] as object;
    expect(nodeDefault).toBeDefined();
    expect(fetchIsRouted()).toBe(false);

    // A user's dispatcher with options of its own (as a proxy or custom TLS setup has).
    const Agent = nodeDefault.constructor as new (options: object) => object;
    (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER] = new Agent({ connect: { timeout: 10_000 } });
    try {
      expect(fetchIsRouted()).toBe(true);
      await openAIAdapter().chat(hello, context());
      expect(lastOpenAIHeaders()[UNDICI_MARK]).toBe("cors");
      // Forcing the node transport still wins.
      await openAIAdapter({ transport: "node" }).chat(hello, context());
      expect(lastOpenAIHeaders()[UNDICI_MARK]).toBeUndefined();
    } finally {
      (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER] = nodeDefault;
    }
  });
});
