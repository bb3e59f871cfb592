/**
 * Prompt caching and reasoning carried through tool loops, end to end: `gateway.chat()` over the
 * real Anthropic and Google SDKs against fakes speaking their wire formats. What must hold:
 * - `cache_control` on system, messages, parts and tools reaches Anthropic on the right blocks,
 *   and cache reads and writes are billed at the catalog's prices, to the exact amount;
 * - `reasoning_effort` turns on Anthropic extended thinking and Gemini thinking budgets;
 * - thinking signatures (Anthropic `thinking` / `redacted_thinking`, Gemini `thoughtSignature`)
 *   come back on the response's `reasoning_details` and, sent back on the assistant message,
 *   reach the provider again on the second turn of a tool loop, streamed or not;
 * - one provider's signatures never reach another (a fallback from Claude to Gemini).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createGateway, InvalidRequestError, type ChatBody, type Gateway } from "../src/index.js";
import { anthropic } from "../src/anthropic.js";
import { google } from "../src/google.js";
import type { ChatMessage } from "../src/core/chat-request.js";
import type { GatewayChatResponse } from "../src/core/chat-response.js";
import { lookupModel } from "../src/core/model-catalog.js";
import { startFakeAnthropic, type FakeAnthropic } from "./fakes/anthropic-server.js";
import { startFakeGemini, type FakeGemini } from "./fakes/gemini-server.js";

const CLAUDE = "claude-sonnet-4-5";
const GEMINI = "gemini-2.5-flash";

let claude: FakeAnthropic;
let gemini: FakeGemini;
let gateway: Gateway;

beforeAll(async () => {
  [claude, gemini] = await Promise.all([startFakeAnthropic(), startFakeGemini()]);
  gateway = createGateway({
    providers: {
      anthropic: anthropic({ baseURL: claude.url, apiKey: "sk-ant-test" }),
      google: google({ baseURL: gemini.url, apiKey: "AIza-test" }),
    },
    models: {
      claude: `anthropic/${CLAUDE}`,
      gemini: `google/${GEMINI}`,
      // Claude first; Gemini when Claude is down.
      agent: { deployments: [{ provider: "anthropic", model: CLAUDE }], fallbacks: ["gemini"] },
    },
    retry: { retries: 0 },
  });
});

afterAll(async () => {
  await gateway.close();
  await Promise.all([claude.close(), gemini.close()]);
});

beforeEach(() => {
  claude.requests.length = 0;
  gemini.requests.length = 0;
});

const weatherTool = {
  type: "function" as const,
  function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};

type Json = Record<string, unknown>;
const lastClaudeBody = (): Json => claude.requests.at(-1)!.body as Json;
const lastGeminiBody = (): Json => gemini.requests.at(-1)!.body;

/** Calls the gateway streamed or not; either way resolves to the whole answer. */
async function call(body: ChatBody, streamed: boolean): Promise<GatewayChatResponse> {
  if (!streamed) return gateway.chat({ ...body, stream: false });
  const stream = await gateway.chat({ ...body, stream: true });
  for await (const chunk of stream) void chunk;
  return stream.finalResponse();
}

/** The assistant turn as a client sends it back: the response message, unchanged. */
function echo(response: GatewayChatResponse): ChatMessage {
  return response.choices[0]!.message as ChatMessage;
}

describe("Anthropic prompt caching", () => {
  it("sends cache_control on the system prompt, a message's last block, a content part and a tool", async () => {
    claude.enqueue({ kind: "reply" });
    await gateway.chat({
      model: "claude",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "system", content: "A long reference manual ...", cache_control: { type: "ephemeral", ttl: "1h" } },
        {
          role: "user",
          content: [
            { type: "text", text: "Here is a document.", cache_control: { type: "ephemeral" } },
            { type: "text", text: "And my question." },
          ],
        },
        { role: "assistant", content: "Noted." },
        { role: "user", content: "Summarise it.", cache_control: { type: "ephemeral" } },
      ],
      tools: [{ ...weatherTool, cache_control: { type: "ephemeral" } }],
    });
    const body = lastClaudeBody();
    // A breakpoint in the system prompt: `system` goes as blocks, the marker on that message's block.
    expect(body.system).toEqual([
      { type: "text", text: "You are terse." },
      { type: "text", text: "A long reference manual ...", cache_control: { type: "ephemeral", ttl: "1h" } },
    ]);
    expect(body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "Here is a document.", cache_control: { type: "ephemeral" } },
          { type: "text", text: "And my question." },
        ],
      },
      { role: "assistant", content: [{ type: "text", text: "Noted." }] },
      { role: "user", content: [{ type: "text", text: "Summarise it.", cache_control: { type: "ephemeral" } }] },
    ]);
    expect((body.tools as Json[])[0]).toMatchObject({ name: "get_weather", cache_control: { type: "ephemeral" } });
  });

  it("keeps system a plain string when nothing in it is marked", async () => {
    claude.enqueue({ kind: "reply" });
    await gateway.chat({ model: "claude", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }] });
    expect(lastClaudeBody().system).toBe("Be brief.");
  });

  it("marks a tool result and an image part", async () => {
    claude.enqueue({ kind: "reply" });
    await gateway.chat({
      model: "claude",
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: "https://example.com/cat.png" }, cache_control: { type: "ephemeral" } },
            { type: "text", text: "Weather?" },
          ],
        },
        { role: "assistant", content: null, tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: "toolu_1", content: "18C and sunny", cache_control: { type: "ephemeral" } },
      ],
      tools: [weatherTool],
    });
    const messages = lastClaudeBody().messages as Json[];
    expect((messages[0]!.content as Json[])[0]).toEqual({
      type: "image",
      source: { type: "url", url: "https://example.com/cat.png" },
      cache_control: { type: "ephemeral" },
    });
    expect(messages[2]).toEqual({
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "18C and sunny", cache_control: { type: "ephemeral" } }],
    });
  });

  it.each([false, true])("costs cache reads and writes at the catalog's prices, exactly (stream: %s)", async (streamed) => {
    claude.enqueue({
      kind: "reply",
      content: [{ type: "text", text: "Done." }],
      usage: { input_tokens: 1_000, cache_read_input_tokens: 20_000, cache_creation_input_tokens: 5_000, output_tokens: 300 },
    });
    const response = await call(
      { model: "claude", messages: [{ role: "user", content: "Summarise.", cache_control: { type: "ephemeral" } }] },
      streamed,
    );
    expect(response.usage).toMatchObject({
      prompt_tokens: 26_000,
      completion_tokens: 300,
      total_tokens: 26_300,
      prompt_tokens_details: { cached_tokens: 20_000, cache_creation_tokens: 5_000 },
    });
    const price = lookupModel(CLAUDE)!.price!;
    expect(price).toMatchObject({ input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 });
    // USD per million tokens: 1,000 fresh x 3 + 20,000 read x 0.30 + 5,000 written x 3.75 + 300 out x 15.
    expect(response.gateway.costUsd).toBe(0.03225);
    expect((1_000 * 3 + 20_000 * 0.3 + 5_000 * 3.75 + 300 * 15) / 1e6).toBeCloseTo(0.03225, 12);
  });

  it.each([false, true])("bills 1-hour cache writes at 2x input and 5-minute ones at 1.25x, exactly (stream: %s)", async (streamed) => {
    claude.enqueue({
      kind: "reply",
      content: [{ type: "text", text: "Done." }],
      usage: {
        input_tokens: 1_000,
        cache_read_input_tokens: 20_000,
        cache_creation_input_tokens: 5_000,
        cache_creation: { ephemeral_5m_input_tokens: 2_000, ephemeral_1h_input_tokens: 3_000 },
        output_tokens: 300,
      },
    });
    const response = await call(
      {
        model: "claude",
        messages: [
          { role: "system", content: "A long manual ...", cache_control: { type: "ephemeral", ttl: "1h" } },
          { role: "user", content: "Summarise.", cache_control: { type: "ephemeral" } },
        ],
      },
      streamed,
    );
    expect((lastClaudeBody().system as Json[])[0]).toMatchObject({ cache_control: { type: "ephemeral", ttl: "1h" } });
    expect(response.usage?.prompt_tokens_details).toEqual({ cached_tokens: 20_000, cache_creation_tokens: 5_000, cache_write_1h_tokens: 3_000 });
    expect(lookupModel(CLAUDE)!.price).toMatchObject({ input: 3, cacheWrite: 3.75, cacheWrite1h: 6 });
    // 1,000 fresh x 3 + 20,000 read x 0.30 + 2,000 5m-written x 3.75 + 3,000 1h-written x 6 + 300 out x 15.
    expect(response.gateway.costUsd).toBe(0.039);
    expect((1_000 * 3 + 20_000 * 0.3 + 2_000 * 3.75 + 3_000 * 6 + 300 * 15) / 1e6).toBeCloseTo(0.039, 12);
  });
});

describe("Anthropic extended thinking", () => {
  it("maps reasoning_effort to a thinking budget and keeps max_tokens above it", async () => {
    claude.enqueue({ kind: "reply" }, { kind: "reply" }, { kind: "reply" });
    await gateway.chat({ model: "claude", messages: [{ role: "user", content: "Hi" }], reasoning_effort: "medium" });
    expect(lastClaudeBody()).toMatchObject({ thinking: { type: "enabled", budget_tokens: 8192 }, max_tokens: 64_000 });
    await gateway.chat({ model: "claude", messages: [{ role: "user", content: "Hi" }], reasoning_effort: "high", max_tokens: 5_000 });
    expect(lastClaudeBody()).toMatchObject({ thinking: { type: "enabled", budget_tokens: 4_999 }, max_tokens: 5_000 });
    await gateway.chat({ model: "claude", messages: [{ role: "user", content: "Hi" }], reasoning_effort: "none" });
    expect(lastClaudeBody().thinking).toBeUndefined();
  });

  it("refuses a cap too small to think in, naming reasoning_effort, and sends nothing", async () => {
    const error = await gateway
      .chat({ model: "claude", messages: [{ role: "user", content: "Hi" }], reasoning_effort: "low", max_tokens: 500 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).issues.map((issue) => issue.path)).toContain("reasoning_effort");
    expect(claude.requests).toHaveLength(0);
  });

  it.each([false, true])("a 2-turn tool loop sends the thinking blocks back with their signatures (stream: %s)", async (streamed) => {
    claude.enqueue({
      kind: "reply",
      content: [
        { type: "thinking", thinking: "The user wants Paris weather.", signature: "EqQBCkYIBxgCKkDsig==" },
        { type: "redacted_thinking", data: "EmwKAhgBEgy3redacted" },
        { type: "tool_use", id: "toolu_loop_1", name: "get_weather", input: { city: "Paris" } },
      ],
      usage: { input_tokens: 50, output_tokens: 40 },
    });
    const messages: ChatMessage[] = [{ role: "user", content: "Weather in Paris?" }];
    const first = await call({ model: "claude", messages, tools: [weatherTool], reasoning_effort: "low" }, streamed);
    const message = first.choices[0]!.message;
    expect(message.reasoning_content).toBe("The user wants Paris weather.");
    expect(message.reasoning_details).toEqual([
      { type: "reasoning.text", text: "The user wants Paris weather.", signature: "EqQBCkYIBxgCKkDsig==", format: "anthropic-claude-v1", index: 0 },
      { type: "reasoning.encrypted", data: "EmwKAhgBEgy3redacted", format: "anthropic-claude-v1", index: 1 },
    ]);
    expect(message.tool_calls?.[0]?.id).toBe("toolu_loop_1");

    claude.enqueue({ kind: "reply", content: [{ type: "text", text: "18C and sunny." }] });
    messages.push(echo(first), { role: "tool", tool_call_id: "toolu_loop_1", content: "18C, sunny" });
    const second = await call({ model: "claude", messages, tools: [weatherTool], reasoning_effort: "low" }, streamed);
    expect(second.choices[0]!.message.content).toBe("18C and sunny.");

    const sent = lastClaudeBody().messages as Json[];
    expect(sent[1]).toEqual({
      role: "assistant",
      content: [
        { type: "thinking", thinking: "The user wants Paris weather.", signature: "EqQBCkYIBxgCKkDsig==" },
        { type: "redacted_thinking", data: "EmwKAhgBEgy3redacted" },
        { type: "tool_use", id: "toolu_loop_1", name: "get_weather", input: { city: "Paris" } },
      ],
    });
  });
});

describe("Gemini thinking and thought signatures", () => {
  it("maps reasoning_effort to a thinking budget with thought summaries, and none to no thinking", async () => {
    await gateway.chat({ model: "gemini", messages: [{ role: "user", content: "Hi" }], reasoning_effort: "medium" });
    expect((lastGeminiBody().generationConfig as Json).thinkingConfig).toEqual({ thinkingBudget: 8192, includeThoughts: true });
    await gateway.chat({ model: "gemini", messages: [{ role: "user", content: "Hi" }], reasoning_effort: "none" });
    expect((lastGeminiBody().generationConfig as Json).thinkingConfig).toEqual({ thinkingBudget: 0 });
  });

  it.each([false, true])("a 2-turn tool loop sends each thoughtSignature back on its function call (stream: %s)", async (streamed) => {
    gemini.enqueue({
      type: "reply",
      parts: [
        { text: "Two cities, two calls.", thought: true },
        { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "CiQB0e2Kb-paris" },
        { functionCall: { name: "get_weather", args: { city: "Rome" } } },
      ],
      finishReason: "STOP",
    });
    const messages: ChatMessage[] = [{ role: "user", content: "Weather in Paris and Rome?" }];
    const first = await call({ model: "gemini", messages, tools: [weatherTool], reasoning_effort: "low" }, streamed);
    const message = first.choices[0]!.message;
    const [paris, rome] = message.tool_calls!;
    expect(message.reasoning_content).toBe("Two cities, two calls.");
    expect(message.reasoning_details).toEqual([{ type: "reasoning.encrypted", data: "CiQB0e2Kb-paris", format: "google-gemini-v1", id: paris!.id }]);

    gemini.enqueue({ type: "reply", text: "Both mild." });
    messages.push(
      echo(first),
      { role: "tool", tool_call_id: paris!.id, content: '{"temp":18}' },
      { role: "tool", tool_call_id: rome!.id, content: '{"temp":21}' },
    );
    const second = await call({ model: "gemini", messages, tools: [weatherTool], reasoning_effort: "low" }, streamed);
    expect(second.choices[0]!.message.content).toBe("Both mild.");

    const contents = lastGeminiBody().contents as Json[];
    expect(contents[1]).toEqual({
      role: "model",
      parts: [
        { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "CiQB0e2Kb-paris" },
        { functionCall: { name: "get_weather", args: { city: "Rome" } } },
      ],
    });
  });

  it("a signature Gemini sent on a text part goes back on the turn's first part", async () => {
    gemini.enqueue({ type: "reply", parts: [{ text: "Hello.", thoughtSignature: "Cl8Btext" }] });
    const first = await gateway.chat({ model: "gemini", messages: [{ role: "user", content: "Hi" }] });
    expect(first.choices[0]!.message.reasoning_details).toEqual([{ type: "reasoning.encrypted", data: "Cl8Btext", format: "google-gemini-v1" }]);
    await gateway.chat({ model: "gemini", messages: [{ role: "user", content: "Hi" }, echo(first), { role: "user", content: "And?" }] });
    expect((lastGeminiBody().contents as Json[])[1]).toEqual({ role: "model", parts: [{ text: "Hello.", thoughtSignature: "Cl8Btext" }] });
  });

  it("counts toolUsePromptTokenCount as input", async () => {
    gemini.enqueue({
      type: "reply",
      text: "Searched.",
      usage: { promptTokenCount: 100, toolUsePromptTokenCount: 40, candidatesTokenCount: 10, totalTokenCount: 150 },
    });
    const response = await gateway.chat({ model: "gemini", messages: [{ role: "user", content: "Search" }] });
    expect(response.usage).toMatchObject({ prompt_tokens: 140, completion_tokens: 10, total_tokens: 150 });
  });
});

describe("signatures stay with their provider", () => {
  it("a fallback from Claude to Gemini sends no Anthropic signature to Google", async () => {
    claude.enqueue({ kind: "fail", status: 529, type: "overloaded_error" });
    gemini.enqueue({ type: "reply", text: "From Gemini." });
    const response = await gateway.chat({
      model: "agent",
      messages: [
        { role: "user", content: "Weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "toolu_x", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }],
          reasoning_details: [
            { type: "reasoning.text", text: "Think.", signature: "anthropic-sig", format: "anthropic-claude-v1", index: 0 },
            { type: "reasoning.encrypted", data: "gemini-sig", format: "google-gemini-v1", id: "toolu_x" },
          ],
        },
        { role: "tool", tool_call_id: "toolu_x", content: "cold" },
      ],
      tools: [weatherTool],
    });
    expect(response.gateway.provider).toBe("google");
    // Claude got its own thinking block and not Gemini's signature.
    expect((claude.requests[0]!.body as Json).messages).toContainEqual({
      role: "assistant",
      content: [
        { type: "thinking", thinking: "Think.", signature: "anthropic-sig" },
        { type: "tool_use", id: "toolu_x", name: "get_weather", input: { city: "Oslo" } },
      ],
    });
    const wire = JSON.stringify(lastGeminiBody());
    expect(wire).not.toContain("anthropic-sig");
    expect((lastGeminiBody().contents as Json[])[1]).toEqual({
      role: "model",
      parts: [{ functionCall: { name: "get_weather", args: { city: "Oslo" } }, thoughtSignature: "gemini-sig" }],
    });
  });
});
