import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { ChatChunk } from "../src/core/chat-chunk.js";
import { toolCallInput, toolCallName, type ChatRequest } from "../src/core/chat-request.js";
import { ChunkAccumulator } from "../src/core/chunk-accumulator.js";
import { ProviderError } from "../src/core/errors.js";
import { openai, type OpenAIAdapterOptions } from "../src/openai.js";
import { embeddedVectors, type AdapterContext } from "../src/core/provider-adapter.js";
import { parseRetryAfter } from "../src/providers/shared/retry-after.js";
import { toOpenAIRequest } from "../src/providers/openai/to-openai-request.js";
import { hashedWordsVector, startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";

const API_KEY = "sk-test-SECRETSECRET-0123456789abcdef";
const hello: ChatRequest = { model: "smart", messages: [{ role: "user", content: "Hello there" }] };

let fake: FakeOpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  fake.setDefault({});
});
afterEach(() => {
  vi.unstubAllEnvs();
});

function adapter(options: OpenAIAdapterOptions = {}) {
  return openai({ apiKey: API_KEY, baseURL: fake.url, ...options });
}

function context(overrides: Partial<AdapterContext> = {}): AdapterContext {
  return { model: "gpt-4o-mini", signal: new AbortController().signal, timeoutMs: 10_000, ...overrides };
}

async function collect(stream: AsyncIterable<ChatChunk>, limit = 1_000): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    if (chunks.length >= limit) throw new Error(`more than ${limit} chunks`);
  }
  return chunks;
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error("expected the call to fail");
}

function textOf(chunks: readonly ChatChunk[]): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
}

describe("openai adapter: chat", () => {
  it("answers a text chat, sending the deployment's model and the key", async () => {
    const response = await adapter({ headers: { "x-team": "checkout" } }).chat(hello, context());

    expect(response.object).toBe("chat.completion");
    expect(response.choices[0]?.message).toEqual({ role: "assistant", content: "Echo: Hello there" });
    expect(response.choices[0]?.finish_reason).toBe("stop");
    expect(response.model).toBe("gpt-4o-mini");
    expect(response.id).toMatch(/^chatcmpl-fake-/);
    expect(fake.requestCount).toBe(1);
    const sent = fake.lastRequest;
    expect(sent?.path).toBe("/v1/chat/completions");
    expect(sent?.body).toEqual({ model: "gpt-4o-mini", messages: hello.messages });
    expect(sent?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(sent?.headers["x-team"]).toBe("checkout");
  });

  it("passes every OpenAI field through and strips the gateway's own", async () => {
    const request: ChatRequest = {
      ...hello,
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 50,
      max_completion_tokens: 60,
      stop: ["END"],
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      reasoning_effort: "low",
      user: "u42",
      metadata: { team: "a" },
      parallel_tool_calls: false,
      n: 1,
      stream: false,
      stream_options: { include_usage: true },
    };
    await adapter().chat(request, context({ model: "gpt-4o" }));

    expect(fake.lastRequest?.body).toEqual({
      model: "gpt-4o",
      messages: hello.messages,
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 50,
      max_completion_tokens: 60,
      stop: ["END"],
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      reasoning_effort: "low",
      user: "u42",
      metadata: { team: "a" },
      parallel_tool_calls: false,
      n: 1,
    });
  });

  it("leaves undefined fields out of the body", () => {
    const body = toOpenAIRequest({ ...hello, tools: undefined, temperature: undefined, seed: 0 }, "gpt-4o");
    expect(Object.keys(body).sort()).toEqual(["messages", "model", "seed"]);
  });

  it("round-trips tools and tool calls", async () => {
    const tools: ChatRequest["tools"] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather for a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
          strict: true,
        },
      },
    ];
    fake.enqueue({ toolCalls: [{ id: "call_1", name: "get_weather", arguments: { city: "Paris" } }] });
    const first = await adapter().chat(
      { ...hello, tools, tool_choice: { type: "function", function: { name: "get_weather" } } },
      context(),
    );

    expect(fake.lastRequest?.body.tools).toEqual(tools);
    expect(fake.lastRequest?.body.tool_choice).toEqual({ type: "function", function: { name: "get_weather" } });
    const message = first.choices[0]?.message;
    expect(first.choices[0]?.finish_reason).toBe("tool_calls");
    expect(message?.content).toBeNull();
    expect(message?.tool_calls).toEqual([
      { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
    ]);

    const followUp: ChatRequest = {
      model: "smart",
      tools,
      messages: [
        ...hello.messages,
        { role: "assistant", content: null, tool_calls: message?.tool_calls ?? [] },
        { role: "tool", tool_call_id: "call_1", content: '{"celsius":21}' },
      ],
    };
    fake.enqueue({ reply: "It is 21°C in Paris." });
    const second = await adapter().chat(followUp, context());
    expect(second.choices[0]?.message.content).toBe("It is 21°C in Paris.");
    expect(fake.lastRequest?.body.messages).toEqual(followUp.messages);
  });

  it("returns parallel tool calls in order", async () => {
    fake.enqueue({
      toolCalls: [
        { name: "get_weather", arguments: { city: "Paris" } },
        { name: "get_time", arguments: { zone: "CET" } },
      ],
    });
    const response = await adapter().chat({ ...hello, parallel_tool_calls: true }, context());

    expect(fake.lastRequest?.body.parallel_tool_calls).toBe(true);
    const calls = response.choices[0]?.message.tool_calls ?? [];
    expect(calls.map((call) => toolCallName(call))).toEqual(["get_weather", "get_time"]);
    expect(calls.map((call) => JSON.parse(toolCallInput(call)))).toEqual([{ city: "Paris" }, { zone: "CET" }]);
    expect(new Set(calls.map((call) => call.id)).size).toBe(2);
  });

  it("passes image parts and json_schema response formats through", async () => {
    const messages: ChatRequest["messages"] = [
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } },
        ],
      },
    ];
    const responseFormat: ChatRequest["response_format"] = {
      type: "json_schema",
      json_schema: {
        name: "answer",
        strict: true,
        schema: { type: "object", properties: { label: { type: "string" } }, required: ["label"] },
      },
    };
    fake.enqueue({ reply: '{"label":"a cat"}' });
    const response = await adapter().chat({ model: "smart", messages, response_format: responseFormat }, context());

    expect(fake.lastRequest?.body.messages).toEqual(messages);
    expect(fake.lastRequest?.body.response_format).toEqual(responseFormat);
    expect(JSON.parse(response.choices[0]?.message.content ?? "")).toEqual({ label: "a cat" });
  });

  it("reports usage with every detail field OpenAI sends", async () => {
    fake.enqueue({ usage: { promptTokens: 1200, completionTokens: 300, cachedTokens: 1024, reasoningTokens: 256 } });
    const response = await adapter().chat(hello, context());

    expect(response.usage).toEqual({
      prompt_tokens: 1200,
      completion_tokens: 300,
      total_tokens: 1500,
      prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 256, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
  });

  it("maps a refusal", async () => {
    fake.enqueue({ refusal: "I can't help with that." });
    const response = await adapter().chat(hello, context());
    expect(response.choices[0]?.message).toEqual({ role: "assistant", content: null, refusal: "I can't help with that." });
  });

  it("ignores unknown fields and maps an unknown finish reason to stop", async () => {
    fake.enqueue({
      rawResponse: {
        id: "cmpl-compat",
        object: "chat.completion",
        created: 1,
        model: "llama-3",
        brand_new_field: { nested: true },
        choices: [
          { index: 0, message: { role: "assistant", content: "hi", extra: 1 }, finish_reason: "eos", stop_reason: 128 },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, queue_time: 0.1 },
      },
    });
    const response = await adapter().chat(hello, context());
    expect(response.choices[0]).toEqual({
      index: 0,
      message: { role: "assistant", content: "hi" },
      finish_reason: "stop",
      logprobs: null,
    });
    expect(response.usage).toEqual({ prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 });
    expect(response.model).toBe("llama-3");
  });

  it("rejects a 200 without choices as an invalid response, not retryable on the same deployment", async () => {
    fake.enqueue({ rawResponse: { id: "x", object: "chat.completion" } });
    const error = await failure(adapter().chat(hello, context()));
    expect(error.type).toBe("invalid_response");
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("choices");
  });

  it("uses a caller's client, with its retries off, and reports its host", async () => {
    const client = new OpenAI({ apiKey: API_KEY, baseURL: fake.url, maxRetries: 5 });
    const custom = openai({ client, name: "my-openai" });
    expect(custom.name).toBe("my-openai");
    expect(custom.serverAddress).toBe("127.0.0.1");
    expect(openai({ apiKey: API_KEY }).serverAddress).toBe("api.openai.com");
    expect(openai({ apiKey: API_KEY, baseURL: "https://user:pw@proxy.example:8443/openai/v1" }).serverAddress).toBe(
      "proxy.example",
    );

    fake.enqueue({ fail: { status: 503, message: "busy" } });
    const error = await failure(custom.chat(hello, context()));
    expect(error.provider).toBe("my-openai");
    expect(error.message).toContain("my-openai 503");
    expect(fake.requestCount).toBe(1);
  });
});

describe("openai adapter: streaming", () => {
  it("streams text deltas and ends with a usage chunk", async () => {
    fake.enqueue({ reply: "One two three four", usage: { promptTokens: 10, completionTokens: 4, cachedTokens: 2 } });
    const chunks = await collect(adapter().stream(hello, context()));

    expect(fake.lastRequest?.body).toMatchObject({ model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true } });
    expect(textOf(chunks)).toBe("One two three four");
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content).length).toBeGreaterThan(1);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    const finish = chunks.find((chunk) => chunk.choices[0]?.finish_reason);
    expect(finish?.choices[0]?.finish_reason).toBe("stop");
    const last = chunks[chunks.length - 1];
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({
      prompt_tokens: 10,
      completion_tokens: 4,
      total_tokens: 14,
      prompt_tokens_details: { cached_tokens: 2, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === undefined)).toBe(true);
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
  });

  it("streams tool-call deltas that assemble into the calls", async () => {
    fake.enqueue({
      toolCalls: [
        { id: "call_a", name: "get_weather", arguments: { city: "Paris", unit: "celsius" } },
        { id: "call_b", name: "get_time", arguments: { zone: "Europe/Paris" } },
      ],
      chunkSize: 5,
    });
    const chunks = await collect(adapter().stream(hello, context()));

    const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(deltas.length).toBeGreaterThan(4);
    expect(deltas[0]).toEqual({ index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } });
    expect(deltas.some((delta) => delta.index === 1 && delta.id === "call_b")).toBe(true);

    const accumulator = new ChunkAccumulator();
    for (const chunk of chunks) accumulator.add(chunk);
    const response = accumulator.toResponse();
    expect(response.choices[0]?.finish_reason).toBe("tool_calls");
    expect(response.choices[0]?.message.tool_calls).toEqual([
      { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' } },
      { id: "call_b", type: "function", function: { name: "get_time", arguments: '{"zone":"Europe/Paris"}' } },
    ]);
  });

  it("ends cleanly without [DONE], leaving a missing finish reason for the gateway to judge", async () => {
    fake.enqueue({ reply: "cut short", omitDone: true, omitFinishReason: true });
    const chunks = await collect(adapter().stream(hello, context()));
    expect(textOf(chunks)).toBe("cut short");
    expect(chunks.some((chunk) => chunk.choices.some((choice) => choice.finish_reason !== null))).toBe(false);
  });

  it("throws a retryable error when the connection drops mid-stream", async () => {
    fake.enqueue({ reply: "a b c d e f g h", dropAfterChunks: 3 });
    const received: ChatChunk[] = [];
    const error = await failure(
      (async () => {
        for await (const chunk of adapter().stream(hello, context())) received.push(chunk);
      })(),
    );
    expect(received.length).toBe(3);
    expect(error.retryable).toBe(true);
    expect(error.status).toBeUndefined();
    expect(error.type).toBe("connection_error");
  });

  it("classifies an error inside a 200 stream by its type", async () => {
    fake.enqueue({ reply: "partial answer", streamError: { afterChunks: 2, type: "server_error", message: "The server had an error" } });
    const serverError = await failure(collect(adapter().stream(hello, context())));
    expect(serverError.retryable).toBe(true);
    expect(serverError.type).toBe("server_error");
    expect(serverError.status).toBeUndefined();
    expect(serverError.message).toBe("OpenAI stream error: The server had an error");

    fake.enqueue({ streamError: { type: "invalid_request_error", message: "Invalid prompt" } });
    const requestError = await failure(collect(adapter().stream(hello, context())));
    expect(requestError.retryable).toBe(false);
    expect(requestError.type).toBe("invalid_request_error");

    fake.enqueue({ streamError: { type: "overloaded", code: null } });
    expect((await failure(collect(adapter().stream(hello, context())))).retryable).toBe(true);
  });

  it("fails the stream before the first chunk on an HTTP error", async () => {
    fake.enqueue({ fail: { status: 429, message: "slow down", headers: { "retry-after-ms": "250" } } });
    const error = await failure(collect(adapter().stream(hello, context())));
    expect(error.status).toBe(429);
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(250);
    expect(fake.requestCount).toBe(1);
  });

  it("aborts the upstream request when the consumer breaks", async () => {
    fake.enqueue({ reply: "one two three four five six seven eight", chunkDelayMs: 30 });
    const received: ChatChunk[] = [];
    for await (const chunk of adapter().stream(hello, context())) {
      received.push(chunk);
      if (received.length === 2) break;
    }
    const aborted = await fake.waitForClientAbort(2_000);
    expect(aborted.closedEarly).toBe(true);
    expect(received.length).toBe(2);
  });

  it("aborts at once when return() is called while a chunk is awaited", async () => {
    fake.enqueue({ reply: "first second", chunkDelayMs: 10_000 });
    const iterator = adapter().stream(hello, context())[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    const pending = iterator.next();
    const startedAt = performance.now();
    await iterator.return?.();
    await fake.waitForClientAbort(2_000);
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(performance.now() - startedAt).toBeLessThan(2_000);
  });

  it("throws an abort, not a clean end, when ctx.signal aborts mid-stream", async () => {
    fake.enqueue({ reply: "first second third", chunkDelayMs: 10_000 });
    const controller = new AbortController();
    const iterator = adapter().stream(hello, context({ signal: controller.signal }))[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    const pending = iterator.next();
    controller.abort();
    const error = await failure(pending);
    expect(error.type).toBe("aborted");
    expect(error.retryable).toBe(false);
    await fake.waitForClientAbort(2_000);
  });
});

describe("openai adapter: errors", () => {
  it("sends a failing request exactly once (SDK retries off)", async () => {
    fake.enqueue({ fail: { status: 500, message: "The server had an error processing your request." } });
    const error = await failure(adapter().chat(hello, context()));

    expect(fake.requestCount).toBe(1);
    expect(error.status).toBe(500);
    expect(error.retryable).toBe(true);
    expect(error.type).toBe("server_error");
    expect(error.provider).toBe("openai");
    expect(error.code).toBe("provider_error");
    expect(error.message).toBe("OpenAI 500: The server had an error processing your request. (request req_fake_error)");
  });

  it("reads retry-after-ms, then retry-after in seconds or as a date", async () => {
    fake.enqueue({ fail: { status: 429, code: "rate_limit_exceeded", headers: { "retry-after-ms": "150", "retry-after": "9" } } });
    const precise = await failure(adapter().chat(hello, context()));
    expect(precise.retryAfterMs).toBe(150);
    expect(precise.retryable).toBe(true);
    expect(precise.type).toBe("rate_limit_exceeded");

    fake.enqueue({ fail: { status: 429, headers: { "retry-after": "2" } } });
    expect((await failure(adapter().chat(hello, context()))).retryAfterMs).toBe(2_000);

    const inFiveSeconds = new Date(Date.now() + 5_000).toUTCString();
    fake.enqueue({ fail: { status: 503, headers: { "retry-after": inFiveSeconds } } });
    const dated = await failure(adapter().chat(hello, context()));
    expect(dated.retryAfterMs).toBeGreaterThan(2_000);
    expect(dated.retryAfterMs).toBeLessThanOrEqual(5_000);

    fake.enqueue({ fail: { status: 429 } });
    expect((await failure(adapter().chat(hello, context()))).retryAfterMs).toBeUndefined();
  });

  it("parses and caps Retry-After values", () => {
    const headers = (values: Record<string, string>) => new Headers(values);
    expect(parseRetryAfter(headers({ "retry-after": "0.5" }))).toBe(500);
    expect(parseRetryAfter(headers({ "retry-after": "86400" }))).toBe(600_000);
    expect(parseRetryAfter(headers({ "retry-after": "soon" }))).toBeUndefined();
    expect(parseRetryAfter(headers({ "retry-after": "-3" }))).toBeUndefined();
    expect(parseRetryAfter(headers({ "retry-after-ms": "abc", "retry-after": "1" }))).toBe(1_000);
    expect(parseRetryAfter(headers({ "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" }))).toBe(0);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it("does not retry a 429 for an exhausted quota", async () => {
    fake.enqueue({
      fail: { status: 429, type: "insufficient_quota", code: "insufficient_quota", message: "You exceeded your current quota." },
    });
    const error = await failure(adapter().chat(hello, context()));
    expect(error.status).toBe(429);
    expect(error.retryable).toBe(false);
    expect(error.type).toBe("insufficient_quota");
  });

  it("does not retry 400 and 401", async () => {
    fake.enqueue({ fail: { status: 400, message: "Invalid value for 'temperature'." } });
    const badRequest = await failure(adapter().chat(hello, context()));
    expect(badRequest.status).toBe(400);
    expect(badRequest.retryable).toBe(false);
    expect(badRequest.type).toBe("invalid_request_error");

    fake.enqueue({ fail: { status: 401, code: "invalid_api_key", message: "Incorrect API key provided." } });
    const unauthorized = await failure(adapter().chat(hello, context()));
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.retryable).toBe(false);
    expect(unauthorized.type).toBe("invalid_api_key");
    expect(fake.requestCount).toBe(2);
  });

  it("keeps a proxy's HTML error page short", async () => {
    fake.enqueue({ fail: { status: 502, rawBody: `<html><body>${"Bad gateway ".repeat(200)}</body></html>` } });
    const error = await failure(adapter().chat(hello, context()));
    expect(error.status).toBe(502);
    expect(error.retryable).toBe(true);
    expect(error.message.length).toBeLessThan(400);
    expect(error.message).toMatch(/^OpenAI 502: <html>/);
  });

  it("reports a refused connection as retryable, without a status", async () => {
    const closed = await startFakeOpenAI();
    const url = closed.url;
    await closed.close();
    const error = await failure(openai({ apiKey: API_KEY, baseURL: url }).chat(hello, context()));
    expect(error.retryable).toBe(true);
    expect(error.status).toBeUndefined();
    expect(error.type).toBe("connection_error");
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("aborts an in-flight call when ctx.signal aborts", async () => {
    fake.enqueue({ hang: true });
    const controller = new AbortController();
    const call = adapter().chat(hello, context({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    const error = await failure(call);
    expect(error.type).toBe("aborted");
    expect(error.retryable).toBe(false);
    expect((await fake.waitForClientAbort(2_000)).path).toBe("/v1/chat/completions");
  });

  it("times out after ctx.timeoutMs as a retryable error", async () => {
    fake.enqueue({ hang: true });
    const startedAt = performance.now();
    const error = await failure(adapter().chat(hello, context({ timeoutMs: 100 })));
    expect(error.type).toBe("timeout");
    expect(error.retryable).toBe(true);
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    expect(fake.requestCount).toBe(1);
  });

  it("never lets the API key reach an error's message, JSON or cause", async () => {
    const echoed = `Incorrect API key provided: ${API_KEY}.`;
    const headerSecret = "Bearer proxy-token-XYZ-987654321";
    const leaky = adapter({ headers: { "x-proxy-authorization": headerSecret } });
    const errors: ProviderError[] = [];

    fake.enqueue({ fail: { status: 401, code: "invalid_api_key", message: `${echoed} ${headerSecret}` } });
    errors.push(await failure(leaky.chat(hello, context())));
    fake.enqueue({ streamError: { type: "invalid_request_error", message: echoed } });
    errors.push(await failure(collect(leaky.stream(hello, context()))));
    fake.enqueue({ fail: { status: 500, rawBody: `key=${API_KEY}` } });
    errors.push(await failure(leaky.embed(["x"], context())));

    for (const error of errors) {
      const visible = [error.message, JSON.stringify(error), String(error.cause ?? ""), error.stack ?? ""].join("\n");
      expect(visible).not.toContain(API_KEY);
      expect(visible).not.toContain("proxy-token-XYZ-987654321");
      expect(visible).not.toContain("SECRETSECRET");
    }
    expect(errors[0]?.message).toContain("[redacted]");
  });

  it("without an API key, builds fine and fails each call with a clear non-retryable error", async () => {
    vi.stubEnv("OPENAI_API_KEY", undefined);
    const keyless = openai({ baseURL: fake.url });
    expect(keyless.name).toBe("openai");

    const error = await failure(keyless.chat(hello, context()));
    expect(error.type).toBe("missing_api_key");
    expect(error.status).toBe(401);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("OPENAI_API_KEY");
    const streamError = await failure(collect(keyless.stream(hello, context())));
    expect(streamError.type).toBe("missing_api_key");
    expect(fake.requestCount).toBe(0);

    // The key is looked up again on the next call: loading secrets after startup works.
    vi.stubEnv("OPENAI_API_KEY", "sk-from-env-later-123456");
    await keyless.chat(hello, context());
    expect(fake.lastRequest?.headers.authorization).toBe("Bearer sk-from-env-later-123456");
  });
});

describe("openai adapter: embeddings", () => {
  it("returns one vector per input, in input order", async () => {
    const inputs = ["the cat sat", "a dog ran", "the cat sat"];
    const embedded = await adapter().embed(inputs, context({ model: "text-embedding-3-small" }));
    const vectors = embeddedVectors(embedded);

    expect(fake.lastRequest?.path).toBe("/v1/embeddings");
    expect(fake.lastRequest?.body).toEqual({ model: "text-embedding-3-small", input: inputs, encoding_format: "base64" });
    expect(vectors).toHaveLength(3);
    inputs.forEach((input, index) => {
      const expected = hashedWordsVector(input, 64);
      expect(vectors[index]).toHaveLength(64);
      vectors[index]?.forEach((value, dimension) => expect(value).toBeCloseTo(expected[dimension] ?? Number.NaN, 5));
    });
    expect(vectors[0]).toEqual(vectors[2]);
    expect(vectors[0]).not.toEqual(vectors[1]);
    // The server's token count comes back with the vectors, for the gateway to cost.
    expect(embedded).toMatchObject({ promptTokens: expect.any(Number) });
    expect((embedded as { promptTokens: number }).promptTokens).toBeGreaterThan(0);
  });

  it("sends dimensions when asked", async () => {
    const embedded = await adapter().embed(["the cat sat"], { ...context({ model: "text-embedding-3-small" }), dimensions: 8 });
    expect(fake.lastRequest?.body).toEqual({ model: "text-embedding-3-small", input: ["the cat sat"], encoding_format: "base64", dimensions: 8 });
    expect(embeddedVectors(embedded)[0]).toHaveLength(8);
  });

  it("accepts float arrays, out of order, from a server that ignores base64", async () => {
    fake.enqueue({
      rawResponse: {
        object: "list",
        model: "nomic-embed-text",
        data: [
          { object: "embedding", index: 1, embedding: [0.5, -0.5] },
          { object: "embedding", index: 0, embedding: [1, 0] },
        ],
      },
    });
    expect(await adapter().embed(["first", "second"], context())).toEqual({
      vectors: [
        [1, 0],
        [0.5, -0.5],
      ],
    });
  });

  it("fails when a vector is missing", async () => {
    fake.enqueue({ rawResponse: { object: "list", data: [{ object: "embedding", index: 0, embedding: [1] }] } });
    const error = await failure(adapter().embed(["a", "b"], context()));
    expect(error.type).toBe("invalid_response");
    expect(error.message).toContain("input 1 of 2");
  });

  it("skips the request for an empty input", async () => {
    expect(await adapter().embed([], context())).toEqual({ vectors: [] });
    expect(fake.requestCount).toBe(0);
  });
});
