import { inspect } from "node:util";
import Anthropic from "@anthropic-ai/sdk";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { anthropic } from "../src/anthropic.js";
import type { ChatChunk } from "../src/core/chat-chunk.js";
import type { ChatRequest } from "../src/core/chat-request.js";
import { ChunkAccumulator } from "../src/core/chunk-accumulator.js";
import { AbortError, InvalidRequestError, ProviderError, TimeoutError } from "../src/core/errors.js";
import type { AdapterContext } from "../src/core/provider-adapter.js";
import { mapAnthropicStopReason } from "../src/providers/anthropic/map-anthropic-stop-reason.js";
import { startFakeAnthropic, type FakeAnthropic } from "./fakes/anthropic-server.js";

const API_KEY = "sk-ant-test-SECRET-4c1d9e";
const MODEL = "claude-sonnet-4-6";

let fake: FakeAnthropic;
beforeEach(async () => {
  fake = await startFakeAnthropic();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await fake.close();
});

function adapter(options: Parameters<typeof anthropic>[0] = {}) {
  return anthropic({ apiKey: API_KEY, baseURL: fake.url, ...options });
}

function context(overrides: Partial<AdapterContext> = {}): AdapterContext {
  return { model: MODEL, signal: new AbortController().signal, timeoutMs: 10_000, ...overrides };
}

function chatRequest(fields: Partial<ChatRequest> = {}): ChatRequest {
  return { model: "smart", messages: [{ role: "user", content: "Hi" }], ...fields };
}

async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    if (chunks.length > 10_000) throw new Error("stream did not end");
  }
  return chunks;
}

/** The body the fake received for the only request of the test. */
function sentBody() {
  expect(fake.requests).toHaveLength(1);
  return fake.requests[0]!.body;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

async function invalidIssues(request: ChatRequest): Promise<Array<{ path: string; message: string }>> {
  const error = await rejection(adapter().chat(request, context()));
  expect(error).toBeInstanceOf(InvalidRequestError);
  expect(fake.requests).toHaveLength(0);
  return [...(error as InvalidRequestError).issues];
}

describe("request translation", () => {
  it("sends the deployment's model and the requested output cap, never streaming for chat()", async () => {
    await adapter().chat(chatRequest({ max_tokens: 77 }), context());
    const body = sentBody();
    expect(body.model).toBe(MODEL);
    expect(body.max_tokens).toBe(77);
    expect(body.stream).toBeFalsy();
    expect(body.messages).toEqual([{ role: "user", content: [{ type: "text", text: "Hi" }] }]);
  });

  it("prefers max_completion_tokens, then the catalog's output cap, then 4096", async () => {
    const chat = adapter();
    await chat.chat(chatRequest({ max_tokens: 10, max_completion_tokens: 20 }), context());
    await chat.chat(chatRequest(), context({ model: "claude-sonnet-4-6" }));
    await chat.chat(chatRequest(), context({ model: "claude-unknown-model" }));
    expect(fake.requests.map((request) => request.body.max_tokens)).toEqual([20, 128_000, 4096]);
  });

  it("keeps a large catalog cap working unstreamed even without a finite attempt timeout", async () => {
    const response = await adapter().chat(chatRequest(), context({ timeoutMs: Number.POSITIVE_INFINITY }));
    expect(response.choices[0]!.message.content).toBe("Hello from fake Anthropic");
    expect(sentBody().max_tokens).toBe(128_000);
  });

  it("hoists system and developer messages, wherever they are, into `system` in order", async () => {
    await adapter().chat(
      chatRequest({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi" },
          { role: "developer", content: [{ type: "text", text: "Answer in " }, { type: "text", text: "French." }] },
          { role: "assistant", content: "Bonjour" },
          { role: "system", content: "Never mention the weather." },
          { role: "user", content: "Weather?" },
        ],
      }),
      context(),
    );
    const body = sentBody();
    expect(body.system).toBe("Be brief.\n\nAnswer in French.\n\nNever mention the weather.");
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Hi" }] },
      { role: "assistant", content: [{ type: "text", text: "Bonjour" }] },
      { role: "user", content: [{ type: "text", text: "Weather?" }] },
    ]);
  });

  it("merges consecutive same-role messages into one turn of several blocks", async () => {
    await adapter().chat(
      chatRequest({
        messages: [
          { role: "user", content: "one" },
          { role: "user", content: [{ type: "text", text: "two" }] },
          { role: "assistant", content: "three" },
          { role: "assistant", content: [{ type: "text", text: "four" }] },
          { role: "user", content: "five" },
        ],
      }),
      context(),
    );
    expect(sentBody().messages).toEqual([
      { role: "user", content: [{ type: "text", text: "one" }, { type: "text", text: "two" }] },
      { role: "assistant", content: [{ type: "text", text: "three" }, { type: "text", text: "four" }] },
      { role: "user", content: [{ type: "text", text: "five" }] },
    ]);
  });

  it("turns tool calls into tool_use blocks and tool messages into one user turn of tool_result blocks", async () => {
    await adapter().chat(
      chatRequest({
        messages: [
          { role: "user", content: "Weather in Paris and Rome?" },
          {
            role: "assistant",
            content: "",
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
              { id: "call_2", type: "function", function: { name: "weather", arguments: '{"city":"Rome"}' } },
              { id: "call_3", type: "function", function: { name: "clock", arguments: "" } },
            ],
          },
          { role: "tool", tool_call_id: "call_1", content: "18C" },
          { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "25C" }] },
          { role: "tool", tool_call_id: "call_3", content: "noon" },
          { role: "user", content: "Thanks" },
        ],
      }),
      context(),
    );
    expect(sentBody().messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris and Rome?" }] },
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "call_1", name: "weather", input: { city: "Paris" } },
          { type: "tool_use", id: "call_2", name: "weather", input: { city: "Rome" } },
          { type: "tool_use", id: "call_3", name: "clock", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_1", content: "18C" },
          { type: "tool_result", tool_use_id: "call_2", content: [{ type: "text", text: "25C" }] },
          { type: "tool_result", tool_use_id: "call_3", content: "noon" },
          { type: "text", text: "Thanks" },
        ],
      },
    ]);
  });

  it("places tool results before a user text that came first in the same turn", async () => {
    await adapter().chat(
      chatRequest({
        messages: [
          { role: "user", content: "Go" },
          { role: "assistant", tool_calls: [{ id: "call_1", type: "function", function: { name: "run", arguments: "{}" } }] },
          { role: "user", content: "Also, hurry" },
          { role: "tool", tool_call_id: "call_1", content: "done" },
        ],
      }),
      context(),
    );
    expect(sentBody().messages[2]).toEqual({
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "call_1", content: "done" },
        { type: "text", text: "Also, hurry" },
      ],
    });
  });

  it("rejects tool call arguments that are not a JSON object, naming the exact field", async () => {
    const issues = await invalidIssues(
      chatRequest({
        messages: [
          { role: "user", content: "Go" },
          {
            role: "assistant",
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "run", arguments: "{}" } },
              { id: "call_2", type: "function", function: { name: "run", arguments: "{not json" } },
            ],
          },
          { role: "assistant", tool_calls: [{ id: "call_3", type: "function", function: { name: "run", arguments: "[1,2]" } }] },
        ],
      }),
    );
    expect(issues.map((issue) => issue.path)).toEqual([
      "messages[1].tool_calls[1].function.arguments",
      "messages[2].tool_calls[0].function.arguments",
    ]);
    expect(issues[0]!.message).toContain("anthropic");
  });

  it("maps tools with a default object schema, and each tool_choice", async () => {
    const tools: ChatRequest["tools"] = [
      { type: "function", function: { name: "weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } } } } },
      { type: "function", function: { name: "clock", strict: true } },
    ];
    const chat = adapter();
    await chat.chat(chatRequest({ tools }), context());
    await chat.chat(chatRequest({ tools, tool_choice: "auto" }), context());
    await chat.chat(chatRequest({ tools, tool_choice: "required" }), context());
    await chat.chat(chatRequest({ tools, tool_choice: "none" }), context());
    await chat.chat(chatRequest({ tools, tool_choice: { type: "function", function: { name: "clock" } } }), context());
    await chat.chat(chatRequest({ tools, parallel_tool_calls: false }), context());
    await chat.chat(chatRequest({ tools, tool_choice: "required", parallel_tool_calls: false }), context());
    await chat.chat(chatRequest({ tools, tool_choice: "none", parallel_tool_calls: false }), context());

    expect(fake.requests[0]!.body.tools).toEqual([
      { name: "weather", description: "Weather by city", input_schema: { type: "object", properties: { city: { type: "string" } } } },
      { name: "clock", input_schema: { type: "object" }, strict: true },
    ]);
    expect(fake.requests.map((request) => request.body.tool_choice)).toEqual([
      undefined,
      { type: "auto" },
      { type: "any" },
      { type: "none" },
      { type: "tool", name: "clock" },
      { type: "auto", disable_parallel_tool_use: true },
      { type: "any", disable_parallel_tool_use: true },
      { type: "none" },
    ]);
  });

  it("treats tool_choice auto/none without tools as no-ops and rejects required or a named tool", async () => {
    await adapter().chat(chatRequest({ tool_choice: "none", parallel_tool_calls: false }), context());
    expect(sentBody().tools).toBeUndefined();
    expect(sentBody().tool_choice).toBeUndefined();
    fake.requests.length = 0;
    const issues = await invalidIssues(chatRequest({ tool_choice: "required" }));
    expect(issues).toEqual([expect.objectContaining({ path: "tool_choice" })]);
  });

  it("sends data URLs as base64 images and http(s) URLs as url images", async () => {
    await adapter().chat(
      chatRequest({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "Compare" },
              { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
              { type: "image_url", image_url: { url: "data:image/jpg;base64,/9j/4AAQ" } },
              { type: "image_url", image_url: { url: "https://example.com/cat.webp", detail: "auto" } },
            ],
          },
        ],
      }),
      context(),
    );
    expect(sentBody().messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "Compare" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
          { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "/9j/4AAQ" } },
          { type: "image", source: { type: "url", url: "https://example.com/cat.webp" } },
        ],
      },
    ]);
  });

  it("rejects images Anthropic cannot take: other media types, other schemes, a detail level", async () => {
    const issues = await invalidIssues(
      chatRequest({
        messages: [
          {
            role: "user",
            content: [
              { type: "image_url", image_url: { url: "data:image/tiff;base64,AAAA" } },
              { type: "image_url", image_url: { url: "ftp://example.com/cat.png" } },
              { type: "image_url", image_url: { url: "https://example.com/cat.png", detail: "high" } },
            ],
          },
        ],
      }),
    );
    expect(issues.map((issue) => issue.path)).toEqual([
      "messages[0].content[0].image_url.url",
      "messages[0].content[1].image_url.url",
      "messages[0].content[2].image_url.detail",
    ]);
    expect(issues[0]!.message).toContain("image/tiff");
  });

  it("maps stop, temperature, top_p and user", async () => {
    const chat = adapter();
    await chat.chat(chatRequest({ stop: "END", temperature: 0.3, top_p: 0.9, user: "u42" }), context());
    await chat.chat(chatRequest({ stop: ["A", "B"], temperature: 0 }), context());
    const [first, second] = fake.requests.map((request) => request.body);
    expect(first).toMatchObject({ stop_sequences: ["END"], temperature: 0.3, top_p: 0.9, metadata: { user_id: "u42" } });
    expect(second).toMatchObject({ stop_sequences: ["A", "B"], temperature: 0 });
    expect(second!.metadata).toBeUndefined();
    expect(second!.top_p).toBeUndefined();
  });

  it("rejects a temperature above Anthropic's maximum of 1", async () => {
    const issues = await invalidIssues(chatRequest({ temperature: 1.5 }));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe("temperature");
    expect(issues[0]!.message).toContain("anthropic");
  });

  it("rejects every field Anthropic cannot express, all at once, and lets OpenAI defaults pass", async () => {
    const issues = await invalidIssues(
      chatRequest({
        messages: [{ role: "user", content: "Hi", name: "alice" }],
        seed: 7,
        presence_penalty: 0.5,
        frequency_penalty: 1,
        metadata: { team: "a" },
      }),
    );
    expect(issues.map((issue) => issue.path).sort()).toEqual(
      ["frequency_penalty", "messages[0].name", "metadata", "presence_penalty", "seed"].sort(),
    );
    for (const issue of issues) expect(issue.message).toContain("anthropic");

    const unvalidated = { ...chatRequest(), logit_bias: { "50256": -100 } } as ChatRequest;
    expect((await invalidIssues(unvalidated)).map((issue) => issue.path)).toEqual(["logit_bias"]);

    await adapter().chat(chatRequest({ presence_penalty: 0, frequency_penalty: 0, n: 1 }), context());
    expect(fake.requests).toHaveLength(1);
  });

  it("emulates json_schema with a forced tool and returns its input as the content", async () => {
    fake.enqueue({ kind: "reply", content: [{ type: "tool_use", name: "person", input: { name: "Ada", age: 36 } }] });
    const response = await adapter().chat(
      chatRequest({
        response_format: {
          type: "json_schema",
          json_schema: { name: "person", schema: { type: "object", properties: { name: { type: "string" }, age: { type: "number" } } }, strict: true },
        },
      }),
      context(),
    );
    const body = sentBody();
    expect(body.tools).toEqual([
      {
        name: "person",
        description: expect.any(String),
        input_schema: { type: "object", properties: { name: { type: "string" }, age: { type: "number" } } },
        strict: true,
      },
    ]);
    expect(body.tool_choice).toEqual({ type: "tool", name: "person", disable_parallel_tool_use: true });
    expect(JSON.parse(response.choices[0]!.message.content!)).toEqual({ name: "Ada", age: 36 });
    expect(response.choices[0]!.message.tool_calls).toBeUndefined();
    expect(response.choices[0]!.finish_reason).toBe("stop");
  });

  it("emulates json_object with a permissive object tool", async () => {
    fake.enqueue({ kind: "reply", content: [{ type: "tool_use", name: "json_response", input: { ok: true } }] });
    const response = await adapter().chat(chatRequest({ response_format: { type: "json_object" } }), context());
    const body = sentBody();
    expect(body.tools).toEqual([
      { name: "json_response", description: expect.any(String), input_schema: { type: "object", additionalProperties: true } },
    ]);
    expect(body.tool_choice).toMatchObject({ type: "tool", name: "json_response" });
    expect(response.choices[0]!.message.content).toBe('{"ok":true}');
    expect(response.choices[0]!.finish_reason).toBe("stop");
  });

  it("rejects response_format JSON together with the caller's own tools; text format changes nothing", async () => {
    const issues = await invalidIssues(
      chatRequest({
        response_format: { type: "json_object" },
        tools: [{ type: "function", function: { name: "clock" } }],
      }),
    );
    expect(issues).toEqual([expect.objectContaining({ path: "response_format" })]);
    await adapter().chat(chatRequest({ response_format: { type: "text" } }), context());
    expect(sentBody().tools).toBeUndefined();
  });
});

describe("responses", () => {
  it("returns text as an OpenAI chat.completion", async () => {
    fake.enqueue({
      kind: "reply",
      id: "msg_123",
      model: "claude-sonnet-4-6",
      content: [{ type: "text", text: "Hello " }, { type: "text", text: "there" }],
      usage: { input_tokens: 12, output_tokens: 3 },
    });
    const before = Math.floor(Date.now() / 1000);
    const response = await adapter().chat(chatRequest(), context());
    expect(response).toMatchObject({
      id: "msg_123",
      object: "chat.completion",
      model: "claude-sonnet-4-6",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello there" }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
    });
    expect(response.created).toBeGreaterThanOrEqual(before);
    expect(response.created).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it("returns parallel tool calls with content null and finish_reason tool_calls", async () => {
    fake.enqueue({
      kind: "reply",
      content: [
        { type: "tool_use", id: "toolu_a", name: "weather", input: { city: "Paris" } },
        { type: "tool_use", id: "toolu_b", name: "weather", input: { city: "Rome", unit: "C" } },
      ],
    });
    const response = await adapter().chat(chatRequest(), context());
    const message = response.choices[0]!.message;
    expect(message.content).toBeNull();
    expect(message.tool_calls).toEqual([
      { id: "toolu_a", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
      { id: "toolu_b", type: "function", function: { name: "weather", arguments: '{"city":"Rome","unit":"C"}' } },
    ]);
    expect(response.choices[0]!.finish_reason).toBe("tool_calls");
  });

  it("keeps text next to tool calls and ignores block types it does not know", async () => {
    fake.enqueue({
      kind: "reply",
      content: [
        { type: "thinking", thinking: "Let me look." },
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "toolu_a", name: "clock", input: {} },
      ],
    });
    const response = await adapter().chat(chatRequest(), context());
    expect(response.choices[0]!.message.content).toBe("Checking.");
    expect(response.choices[0]!.message.tool_calls).toEqual([
      { id: "toolu_a", type: "function", function: { name: "clock", arguments: "{}" } },
    ]);
  });

  it("reports a truncated answer as finish_reason length", async () => {
    fake.enqueue({ kind: "reply", content: [{ type: "text", text: "Once upon" }], stopReason: "max_tokens" });
    const response = await adapter().chat(chatRequest({ max_tokens: 2 }), context());
    expect(response.choices[0]!.finish_reason).toBe("length");
  });

  it("maps every stop reason", () => {
    const table = ["end_turn", "stop_sequence", "pause_turn", "max_tokens", "model_context_window_exceeded", "tool_use", "refusal", "new_reason", null].map(
      (reason) => [reason, mapAnthropicStopReason(reason)],
    );
    expect(table).toEqual([
      ["end_turn", "stop"],
      ["stop_sequence", "stop"],
      ["pause_turn", "stop"],
      ["max_tokens", "length"],
      ["model_context_window_exceeded", "length"],
      ["tool_use", "tool_calls"],
      ["refusal", "content_filter"],
      ["new_reason", "stop"],
      [null, null],
    ]);
    expect(mapAnthropicStopReason("tool_use", { jsonMode: true })).toBe("stop");
  });

  it("counts cache reads and writes into prompt_tokens and breaks them out", async () => {
    fake.enqueue({
      kind: "reply",
      usage: { input_tokens: 20, cache_read_input_tokens: 1000, cache_creation_input_tokens: 300, output_tokens: 42 },
    });
    const response = await adapter().chat(chatRequest(), context());
    expect(response.usage).toEqual({
      prompt_tokens: 1320,
      completion_tokens: 42,
      total_tokens: 1362,
      prompt_tokens_details: { cached_tokens: 1000, cache_creation_tokens: 300 },
    });
  });

  it("reads payloads leniently: added fields pass, a missing content array is a retryable invalid_response", async () => {
    fake.enqueue(
      {
        kind: "raw",
        status: 200,
        body: JSON.stringify({
          id: "msg_new",
          type: "message",
          role: "assistant",
          model: MODEL,
          content: [{ type: "text", text: "ok", brand_new_field: 1 }, { type: "hologram", data: "?" }],
          stop_reason: "end_turn",
          usage: { input_tokens: 1, output_tokens: 1, new_counter: 9 },
          another_new_field: { nested: true },
        }),
      },
      { kind: "raw", status: 200, body: JSON.stringify({ id: "msg_bad", type: "message" }) },
    );
    const chat = adapter();
    const response = await chat.chat(chatRequest(), context());
    expect(response.choices[0]!.message.content).toBe("ok");
    const error = await rejection(chat.chat(chatRequest(), context()));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ type: "invalid_response", retryable: true });
  });
});

describe("streaming", () => {
  it("streams text: a role chunk, content deltas, a finish chunk, then usage with empty choices", async () => {
    fake.enqueue({
      kind: "reply",
      id: "msg_s1",
      content: [{ type: "text", text: "Hello streaming world" }],
      usage: { input_tokens: 25, cache_read_input_tokens: 100, cache_creation_input_tokens: 7, output_tokens: 15 },
      chunkSize: 5,
    });
    const chunks = await collect(adapter().stream(chatRequest(), context()));
    expect(sentBody().stream).toBe(true);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant" });
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe("Hello streaming world");
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content).length).toBe(5);
    const finish = chunks.filter((chunk) => chunk.choices[0]?.finish_reason);
    expect(finish.map((chunk) => chunk.choices[0]!.finish_reason)).toEqual(["stop"]);
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    // message_start said 1 output token and message_delta 15 cumulative, repeating the input side:
    // adding them up would give 16 and 264.
    expect(last.usage).toEqual({
      prompt_tokens: 132,
      completion_tokens: 15,
      total_tokens: 147,
      prompt_tokens_details: { cached_tokens: 100, cache_creation_tokens: 7 },
    });
    for (const chunk of chunks) expect(chunk).toMatchObject({ id: "msg_s1", object: "chat.completion.chunk", model: MODEL });
    // A stream read to its end is not cut short (the abort tests rely on this flag meaning something).
    expect(fake.requests[0]!.closedByClient).toBe(false);
  });

  it("streams tool calls: one index per tool_use block, id and name first, arguments in deltas", async () => {
    fake.enqueue({
      kind: "reply",
      content: [
        { type: "text", text: "Let me check." },
        { type: "tool_use", id: "toolu_a", name: "weather", input: { city: "Paris", days: 3 } },
        { type: "tool_use", id: "toolu_b", name: "clock", input: {} },
      ],
      chunkSize: 6,
    });
    const chunks = await collect(adapter().stream(chatRequest(), context()));
    const starts = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []).filter((call) => call.id);
    expect(starts).toEqual([
      { index: 0, id: "toolu_a", type: "function", function: { name: "weather", arguments: "" } },
      { index: 1, id: "toolu_b", type: "function", function: { name: "clock", arguments: "" } },
    ]);
    const argumentDeltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []).filter((call) => !call.id);
    expect(argumentDeltas.filter((call) => call.index === 0).length).toBeGreaterThan(1);

    const accumulator = new ChunkAccumulator();
    for (const chunk of chunks) accumulator.add(chunk);
    const assembled = accumulator.toResponse();
    expect(assembled.choices[0]!.message.content).toBe("Let me check.");
    expect(assembled.choices[0]!.message.tool_calls).toEqual([
      { id: "toolu_a", type: "function", function: { name: "weather", arguments: '{"city":"Paris","days":3}' } },
      { id: "toolu_b", type: "function", function: { name: "clock", arguments: "{}" } },
    ]);
    expect(assembled.choices[0]!.finish_reason).toBe("tool_calls");
  });

  it("assembles to what chat() returns for the same answer", async () => {
    const reply = {
      kind: "reply" as const,
      id: "msg_same",
      content: [
        { type: "thinking" as const, thinking: "hmm" },
        { type: "tool_use" as const, id: "toolu_x", name: "lookup", input: { q: "ünïcödé ✓", n: [1, 2] } },
      ],
      usage: { input_tokens: 9, cache_read_input_tokens: 4, output_tokens: 11 },
    };
    fake.enqueue(reply, reply);
    const chat = adapter();
    const unstreamed = await chat.chat(chatRequest(), context());
    const accumulator = new ChunkAccumulator();
    for (const chunk of await collect(chat.stream(chatRequest(), context()))) accumulator.add(chunk);
    const streamed = accumulator.toResponse();
    expect({ ...streamed, created: 0 }).toEqual({ ...unstreamed, created: 0 });
  });

  it("streams a json_schema answer as content deltas with finish_reason stop", async () => {
    fake.enqueue({ kind: "reply", content: [{ type: "tool_use", name: "person", input: { name: "Ada Lovelace", age: 36 } }], chunkSize: 3 });
    const chunks = await collect(
      adapter().stream(chatRequest({ response_format: { type: "json_schema", json_schema: { name: "person" } } }), context()),
    );
    expect(chunks.some((chunk) => chunk.choices[0]?.delta.tool_calls)).toBe(false);
    const content = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
    expect(JSON.parse(content)).toEqual({ name: "Ada Lovelace", age: 36 });
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content).length).toBeGreaterThan(3);
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe("stop");
  });

  it("ends with a retryable ProviderError when an error event arrives mid-stream", async () => {
    fake.enqueue({
      kind: "reply",
      content: [{ type: "text", text: "Partial answer that never ends" }],
      errorAfterEvents: { after: 4, type: "overloaded_error", message: "Overloaded" },
    });
    const received: ChatChunk[] = [];
    const error = await rejection(
      (async () => {
        for await (const chunk of adapter().stream(chatRequest(), context())) received.push(chunk);
      })(),
    );
    expect(received.length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ provider: "anthropic", type: "overloaded_error", retryable: true, status: undefined });
  });

  it("classifies a non-retryable error event by its type", async () => {
    fake.enqueue({
      kind: "reply",
      errorAfterEvents: { after: 2, type: "invalid_request_error", message: "Bad thing" },
    });
    const error = await rejection(collect(adapter().stream(chatRequest(), context())));
    expect(error).toMatchObject({ type: "invalid_request_error", retryable: false });
  });

  it("turns a connection dropped mid-stream into a retryable ProviderError", async () => {
    fake.enqueue({ kind: "reply", content: [{ type: "text", text: "This will be cut off" }], dropAfterEvents: 4 });
    const error = await rejection(collect(adapter().stream(chatRequest(), context())));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(true);
  });

  it("treats a stream that ends cleanly before message_stop as truncated", async () => {
    const events = [
      { type: "message_start", message: { id: "msg_t", model: MODEL, usage: { input_tokens: 1, output_tokens: 1 } } },
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "half" } },
    ];
    fake.enqueue({
      kind: "raw",
      status: 200,
      headers: { "content-type": "text/event-stream" },
      body: events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join(""),
    });
    const error = await rejection(collect(adapter().stream(chatRequest(), context())));
    expect(error).toMatchObject({ type: "stream_truncated", retryable: true });
  });
});

describe("errors", () => {
  it("maps 429 with retry-after (seconds) to a retryable ProviderError, without retrying in the SDK", async () => {
    fake.enqueue({ kind: "fail", status: 429, type: "rate_limit_error", message: "Slow down", headers: { "retry-after": "7" } });
    const error = await rejection(adapter().chat(chatRequest(), context()));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ provider: "anthropic", status: 429, type: "rate_limit_error", retryable: true, retryAfterMs: 7000 });
    expect((error as ProviderError).message).toContain("Slow down");
    expect(fake.requests).toHaveLength(1);
  });

  it("prefers retry-after-ms to retry-after", async () => {
    fake.enqueue({ kind: "fail", status: 429, type: "rate_limit_error", headers: { "retry-after": "7", "retry-after-ms": "1250" } });
    const error = await rejection(adapter().chat(chatRequest(), context()));
    expect((error as ProviderError).retryAfterMs).toBe(1250);
  });

  it.each([
    [529, "overloaded_error", true],
    [500, "api_error", true],
    [503, "some_future_error", true],
    [400, "invalid_request_error", false],
    [401, "authentication_error", false],
    [403, "permission_error", false],
    [404, "not_found_error", false],
    [413, "request_too_large", false],
  ])("maps HTTP %i %s to retryable=%s", async (status, type, retryable) => {
    fake.enqueue({ kind: "fail", status, type });
    const error = await rejection(adapter().chat(chatRequest(), context()));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status, type, retryable });
    expect(fake.requests).toHaveLength(1);
  });

  it("fails a stream before its first chunk with the HTTP error", async () => {
    fake.enqueue({ kind: "fail", status: 529, type: "overloaded_error", message: "Overloaded" });
    const error = await rejection(collect(adapter().stream(chatRequest(), context())));
    expect(error).toMatchObject({ status: 529, type: "overloaded_error", retryable: true });
  });

  it("maps an unreachable server to a retryable connection error", async () => {
    const url = fake.url;
    await fake.close();
    fake = await startFakeAnthropic();
    const error = await rejection(anthropic({ apiKey: API_KEY, baseURL: url }).chat(chatRequest(), context()));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ type: "connection_error", retryable: true, status: undefined });
  });

  it("never lets the API key reach an error, its cause chain or its inspection", async () => {
    fake.enqueue(
      { kind: "fail", status: 401, type: "authentication_error", message: `invalid x-api-key ${API_KEY}` },
      { kind: "reply", errorAfterEvents: { after: 2, type: "api_error", message: `internal ${API_KEY}` } },
    );
    const chat = adapter();
    const errors = [
      await rejection(chat.chat(chatRequest(), context())),
      await rejection(collect(chat.stream(chatRequest(), context()))),
      await rejection(anthropic({ apiKey: API_KEY, baseURL: "http://127.0.0.1:1" }).chat(chatRequest(), context())),
    ];
    expect(fake.requests[0]!.headers.authorization ?? fake.requests[0]!.headers["x-api-key"]).toContain(API_KEY);
    for (const error of errors) {
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).message).not.toContain(API_KEY);
      // Everything reachable from the error, its cause included (the server echoed the key into its body).
      expect(inspect(error, { depth: 20 })).not.toContain(API_KEY);
      expect(JSON.stringify(error)).not.toContain(API_KEY);
    }
    expect((errors[0] as ProviderError).message).toContain("[redacted]");
    expect((errors[0] as ProviderError).status).toBe(401);
  });

  it("never lets a credential header's value reach an error, its JSON or its cause chain", async () => {
    const TOKEN = "tok-SECRET-123";
    // The fake echoes the header it received into its error body, as a misbehaving proxy might.
    const echo = () => ({
      kind: "fail" as const,
      status: 403,
      type: "permission_error",
      message: `proxy refused token ${String(fake.requests.at(-1)?.headers["x-proxy-token"])}`,
    });
    fake.enqueue(echo, echo);
    const chat = adapter({ headers: { "x-proxy-token": TOKEN } });
    const errors = [
      await rejection(chat.chat(chatRequest(), context())),
      await rejection(collect(chat.stream(chatRequest(), context()))),
    ];
    expect(fake.requests[0]!.headers["x-proxy-token"]).toBe(TOKEN);
    for (const error of errors) {
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ status: 403, type: "permission_error", retryable: false });
      expect((error as ProviderError).message).toContain("proxy refused token [redacted]");
      expect(JSON.stringify(error)).not.toContain(TOKEN);
      const seen = new Set<unknown>();
      for (let current: unknown = error; current !== undefined && !seen.has(current); ) {
        seen.add(current);
        expect(inspect(current, { depth: 20 })).not.toContain(TOKEN);
        expect(String(current)).not.toContain(TOKEN);
        current = current instanceof Error ? current.cause : undefined;
      }
    }
  });

  it("keeps a proxy's 5,000-character HTML error page to a log line", async () => {
    const page = `<html><head><title>502 Bad Gateway</title></head><body>${"Bad gateway. ".repeat(400)}</body></html>`.slice(0, 5000);
    expect(page).toHaveLength(5000);
    fake.enqueue({ kind: "raw", status: 502, headers: { "content-type": "text/html" }, body: page });
    const error = await rejection(adapter().chat(chatRequest(), context()));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 502, retryable: true });
    const message = (error as ProviderError).message;
    expect(message).toMatch(/^anthropic answered HTTP 502: <html><head><title>502 Bad Gateway/);
    expect(message.length).toBeLessThanOrEqual(301);
    expect(message.endsWith("…")).toBe(true);
  });

  it("fails calls without a key clearly, reads the variable lazily, and never sends a request", async () => {
    vi.stubEnv("ANTHROPIC_API_KEY", "");
    const chat = anthropic({ baseURL: fake.url });
    const error = await rejection(chat.chat(chatRequest(), context()));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ type: "missing_api_key", retryable: false, provider: "anthropic" });
    expect((error as Error).message).toContain("ANTHROPIC_API_KEY");
    const streamError = await rejection(collect(chat.stream(chatRequest(), context())));
    expect(streamError).toMatchObject({ type: "missing_api_key" });
    expect(fake.requests).toHaveLength(0);

    vi.stubEnv("ANTHROPIC_API_KEY", "sk-ant-from-env");
    await chat.chat(chatRequest(), context());
    expect(fake.requests[0]!.headers.authorization ?? fake.requests[0]!.headers["x-api-key"]).toContain("sk-ant-from-env");
  });
});

describe("abort", () => {
  it("aborts an unstreamed call in flight and closes its HTTP request", async () => {
    fake.enqueue({ kind: "hang" });
    const controller = new AbortController();
    const pending = adapter().chat(chatRequest(), context({ signal: controller.signal }));
    await vi.waitFor(() => expect(fake.requests).toHaveLength(1), { timeout: 2000 });
    controller.abort();
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(AbortError);
    await vi.waitFor(() => expect(fake.requests[0]!.closedByClient).toBe(true), { timeout: 2000 });
  });

  it("passes the gateway's own abort reason through", async () => {
    fake.enqueue({ kind: "hang" });
    const controller = new AbortController();
    const pending = adapter().chat(chatRequest(), context({ signal: controller.signal }));
    await vi.waitFor(() => expect(fake.requests).toHaveLength(1), { timeout: 2000 });
    controller.abort(new TimeoutError(50));
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(TimeoutError);
  });

  it("aborts a stream mid-way with an error, not a quiet end", async () => {
    fake.enqueue({ kind: "reply", content: [{ type: "text", text: "an answer that stalls" }], hangAfterEvents: 4 });
    const controller = new AbortController();
    const received: ChatChunk[] = [];
    const error = await rejection(
      (async () => {
        for await (const chunk of adapter().stream(chatRequest(), context({ signal: controller.signal }))) {
          received.push(chunk);
          if (received.length === 2) controller.abort();
        }
      })(),
    );
    expect(error).toBeInstanceOf(AbortError);
    await vi.waitFor(() => expect(fake.requests[0]!.closedByClient).toBe(true), { timeout: 2000 });
  });

  it("closes the upstream request when the consumer stops early", async () => {
    fake.enqueue({ kind: "reply", content: [{ type: "text", text: "a long answer that stalls" }], hangAfterEvents: 5 });
    let count = 0;
    for await (const chunk of adapter().stream(chatRequest(), context())) {
      expect(chunk.object).toBe("chat.completion.chunk");
      if (++count === 2) break;
    }
    await vi.waitFor(() => expect(fake.requests[0]!.closedByClient).toBe(true), { timeout: 2000 });
  });
});

describe("options", () => {
  it("names itself anthropic by default and reports the host it talks to", () => {
    vi.stubEnv("ANTHROPIC_BASE_URL", "");
    expect(anthropic({ apiKey: API_KEY })).toMatchObject({ name: "anthropic", serverAddress: "api.anthropic.com" });
    expect(anthropic({ apiKey: API_KEY, baseURL: fake.url, name: "claude-eu" })).toMatchObject({
      name: "claude-eu",
      serverAddress: "127.0.0.1",
    });
  });

  it("sends extra headers and the key, and reports errors under its configured name", async () => {
    fake.enqueue({ kind: "reply" }, { kind: "fail", status: 500, type: "api_error" });
    const chat = adapter({ headers: { "x-team": "checkout" }, name: "claude-eu" });
    await chat.chat(chatRequest(), context());
    const headers = fake.requests[0]!.headers;
    expect(headers["x-team"]).toBe("checkout");
    expect(headers.authorization ?? headers["x-api-key"]).toContain(API_KEY);
    const error = await rejection(chat.chat(chatRequest(), context()));
    expect(error).toMatchObject({ provider: "claude-eu" });
  });

  it("uses a ready client as given, and still does not let it retry", async () => {
    const client = new Anthropic({ apiKey: API_KEY, baseURL: fake.url, maxRetries: 3 });
    fake.enqueue({ kind: "fail", status: 500, type: "api_error" });
    const chat = anthropic({ client, apiKey: "ignored", baseURL: "http://127.0.0.1:1" });
    expect(chat.serverAddress).toBe("127.0.0.1");
    const error = await rejection(chat.chat(chatRequest(), context()));
    expect(error).toMatchObject({ status: 500, retryable: true });
    expect(fake.requests).toHaveLength(1);
    const response = await chat.chat(chatRequest(), context());
    expect(response.choices[0]!.message.content).toBe("Hello from fake Anthropic");
  });
});
