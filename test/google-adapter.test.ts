import { inspect } from "node:util";
import { GoogleGenAI } from "@google/genai";
import { GoogleGenerativeAI } from "@google/generative-ai";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ChatChunk } from "../src/core/chat-chunk.js";
import { toolCallInput, toolCallName, type ChatRequest } from "../src/core/chat-request.js";
import { embeddedVectors } from "../src/core/provider-adapter.js";
import { ChunkAccumulator } from "../src/core/chunk-accumulator.js";
import { AbortError, ConfigError, InvalidRequestError, ProviderError, TimeoutError } from "../src/core/errors.js";
import { google, type GoogleSdk } from "../src/google.js";
import type { AdapterContext, ProviderAdapter } from "../src/core/provider-adapter.js";
import { startFakeGemini, type FakeGemini } from "./fakes/gemini-server.js";

const API_KEY = "AIzaFAKE-test-secret-0123456789abcdef";
const MODEL = "gemini-2.0-flash";

let fake: FakeGemini;
/** The SDK the adapter runs on in the current block: every case runs on both. */
let sdk: GoogleSdk = "@google/genai";

beforeEach(async () => {
  fake = await startFakeGemini();
});

afterEach(async () => {
  await fake.close();
});

function adapter(options: Parameters<typeof google>[0] = {}): ProviderAdapter {
  return google({ apiKey: API_KEY, baseURL: fake.url, sdk, ...options });
}

/** `google()` on the SDK of the current block. */
function googleOn(options: Parameters<typeof google>[0]): ProviderAdapter {
  return google({ sdk, ...options });
}

function context(overrides: Partial<AdapterContext> = {}): AdapterContext {
  return { model: MODEL, signal: new AbortController().signal, timeoutMs: 10_000, ...overrides };
}

function chatRequest(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return { model: "smart", messages: [{ role: "user", content: "Hi" }], ...overrides };
}

async function collect(stream: AsyncIterable<ChatChunk>, limit = 1_000): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    if (chunks.length >= limit) throw new Error("stream did not end");
  }
  return chunks;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail");
}

/** Waits for a settled value or fails the test after `ms`, so no test can hang. */
function within<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms).unref()),
  ]);
}

async function firstRequestArrives(): Promise<void> {
  for (let tries = 0; tries < 200 && fake.requests.length === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(fake.requests.length).toBe(1);
}

/**
 * Gemini reads schema `type` names in either case; `@google/genai` upper-cases them on the way
 * out (`OBJECT`), `@google/generative-ai` sends them as given. Compared in lower case.
 */
function lowerTypes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerTypes);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, key === "type" && typeof item === "string" ? item.toLowerCase() : lowerTypes(item)]),
  );
}

function lastBody(): Record<string, unknown> {
  const request = fake.requests.at(-1);
  if (!request) throw new Error("no request reached the fake");
  return request.body;
}


describe.each(["@google/genai", "@google/generative-ai"] as const)("on %s", (current) => {
  /** A test of one SDK only: defined in that SDK's block alone, not skipped in the other (CI counts skips). */
  const onlyOn = (sdk: GoogleSdk, name: string, test: () => Promise<void>): void => {
    if (current === sdk) it(name, test);
  };
  beforeEach(() => {
    sdk = current;
  });
  describe("request translation", () => {
    it("sends system and developer messages as systemInstruction, maps roles, merges turns, uses ctx.model", async () => {
      await adapter().chat(
        chatRequest({
          messages: [
            { role: "system", content: "Be brief." },
            { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
            { role: "user", content: "Hi" },
            { role: "user", content: [{ type: "text", text: "Anyone there?" }] },
            { role: "assistant", content: "Bonjour" },
            { role: "user", content: "Ça va ?" },
          ],
          user: "user-42",
          metadata: { team: "a" },
        }),
        context(),
      );
      const request = fake.requests[0];
      expect(request?.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
      expect(request?.body.systemInstruction).toEqual({ role: "system", parts: [{ text: "Be brief." }, { text: "Answer in French." }] });
      expect(request?.body.contents).toEqual([
        { role: "user", parts: [{ text: "Hi" }, { text: "Anyone there?" }] },
        { role: "model", parts: [{ text: "Bonjour" }] },
        { role: "user", parts: [{ text: "Ça va ?" }] },
      ]);
      // `user` and `metadata` have no Gemini field and no effect on output: intentionally not sent.
      expect(JSON.stringify(request?.body)).not.toContain("user-42");
      expect(request?.body).not.toHaveProperty("model");
    });

    it("translates generation settings, stop, seed, penalties and reasoning effort", async () => {
      await adapter().chat(
        chatRequest({
          temperature: 0.3,
          top_p: 0.9,
          max_tokens: 50,
          max_completion_tokens: 120,
          stop: "END",
          seed: 7,
          presence_penalty: 0.5,
          frequency_penalty: -0.5,
          reasoning_effort: "low",
        }),
        context(),
      );
      expect(lastBody().generationConfig).toEqual({
        temperature: 0.3,
        topP: 0.9,
        maxOutputTokens: 120,
        stopSequences: ["END"],
        seed: 7,
        presencePenalty: 0.5,
        frequencyPenalty: -0.5,
        thinkingConfig: { thinkingBudget: 1024, includeThoughts: true },
      });
      await adapter().chat(chatRequest({ max_tokens: 64, stop: ["a", "b"], reasoning_effort: "high" }), context());
      expect(lastBody().generationConfig).toEqual({ maxOutputTokens: 64, stopSequences: ["a", "b"], thinkingConfig: { thinkingBudget: 24_576, includeThoughts: true } });
      await adapter().chat(chatRequest({ reasoning_effort: "none" }), context());
      expect(lastBody().generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 0 } });
    });

    it("translates tools to functionDeclarations, removing keys Gemini rejects but keeping properties of the same name", async () => {
      await adapter().chat(
        chatRequest({
          tools: [
            {
              type: "function",
              function: {
                name: "get_weather",
                description: "Weather for a city",
                strict: true,
                parameters: {
                  $schema: "http://json-schema.org/draft-07/schema#",
                  type: "object",
                  properties: {
                    city: { type: "string", description: "City name" },
                    strict: { type: "boolean" },
                    unit: { type: ["string", "null"], enum: ["c", "f", null] },
                    tags: { type: "array", items: { type: "object", properties: { key: { type: "string" } }, additionalProperties: false } },
                  },
                  required: ["city"],
                  additionalProperties: false,
                },
              },
            },
            { type: "function", function: { name: "now", parameters: { type: "object", properties: {} } } },
          ],
        }),
        context(),
      );
      expect(lowerTypes(lastBody().tools)).toEqual([
        {
          functionDeclarations: [
            {
              name: "get_weather",
              description: "Weather for a city",
              parameters: {
                type: "object",
                properties: {
                  city: { type: "string", description: "City name" },
                  strict: { type: "boolean" },
                  unit: { type: "string", enum: ["c", "f"], nullable: true },
                  tags: { type: "array", items: { type: "object", properties: { key: { type: "string" } } } },
                },
                required: ["city"],
              },
            },
            { name: "now" },
          ],
        },
      ]);
    });

    it.each([
      ["auto", { mode: "AUTO" }],
      ["none", { mode: "NONE" }],
      ["required", { mode: "ANY" }],
      [{ type: "function", function: { name: "get_weather" } }, { mode: "ANY", allowedFunctionNames: ["get_weather"] }],
    ] as const)("maps tool_choice %j to functionCallingConfig", async (choice, expected) => {
      await adapter().chat(
        chatRequest({
          tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
          tool_choice: choice,
        }),
        context(),
      );
      expect(lastBody().toolConfig).toEqual({ functionCallingConfig: expected });
    });

    it("sends assistant tool calls as functionCall parts and tool results as functionResponse parts of a user turn", async () => {
      await adapter().chat(
        chatRequest({
          messages: [
            { role: "user", content: "Weather and time in Paris?" },
            {
              role: "assistant",
              content: "Checking.",
              tool_calls: [
                { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
                { id: "call_b", type: "function", function: { name: "get_time", arguments: "" } },
              ],
            },
            { role: "tool", tool_call_id: "call_a", content: '{"temperature":21}' },
            { role: "tool", tool_call_id: "call_b", content: [{ type: "text", text: "noon" }] },
            { role: "user", content: "Thanks" },
          ],
        }),
        context(),
      );
      expect(lastBody().contents).toEqual([
        { role: "user", parts: [{ text: "Weather and time in Paris?" }] },
        {
          role: "model",
          parts: [
            { text: "Checking." },
            { functionCall: { name: "get_weather", args: { city: "Paris" } } },
            { functionCall: { name: "get_time", args: {} } },
          ],
        },
        {
          role: "user",
          parts: [
            { functionResponse: { name: "get_weather", response: { temperature: 21 } } },
            { functionResponse: { name: "get_time", response: { content: "noon" } } },
            { text: "Thanks" },
          ],
        },
      ]);
    });

    it("sends data URLs as inlineData and https images with a known extension as fileData", async () => {
      await adapter().chat(
        chatRequest({
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: "Compare" },
                { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
                { type: "image_url", image_url: { url: "https://example.com/photos/cat.JPG?size=large", detail: "auto" } },
              ],
            },
          ],
        }),
        context(),
      );
      expect(lastBody().contents).toEqual([
        {
          role: "user",
          parts: [
            { text: "Compare" },
            { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
            { fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/photos/cat.JPG?size=large" } },
          ],
        },
      ]);
    });

    it("asks for JSON for json_object and converts a json_schema to Gemini's schema subset", async () => {
      await adapter().chat(chatRequest({ response_format: { type: "json_object" } }), context());
      expect(lastBody().generationConfig).toEqual({ responseMimeType: "application/json" });

      await adapter().chat(
        chatRequest({
          response_format: {
            type: "json_schema",
            json_schema: {
              name: "event",
              description: "An event",
              strict: true,
              schema: {
                type: "object",
                properties: {
                  title: { type: "string", minLength: 1 },
                  at: { type: "string", format: "date-time" },
                  kind: { const: "meeting" },
                  note: { anyOf: [{ type: "string" }, { type: "null" }] },
                  size: { type: "integer", minimum: 1, maximum: 10 },
                },
                required: ["title", "at", "kind", "note", "size"],
                additionalProperties: false,
              },
            },
          },
        }),
        context(),
      );
      expect(lowerTypes(lastBody().generationConfig)).toEqual({
        responseMimeType: "application/json",
        responseSchema: {
          type: "object",
          description: "An event",
          properties: {
            title: { type: "string", minLength: 1 },
            at: { type: "string", format: "date-time" },
            kind: { type: "string", enum: ["meeting"] },
            note: { type: "string", nullable: true },
            size: { type: "integer", minimum: 1, maximum: 10 },
          },
          required: ["title", "at", "kind", "note", "size"],
        },
      });
    });

    const toolSchema = (parameters: Record<string, unknown>): Partial<ChatRequest> => ({
      tools: [{ type: "function", function: { name: "f", parameters } }],
    });

    it.each<[string, Partial<ChatRequest>, string]>([
      ["parallel_tool_calls: false", { parallel_tool_calls: false }, "parallel_tool_calls"],
      [
        "arguments that are not JSON",
        {
          messages: [
            { role: "user", content: "x" },
            { role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{oops" } }] },
            { role: "tool", tool_call_id: "c1", content: "r" },
          ],
        },
        "messages[1].tool_calls[0].function.arguments",
      ],
      [
        "a tool result for an unknown call",
        { messages: [{ role: "user", content: "x" }, { role: "tool", tool_call_id: "nope", content: "r" }] },
        "messages[1].tool_call_id",
      ],
      ["a participant name", { messages: [{ role: "user", content: "x", name: "alice" }] }, "messages[0].name"],
      [
        "an https image without an inferable type",
        { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/image?id=3" } }] }] },
        "messages[0].content[0].image_url.url",
      ],
      [
        "an http image",
        { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://example.com/a.png" } }] }] },
        "messages[0].content[0].image_url.url",
      ],
      [
        "image detail high",
        { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AA==", detail: "high" } }] }] },
        "messages[0].content[0].image_url.detail",
      ],
      [
        "a system message after the conversation started",
        { messages: [{ role: "user", content: "x" }, { role: "system", content: "late" }] },
        "messages[1].role",
      ],
      ["only system messages", { messages: [{ role: "system", content: "x" }] }, "messages"],
      [
        "a $ref in a response schema",
        {
          response_format: {
            type: "json_schema",
            json_schema: { name: "s", schema: { type: "object", properties: { a: { $ref: "#/$defs/A" } }, $defs: { A: { type: "string" } } } },
          },
        },
        "response_format.json_schema.schema.properties.a.$ref",
      ],
      ["oneOf in tool parameters", toolSchema({ type: "object", properties: { a: { oneOf: [{ type: "string" }] } } }), "tools[0].function.parameters.properties.a.oneOf"],
      ["an unsupported string format", toolSchema({ type: "object", properties: { a: { type: "string", format: "email" } } }), "tools[0].function.parameters.properties.a.format"],
      ["numeric enums", toolSchema({ type: "object", properties: { a: { type: "integer", enum: [1, 2] } } }), "tools[0].function.parameters.properties.a.enum"],
    ])("rejects %s with an InvalidRequestError naming the path, sending nothing", async (_, overrides, path) => {
      const error = await failure(adapter().chat(chatRequest(overrides), context()));
      expect(error).toBeInstanceOf(InvalidRequestError);
      const invalid = error as InvalidRequestError;
      expect(invalid.issues.map((issue) => issue.path)).toContain(path);
      expect(invalid.message).toMatch(/Google Gemini/);
      expect(fake.requests).toHaveLength(0);

      const streamError = await failure(collect(adapter().stream(chatRequest(overrides), context())));
      expect(streamError).toBeInstanceOf(InvalidRequestError);
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe("responses", () => {
    it("joins text parts (without thought parts) and reports id, model and usage", async () => {
      fake.enqueue({
        type: "reply",
        parts: [{ text: "thinking...", thought: true }, { text: "Hello, " }, { text: "world" }],
        responseId: "resp-123",
        modelVersion: "gemini-2.0-flash-001",
        usage: { promptTokenCount: 12, candidatesTokenCount: 3, totalTokenCount: 15 },
      });
      const response = await adapter().chat(chatRequest(), context());
      expect(response).toMatchObject({
        id: "resp-123",
        object: "chat.completion",
        model: "gemini-2.0-flash-001",
        choices: [{ index: 0, message: { role: "assistant", content: "Hello, world" }, finish_reason: "stop", logprobs: null }],
        usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
      });
      expect(response.choices[0]?.message.tool_calls).toBeUndefined();
    });

    it("returns parallel function calls as tool_calls with ids unique across responses", async () => {
      const calls = [
        { name: "get_weather", args: { city: "Paris" } },
        { name: "get_weather", args: { city: "Rome" } },
      ];
      fake.enqueue({ type: "reply", functionCalls: calls }, { type: "reply", functionCalls: calls });
      const first = await adapter().chat(chatRequest(), context());
      const second = await adapter().chat(chatRequest(), context());
      const message = first.choices[0]?.message;
      expect(first.choices[0]?.finish_reason).toBe("tool_calls");
      expect(message?.content).toBeNull();
      expect(message?.tool_calls?.map((call) => ({ name: toolCallName(call), arguments: toolCallInput(call) }))).toEqual([
        { name: "get_weather", arguments: '{"city":"Paris"}' },
        { name: "get_weather", arguments: '{"city":"Rome"}' },
      ]);
      const ids = [...(message?.tool_calls ?? []), ...(second.choices[0]?.message.tool_calls ?? [])].map((call) => call.id);
      expect(ids).toHaveLength(4);
      expect(new Set(ids).size).toBe(4);
      for (const id of ids) expect(id).toMatch(/^call_[a-z0-9]+_\d+$/);
    });

    it.each([
      ["MAX_TOKENS", "length"],
      ["SAFETY", "content_filter"],
      ["RECITATION", "content_filter"],
      ["PROHIBITED_CONTENT", "content_filter"],
      ["SPII", "content_filter"],
      ["BLOCKLIST", "content_filter"],
      ["OTHER", "stop"],
      ["MALFORMED_FUNCTION_CALL", "stop"],
      ["SOMETHING_NEW", "stop"],
    ])("maps finishReason %s to %s", async (finishReason, expected) => {
      fake.enqueue({ type: "reply", text: "partial", finishReason });
      const response = await adapter().chat(chatRequest(), context());
      expect(response.choices[0]?.finish_reason).toBe(expected);
    });

    it("reads a blocked prompt as content_filter with null content", async () => {
      fake.enqueue({ type: "reply", blockReason: "SAFETY", usage: { promptTokenCount: 8, candidatesTokenCount: 0, totalTokenCount: 8 } });
      const response = await adapter().chat(chatRequest(), context());
      expect(response.choices[0]?.finish_reason).toBe("content_filter");
      expect(response.choices[0]?.message.content).toBeNull();
      expect(response.usage).toEqual({ prompt_tokens: 8, completion_tokens: 0, total_tokens: 8 });
    });

    it("counts thinking tokens as completion and reasoning tokens, and reports cached tokens", async () => {
      fake.enqueue({
        type: "reply",
        text: "42",
        usage: { promptTokenCount: 100, candidatesTokenCount: 20, thoughtsTokenCount: 30, cachedContentTokenCount: 60, totalTokenCount: 150 },
      });
      const response = await adapter().chat(chatRequest(), context());
      expect(response.usage).toEqual({
        prompt_tokens: 100,
        completion_tokens: 50,
        total_tokens: 150,
        prompt_tokens_details: { cached_tokens: 60 },
        completion_tokens_details: { reasoning_tokens: 30 },
      });
    });

    it("returns a json_schema answer as text content", async () => {
      fake.enqueue({ type: "reply", text: '{"title":"Standup"}' });
      const response = await adapter().chat(
        chatRequest({
          response_format: { type: "json_schema", json_schema: { name: "e", schema: { type: "object", properties: { title: { type: "string" } } } } },
        }),
        context(),
      );
      expect(JSON.parse(response.choices[0]?.message.content ?? "")).toEqual({ title: "Standup" });
    });

    it("throws a retryable ProviderError on a response it cannot read", async () => {
      fake.enqueue({ type: "reply", parts: [{ functionCall: { name: 42 as unknown as string } }] });
      const error = await failure(adapter().chat(chatRequest(), context()));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ retryable: true, type: "invalid_response" });
    });
  });

  describe("streaming", () => {
    it("streams a role chunk, text deltas, a finish chunk and the last chunk's usage", async () => {
      fake.enqueue({
        type: "reply",
        text: ["Hel", "lo ", "world"],
        responseId: "stream-1",
        usage: { promptTokenCount: 10, candidatesTokenCount: 3, thoughtsTokenCount: 4, totalTokenCount: 17 },
      });
      const chunks = await collect(adapter().stream(chatRequest(), context()));
      expect(fake.requests[0]?.path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`);
      expect(chunks[0]?.choices[0]?.delta).toEqual({ role: "assistant" });
      expect(chunks.slice(1, 4).map((chunk) => chunk.choices[0]?.delta.content)).toEqual(["Hel", "lo ", "world"]);
      expect(chunks[4]?.choices[0]).toMatchObject({ delta: {}, finish_reason: "stop" });
      expect(chunks).toHaveLength(6);
      const last = chunks[5];
      expect(last?.choices).toEqual([]);
      // Earlier chunks carried running totals (10 prompt tokens each): summing would report 30+.
      expect(last?.usage).toEqual({
        prompt_tokens: 10,
        completion_tokens: 7,
        total_tokens: 17,
        completion_tokens_details: { reasoning_tokens: 4 },
      });
      expect(new Set(chunks.map((chunk) => chunk.id))).toEqual(new Set(["stream-1"]));
      expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk" && chunk.model === MODEL)).toBe(true);

      const accumulator = new ChunkAccumulator();
      for (const chunk of chunks) accumulator.add(chunk);
      expect(accumulator.toResponse().choices[0]?.message.content).toBe("Hello world");
    });

    it("streams function calls as complete tool-call deltas and finishes with tool_calls", async () => {
      fake.enqueue({
        type: "reply",
        text: ["Let me check."],
        functionCalls: [
          { name: "get_weather", args: { city: "Paris" } },
          { name: "get_time", args: {} },
        ],
      });
      const chunks = await collect(adapter().stream(chatRequest(), context()));
      const deltas = chunks.flatMap((chunk) => chunk.choices.flatMap((choice) => choice.delta.tool_calls ?? []));
      expect(deltas.map((delta) => [delta.index, delta.type, delta.function])).toEqual([
        [0, "function", { name: "get_weather", arguments: '{"city":"Paris"}' }],
        [1, "function", { name: "get_time", arguments: "{}" }],
      ]);
      expect(new Set(deltas.map((delta) => delta.id)).size).toBe(2);
      const accumulator = new ChunkAccumulator();
      for (const chunk of chunks) accumulator.add(chunk);
      const response = accumulator.toResponse();
      expect(response.choices[0]?.finish_reason).toBe("tool_calls");
      expect(response.choices[0]?.message.tool_calls?.map((call) => toolCallName(call))).toEqual(["get_weather", "get_time"]);
      expect(response.usage).toEqual({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
    });

    it("finishes a blocked prompt with content_filter", async () => {
      fake.enqueue({ type: "reply", blockReason: "PROHIBITED_CONTENT" });
      const chunks = await collect(adapter().stream(chatRequest(), context()));
      expect(chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason)).filter(Boolean)).toEqual(["content_filter"]);
    });

    it("classifies an error chunk inside the stream by its status", async () => {
      fake.enqueue(
        { type: "reply", text: ["a", "b"], errorAfterChunks: { after: 1, error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } } },
        {
          type: "reply",
          text: ["a", "b"],
          errorAfterChunks: {
            after: 1,
            error: {
              code: 429,
              message: "Quota exceeded",
              status: "RESOURCE_EXHAUSTED",
              details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "2s" }],
            },
          },
        },
      );
      const received: ChatChunk[] = [];
      const error = await failure(
        (async () => {
          for await (const chunk of adapter().stream(chatRequest(), context())) received.push(chunk);
        })(),
      );
      expect(received.map((chunk) => chunk.choices[0]?.delta.content)).toEqual([undefined, "a"]);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ status: 503, type: "UNAVAILABLE", retryable: true, provider: "gcp.gemini" });
      expect((error as Error).message).toContain("The model is overloaded.");

      const limited = await failure(collect(adapter().stream(chatRequest(), context())));
      expect(limited).toMatchObject({ status: 429, type: "RESOURCE_EXHAUSTED", retryable: true, retryAfterMs: 2000 });
    });

    it("fails with a retryable network error when the connection drops mid-stream", async () => {
      fake.enqueue({ type: "reply", text: ["one", "two", "three"], dropAfterChunks: 1 });
      const error = await failure(collect(adapter().stream(chatRequest(), context())));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ retryable: true, status: undefined, type: "network_error" });
    });

    it("fails retryably when the stream ends without a finish reason", async () => {
      fake.enqueue({ type: "reply", text: ["cut"], finishReason: null });
      const error = await failure(collect(adapter().stream(chatRequest(), context())));
      expect(error).toMatchObject({ retryable: true, type: "stream_incomplete" });
    });

    it("throws an HTTP error at the first next(), before any chunk", async () => {
      fake.enqueue({ type: "fail", status: 400, message: "Invalid value at 'contents'" });
      const iterator = adapter().stream(chatRequest(), context())[Symbol.asyncIterator]();
      const error = await failure(iterator.next());
      expect(error).toMatchObject({ status: 400, type: "INVALID_ARGUMENT", retryable: false });
    });

    it("aborts the upstream request when the consumer stops early", async () => {
      fake.enqueue({ type: "reply", text: ["one", "two", "three"], hangAfterChunks: 2 });
      const received: ChatChunk[] = [];
      for await (const chunk of adapter().stream(chatRequest(), context())) {
        received.push(chunk);
        if (received.length === 3) break;
      }
      expect(received.map((chunk) => chunk.choices[0]?.delta.content)).toEqual([undefined, "one", "two"]);
      await expect(within(fake.requests[0]!.closed)).resolves.toBe("aborted");
    });

    it("aborts the upstream request and reports the signal's reason when ctx.signal aborts mid-stream", async () => {
      fake.enqueue({ type: "reply", text: ["one", "two"], hangAfterChunks: 1 });
      const controller = new AbortController();
      const iterator = adapter().stream(chatRequest(), context({ signal: controller.signal }))[Symbol.asyncIterator]();
      expect((await iterator.next()).value?.choices[0]?.delta.role).toBe("assistant");
      expect((await iterator.next()).value?.choices[0]?.delta.content).toBe("one");
      const pending = iterator.next();
      controller.abort(new TimeoutError(1234));
      const error = await within(failure(pending));
      expect(error).toBeInstanceOf(TimeoutError);
      await expect(within(fake.requests[0]!.closed)).resolves.toBe("aborted");
    });
  });

  describe("errors", () => {
    it.each([
      ["12s", 12_000],
      ["1.5s", 1_500],
    ])("reads a 429's RetryInfo retryDelay %s as retryAfterMs", async (retryDelay, expected) => {
      fake.enqueue({
        type: "fail",
        status: 429,
        message: "Resource has been exhausted (e.g. check quota).",
        details: [
          { "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [{ quotaMetric: "generativelanguage.googleapis.com/generate_content_requests", quotaId: "GenerateRequestsPerMinutePerProjectPerModel" }] },
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay },
        ],
      });
      const error = await failure(adapter().chat(chatRequest(), context()));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ provider: "gcp.gemini", status: 429, type: "RESOURCE_EXHAUSTED", retryable: true, retryAfterMs: expected });
      expect((error as Error).message).toContain("Resource has been exhausted");
    });

    it("does not retry a 429 for a per-day quota", async () => {
      fake.enqueue({
        type: "fail",
        status: 429,
        message: "You exceeded your current quota",
        details: [
          {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            violations: [
              {
                quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                quotaId: "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                quotaValue: "250",
              },
            ],
          },
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "40s" },
        ],
      });
      const error = await failure(adapter().chat(chatRequest(), context()));
      expect(error).toMatchObject({ status: 429, retryable: false, retryAfterMs: undefined });
    });

    it.each([
      [400, "INVALID_ARGUMENT", false],
      [403, "PERMISSION_DENIED", false],
      [404, "NOT_FOUND", false],
      [500, "INTERNAL", true],
      [503, "UNAVAILABLE", true],
    ])("maps HTTP %i to type %s, retryable %s", async (status, type, retryable) => {
      fake.enqueue({ type: "fail", status });
      const error = await failure(adapter().chat(chatRequest(), context()));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ status, type, retryable });
      // The SDK has no retries of its own: one call, one request, whatever the status.
      expect(fake.requests).toHaveLength(1);
    });

    it("reports a refused connection as a retryable network error", async () => {
      const closed = await startFakeGemini();
      const url = closed.url;
      await closed.close();
      const error = await failure(googleOn({ apiKey: API_KEY, baseURL: url }).chat(chatRequest(), context()));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ retryable: true, status: undefined, type: "network_error" });
      expect((error as Error).message).not.toContain(API_KEY);
    });

    it("reports a caller abort as AbortError and a gateway timeout as its TimeoutError", async () => {
      fake.setDefault({ type: "hang" });
      const controller = new AbortController();
      const call = adapter().chat(chatRequest(), context({ signal: controller.signal }));
      await firstRequestArrives();
      controller.abort();
      expect(await within(failure(call))).toBeInstanceOf(AbortError);
      await expect(within(fake.requests[0]!.closed)).resolves.toBe("aborted");

      const timeout = new AbortController();
      const timed = adapter().chat(chatRequest(), context({ signal: timeout.signal }));
      for (let tries = 0; tries < 200 && fake.requests.length < 2; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
      const reason = new TimeoutError(50);
      timeout.abort(reason);
      expect(await within(failure(timed))).toBe(reason);
    });

    it("fails each call, without a request, when no API key is configured", async () => {
      const saved = { gemini: process.env.GEMINI_API_KEY, google: process.env.GOOGLE_API_KEY };
      delete process.env.GEMINI_API_KEY;
      delete process.env.GOOGLE_API_KEY;
      try {
        const keyless = googleOn({ baseURL: fake.url });
        const error = await failure(keyless.chat(chatRequest(), context()));
        expect(error).toBeInstanceOf(ProviderError);
        expect(error).toMatchObject({ retryable: false, type: "missing_api_key" });
        expect((error as Error).message).toMatch(/GEMINI_API_KEY/);
        expect((error as Error).message).toMatch(/GOOGLE_API_KEY/);
        expect(await failure(collect(keyless.stream(chatRequest(), context())))).toMatchObject({ type: "missing_api_key" });
        expect(await failure(keyless.embed!(["a"], context()))).toMatchObject({ type: "missing_api_key" });
        expect(fake.requests).toHaveLength(0);

        process.env.GOOGLE_API_KEY = "from-google-env";
        await googleOn({ baseURL: fake.url }).chat(chatRequest(), context());
        expect(fake.requests[0]?.headers["x-goog-api-key"]).toBe("from-google-env");
        process.env.GEMINI_API_KEY = "from-gemini-env";
        await googleOn({ baseURL: fake.url }).chat(chatRequest(), context());
        expect(fake.requests[1]?.headers["x-goog-api-key"]).toBe("from-gemini-env");
      } finally {
        for (const [name, value] of [["GEMINI_API_KEY", saved.gemini], ["GOOGLE_API_KEY", saved.google]] as const) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
    });
  });

  describe("secrets", () => {
    function expectNoKey(error: unknown): void {
      const seen = new Set<unknown>();
      let current: unknown = error;
      // Walks the cause chain (bounded) and every rendering of it.
      for (let depth = 0; depth < 10 && current !== undefined && !seen.has(current); depth++) {
        seen.add(current);
        expect(inspect(current, { depth: 10 })).not.toContain(API_KEY);
        expect(JSON.stringify(current)).not.toContain(API_KEY);
        if (current instanceof Error) {
          expect(current.message).not.toContain(API_KEY);
          expect(current.stack ?? "").not.toContain(API_KEY);
          current = current.cause;
        } else current = undefined;
      }
    }

    it("sends the API key only in the x-goog-api-key header", async () => {
      await adapter().chat(chatRequest(), context());
      await collect(adapter().stream(chatRequest(), context()));
      await adapter().embed!(["a", "b"], context());
      expect(fake.requests).toHaveLength(3);
      for (const request of fake.requests) {
        expect(request.headers["x-goog-api-key"]).toBe(API_KEY);
        expect(request.path).not.toContain(API_KEY);
        expect(JSON.stringify(request.body)).not.toContain(API_KEY);
        const otherHeaders = Object.entries(request.headers).filter(([name]) => name !== "x-goog-api-key");
        expect(JSON.stringify(otherHeaders)).not.toContain(API_KEY);
      }
    });

    it("keeps the key out of error messages, error JSON and the SDK error kept as cause", async () => {
      fake.enqueue({
        type: "fail",
        status: 400,
        message: "API key not valid. Please pass a valid API key.",
        details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com" }],
      });
      const error = await failure(adapter().chat(chatRequest(), context()));
      expect(error).toMatchObject({ status: 400, retryable: false });
      expect((error as Error).cause).toBeDefined();
      expectNoKey(error);
    });

    it("scrubs a key the server echoes back, and drops the SDK error that holds it", async () => {
      fake.enqueue({ type: "fail", status: 403, message: `Key ${API_KEY} is suspended` });
      const error = await failure(adapter().chat(chatRequest(), context()));
      expect((error as Error).message).toContain("[redacted]");
      expect((error as Error).cause).toBeUndefined();
      expectNoKey(error);
    });

    it("keeps the key out of network errors", async () => {
      fake.enqueue({ type: "drop" });
      const error = await failure(adapter().chat(chatRequest(), context()));
      expect(error).toMatchObject({ retryable: true, type: "network_error" });
      expectNoKey(error);
    });
  });

  describe("embeddings", () => {
    it("embeds one input (embedContent; @google/genai always batches)", async () => {
      fake.enqueue({ type: "reply", embeddings: [[0.25, -0.5, 1]] });
      const vectors = await adapter().embed!(["hello"], context({ model: "text-embedding-004" }));
      if (sdk === "@google/generative-ai") {
        expect(fake.requests[0]?.path).toBe("/v1beta/models/text-embedding-004:embedContent");
        expect(fake.requests[0]?.body).toMatchObject({ content: { role: "user", parts: [{ text: "hello" }] } });
      } else {
        // @google/genai embeds through batchEmbedContents whatever the count.
        expect(fake.requests[0]?.path).toBe("/v1beta/models/text-embedding-004:batchEmbedContents");
        expect(fake.requests[0]?.body).toMatchObject({ requests: [{ content: { role: "user", parts: [{ text: "hello" }] } }] });
      }
      expect(vectors).toEqual([[0.25, -0.5, 1]]);
    });

    it("embeds many inputs with batchEmbedContents, in order, 100 per call", async () => {
      const input = Array.from({ length: 150 }, (_, index) => "x".repeat(index + 1));
      const vectors = embeddedVectors(await adapter().embed!(input, context({ model: "text-embedding-004" })));
      expect(fake.requests.map((request) => [request.action, (request.body.requests as unknown[]).length])).toEqual([
        ["batchEmbedContents", 100],
        ["batchEmbedContents", 50],
      ]);
      expect(fake.requests[0]?.body.requests).toContainEqual({ content: { role: "user", parts: [{ text: "x" }] }, model: "models/text-embedding-004" });
      expect(vectors.map((vector) => vector[0])).toEqual(input.map((text) => text.length));
      expect(await adapter().embed!([], context())).toEqual([]);
    });

    it("maps embedding errors like chat errors", async () => {
      fake.enqueue({ type: "fail", status: 503 });
      const error = await failure(adapter().embed!(["a", "b"], context({ model: "text-embedding-004" })));
      expect(error).toMatchObject({ status: 503, retryable: true });
    });
  });

  describe("adapter setup", () => {
    it("names itself gcp.gemini with the base URL's host, unless told otherwise", async () => {
      expect(adapter().name).toBe("gcp.gemini");
      expect(adapter().serverAddress).toBe("127.0.0.1");
      expect(googleOn({ apiKey: API_KEY }).serverAddress).toBe("generativelanguage.googleapis.com");
      const named = adapter({ name: "gemini-eu" });
      fake.enqueue({ type: "fail", status: 500 });
      expect(named.name).toBe("gemini-eu");
      expect(await failure(named.chat(chatRequest(), context()))).toMatchObject({ provider: "gemini-eu" });
    });

    it("sends custom headers and rejects the reserved key header at construction", async () => {
      await adapter({ headers: { "x-team": "search" } }).chat(chatRequest(), context());
      expect(fake.requests[0]?.headers["x-team"]).toBe("search");
      expect(() => adapter({ headers: { "X-Goog-Api-Key": "other" } })).toThrow(ConfigError);
    });

    onlyOn("@google/genai", "uses a given @google/genai client, with its own key and base URL", async () => {
      fake.setDefault((request) => ({ type: "reply", text: `served by ${request.model}` }));
      const client = new GoogleGenAI({ apiKey: API_KEY, httpOptions: { baseUrl: fake.url } });
      const withClient = google({ client });
      const pro = await withClient.chat(chatRequest(), context({ model: "gemini-2.5-pro" }));
      expect(pro.choices[0]?.message.content).toBe("served by gemini-2.5-pro");
      await collect(withClient.stream(chatRequest(), context()));
      expect(fake.requests.map((request) => request.model)).toEqual(["gemini-2.5-pro", MODEL]);
      expect(fake.requests.every((request) => request.headers["x-goog-api-key"] === API_KEY)).toBe(true);
    });

    onlyOn("@google/generative-ai", "uses a given @google/generative-ai client, building one SDK model object per model name", async () => {
      fake.setDefault((request) => ({ type: "reply", text: `served by ${request.model}` }));
      const client = new GoogleGenerativeAI(API_KEY);
      const spy = vi.spyOn(client, "getGenerativeModel");
      const withClient = googleOn({ client, baseURL: fake.url });
      await withClient.chat(chatRequest(), context());
      await withClient.chat(chatRequest(), context());
      await collect(withClient.stream(chatRequest(), context()));
      expect(spy).toHaveBeenCalledTimes(1);
      const pro = await withClient.chat(chatRequest(), context({ model: "gemini-2.5-pro" }));
      expect(pro.choices[0]?.message.content).toBe("served by gemini-2.5-pro");
      expect(spy).toHaveBeenCalledTimes(2);
      expect(fake.requests.map((request) => request.model)).toEqual([MODEL, MODEL, MODEL, "gemini-2.5-pro"]);
      expect(fake.requests.every((request) => request.headers["x-goog-api-key"] === API_KEY)).toBe(true);
    });
  });
});
