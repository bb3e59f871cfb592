import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatChunk } from "../src/core/chat-chunk.js";
import { createGateway } from "../src/index.js";
import { openai } from "../src/openai.js";
import { startFakeCompatible, type CompatibleReply, type FakeCompatible } from "./fakes/compatible-server.js";
import {
  MOONSHOT_USAGE,
  PERPLEXITY_CITATIONS,
  PERPLEXITY_SEARCH_RESULTS,
  XAI_USAGE,
  deepseekReasonerEvents,
  geminiOpenAIToolCallEvents,
  geminiOpenAIToolCallJson,
  groqReasoningEvents,
  mistralThinkingEvents,
  mistralThinkingJson,
  moonshotCachedEvents,
  moonshotCachedJson,
  noUsageEvents,
  openaiFullEvents,
  openaiFullJson,
  perplexityEvents,
  perplexityJson,
  xaiReasoningEvents,
  xaiReasoningJson,
} from "./fakes/vendor-payloads.js";

/**
 * `modelgate/openai` pointed at OpenAI-compatible vendors as they answer, through the real `openai`
 * SDK and `gateway.chat()`, every stream split at random byte offsets (three seeds each).
 */
let vendor: FakeCompatible;
let backup: FakeCompatible;

beforeAll(async () => {
  [vendor, backup] = await Promise.all([startFakeCompatible(), startFakeCompatible()]);
});
afterAll(async () => {
  await Promise.all([vendor.close(), backup.close()]);
});

const messages = [{ role: "user" as const, content: "Go" }];
const SEEDS = [1, 7, 4242];

const PRICES = {
  "grok-3-mini": { input: 0.3, output: 0.5, cachedInput: 0.075 },
  "gemini-2.5-flash": { input: 0.3, output: 2.5 },
  "deepseek-reasoner": { input: 0.28, output: 0.42, cachedInput: 0.028 },
  llama: { input: 1, output: 1 },
  "kimi-k2.6": { input: 0.95, output: 4, cachedInput: 0.16 },
  sonar: { input: 1, output: 1 },
  "gpt-4o-audio-preview": { input: 2.5, output: 10, cachedInput: 1.25, cacheWrite: 3, audioInput: 40, audioOutput: 80 },
};

function gateway() {
  return createGateway({
    providers: { vendor: openai({ baseURL: vendor.url, apiKey: "unused", name: "vendor" }) },
    prices: PRICES,
    retry: { retries: 0 },
  });
}

async function ask(model: string, reply: CompatibleReply) {
  vendor.enqueue(reply);
  return gateway().chat({ model: `vendor/${model}`, messages });
}

async function stream(model: string, reply: CompatibleReply) {
  vendor.enqueue(reply);
  const chat = await gateway().chat({ model: `vendor/${model}`, messages, stream: true });
  const chunks: ChatChunk[] = [];
  for await (const chunk of chat) chunks.push(chunk);
  return { chunks, final: await chat.finalResponse() };
}

/** The shape OpenAI streams: one finish chunk without usage, then one `choices: []` chunk with it. */
function expectOpenAIStreamShape(chunks: ChatChunk[]): void {
  const finishes = chunks.filter((chunk) => chunk.choices.some((choice) => choice.finish_reason !== null));
  expect(finishes).toHaveLength(1);
  expect(finishes[0]?.usage).toBeUndefined();
  const last = chunks.at(-1);
  expect(last?.choices).toEqual([]);
  expect(last?.usage).toBeDefined();
  expect(chunks.filter((chunk) => chunk.usage)).toHaveLength(1);
}

describe("Mistral: content as an array of typed chunks", () => {
  it("joins the text chunks and keeps thinking apart (JSON)", async () => {
    const res = await ask("magistral-small-2509", { json: mistralThinkingJson() });
    expect(res.choices[0]?.message.content).toBe("3 × 3 = 9");
    expect(res.choices[0]?.message.reasoning_content).toBe("Three times three is nine.");
    expect(res.usage).toEqual({ prompt_tokens: 9, completion_tokens: 31, total_tokens: 40 });
  });

  it.each(SEEDS)("joins streamed chunk arrays, and sends the finish chunk's usage as its own chunk (seed %i)", async (seed) => {
    const { chunks, final } = await stream("magistral-small-2509", { events: mistralThinkingEvents(), seed });
    expectOpenAIStreamShape(chunks);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.reasoning_content).filter(Boolean)).toEqual(["Three times ", "three is nine."]);
    expect(final.choices[0]?.message.content).toBe("3 × 3 = 9");
    expect(final.choices[0]?.message.reasoning_content).toBe("Three times three is nine.");
    expect(final.usage?.total_tokens).toBe(40);
  });
});

describe("xAI: reasoning counted outside completion_tokens", () => {
  // 12 uncached + 8 cached prompt tokens, 3 + 500 reasoning output tokens, at grok-3-mini's prices.
  const expectedUsd = (12 * 0.3 + 8 * 0.075 + 503 * 0.5) / 1e6;

  it("moves reasoning into completion_tokens, so total = prompt + completion and reasoning is billed once (JSON)", async () => {
    const res = await ask("grok-3-mini", { json: xaiReasoningJson() });
    expect(res.usage).toEqual({
      prompt_tokens: 20,
      completion_tokens: 503,
      total_tokens: 523,
      prompt_tokens_details: { cached_tokens: 8, audio_tokens: 0, text_tokens: 20, image_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 500, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
    expect(res.gateway.costUsd).toBeCloseTo(expectedUsd, 12);
    expect(res.choices[0]?.message.reasoning_content).toBe("The user wants one colour. Blue.");
    expect(res.system_fingerprint).toBe("fp_grok_fake");
  });

  it.each(SEEDS)("does the same streamed (seed %i)", async (seed) => {
    const { chunks, final } = await stream("grok-3-mini", { events: xaiReasoningEvents(), seed });
    expectOpenAIStreamShape(chunks);
    expect(final.usage?.completion_tokens).toBe(XAI_USAGE.completion_tokens + XAI_USAGE.completion_tokens_details.reasoning_tokens);
    expect(final.usage?.total_tokens).toBe(final.usage!.prompt_tokens + final.usage!.completion_tokens);
    expect(final.gateway.costUsd).toBeCloseTo(expectedUsd, 12);
    expect(final.choices[0]?.message.reasoning_content).toBe("The user wants one colour.");
  });

  it("leaves usage that already adds up alone (OpenAI's own: reasoning inside completion)", async () => {
    const res = await ask("deepseek-reasoner", {
      json: { ...xaiReasoningJson(), usage: { prompt_tokens: 20, completion_tokens: 503, total_tokens: 523, completion_tokens_details: { reasoning_tokens: 500 } } },
    });
    expect(res.usage?.completion_tokens).toBe(503);
  });
});

describe("Groq and DeepSeek: reasoning fields, usage on the finish chunk", () => {
  it.each(SEEDS)("reads Groq's delta.reasoning as reasoning_content (seed %i)", async (seed) => {
    const { chunks, final } = await stream("qwen/qwen3-32b", { events: groqReasoningEvents(), seed });
    expectOpenAIStreamShape(chunks);
    expect(final.choices[0]?.message.reasoning_content).toBe("Short answer.");
    expect(final.choices[0]?.message.content).toBe("Yes.");
    expect(final.usage).toEqual({ prompt_tokens: 14, completion_tokens: 30, total_tokens: 44, completion_tokens_details: { reasoning_tokens: 25 } });
  });

  it.each(SEEDS)("reads DeepSeek's reasoning_content deltas and costs its cache hits (seed %i)", async (seed) => {
    const { chunks, final } = await stream("deepseek-reasoner", { events: deepseekReasonerEvents(), seed });
    expectOpenAIStreamShape(chunks);
    expect(final.choices[0]?.message.reasoning_content).toBe("Add them.");
    expect(final.choices[0]?.message.content).toBe("5");
    expect(final.usage?.prompt_tokens_details?.cached_tokens).toBe(64);
    expect(final.gateway.costUsd).toBeCloseTo((64 * 0.028 + 12 * 0.42) / 1e6, 12);
  });

  it("ends a stream that carries no usage at all without inventing a usage chunk; the gateway estimates the cost", async () => {
    const { chunks, final } = await stream("llama", { events: noUsageEvents() });
    expect(chunks.some((chunk) => chunk.choices.length === 0)).toBe(false);
    expect(final.choices[0]?.message.content).toBe("Hi");
    expect(final.choices[0]?.finish_reason).toBe("stop");
    expect(final.gateway.costUsd).toBeGreaterThan(0);
  });
});

describe("openai 7.x response fields: metadata, moderation, text and image token details", () => {
  const moderation = {
    input: {
      type: "moderation_results",
      model: "omni-moderation-latest",
      results: [
        {
          type: "moderation_result",
          model: "omni-moderation-latest",
          flagged: false,
          categories: { violence: false },
          category_scores: { violence: 0.0001 },
          category_applied_input_types: { violence: ["text"] },
        },
      ],
    },
    output: { type: "error", code: "moderation_unavailable", message: "The moderation model did not answer." },
  };
  const usage = {
    prompt_tokens: 30,
    completion_tokens: 5,
    total_tokens: 35,
    prompt_tokens_details: { cached_tokens: 0, text_tokens: 10, image_tokens: 20 },
    completion_tokens_details: { reasoning_tokens: 0, text_tokens: 5 },
  };

  it("passes them through (JSON), costing image tokens as input once", async () => {
    const res = await ask("llama", {
      json: {
        id: "chatcmpl-7x",
        object: "chat.completion",
        created: 1_767_000_000,
        model: "llama",
        choices: [{ index: 0, message: { role: "assistant", content: "ok", refusal: null }, finish_reason: "stop", logprobs: null }],
        usage,
        metadata: { team: "search" },
        moderation,
      },
    });
    expect(res.metadata).toEqual({ team: "search" });
    expect(res.moderation).toEqual(moderation);
    expect(res.usage).toEqual(usage);
    expect(res.gateway.costUsd).toBeCloseTo(35 / 1e6, 12);
  });

  it.each(SEEDS)("streamed: the chunk's moderation reaches finalResponse (seed %i)", async (seed) => {
    const base = { id: "chatcmpl-7s", object: "chat.completion.chunk", created: 1_767_000_000, model: "llama" };
    const { final } = await stream("llama", {
      seed,
      events: [
        { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "ok" }, finish_reason: null }], obfuscation: "xyz" },
        { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], moderation },
        { ...base, choices: [], usage },
      ],
    });
    expect(final.moderation).toEqual(moderation);
    expect(final.usage?.prompt_tokens_details).toEqual(usage.prompt_tokens_details);
  });
});

describe("Moonshot: cache reads at the top level of usage", () => {
  // 20 uncached prompt tokens at input, 80 cached at the cached price, 10 output tokens.
  const expectedUsd = (20 * 0.95 + 80 * 0.16 + 10 * 4) / 1e6;

  it("reads usage.cached_tokens as prompt_tokens_details.cached_tokens and costs them at the cached price (JSON)", async () => {
    const res = await ask("kimi-k2.6", { json: moonshotCachedJson() });
    expect(res.usage).toEqual({ prompt_tokens: 100, completion_tokens: 10, total_tokens: 110, prompt_tokens_details: { cached_tokens: 80 } });
    expect(res.gateway.costUsd).toBeCloseTo(expectedUsd, 12);
  });

  it.each(SEEDS)("does the same from the finish chunk's usage (seed %i)", async (seed) => {
    const { chunks, final } = await stream("kimi-k2.6", { events: moonshotCachedEvents(), seed });
    expectOpenAIStreamShape(chunks);
    expect(final.choices[0]?.message.content).toBe("Hello, world!");
    expect(final.usage?.prompt_tokens).toBe(MOONSHOT_USAGE.prompt_tokens);
    expect(final.usage?.prompt_tokens_details?.cached_tokens).toBe(MOONSHOT_USAGE.cached_tokens);
    expect(final.gateway.costUsd).toBeCloseTo(expectedUsd, 12);
  });
});

describe("Perplexity: citations and search_results beside choices", () => {
  it("passes both lists through on the response (JSON)", async () => {
    const res = await ask("sonar", { json: perplexityJson() });
    expect(res.citations).toEqual(PERPLEXITY_CITATIONS);
    expect(res.search_results).toEqual(PERPLEXITY_SEARCH_RESULTS);
    expect(res.choices[0]?.message.content).toBe("Everest is the highest.[1] K2 is second.[2]");
    expect(res.usage).toEqual({ prompt_tokens: 10, completion_tokens: 12, total_tokens: 22 });
  });

  it.each(SEEDS)("passes them through on the chunks, and finalResponse keeps the last lists sent (seed %i)", async (seed) => {
    const { chunks, final } = await stream("sonar", { events: perplexityEvents(), seed });
    expectOpenAIStreamShape(chunks);
    const withChoices = chunks.filter((chunk) => chunk.choices.length > 0);
    expect(withChoices.every((chunk) => chunk.citations?.length === 2 && chunk.search_results?.length === 2)).toBe(true);
    expect(final.citations).toEqual(PERPLEXITY_CITATIONS);
    expect(final.search_results).toEqual(PERPLEXITY_SEARCH_RESULTS);
    expect(final.choices[0]?.message.content).toBe("Everest is the highest.[1]");
    expect(final.usage).toEqual({ prompt_tokens: 10, completion_tokens: 7, total_tokens: 17 });
  });

  it("keeps them on a cache hit, plain and streamed", async () => {
    const cached = createGateway({
      providers: { vendor: openai({ baseURL: vendor.url, apiKey: "unused", name: "vendor" }) },
      prices: PRICES,
      retry: { retries: 0 },
      cache: {},
    });
    try {
      vendor.enqueue({ json: perplexityJson() });
      await cached.chat({ model: "vendor/sonar", messages });
      const hit = await cached.chat({ model: "vendor/sonar", messages });
      expect(hit.gateway.cache).toBe("exact");
      expect(hit.citations).toEqual(PERPLEXITY_CITATIONS);
      const replay = await cached.chat({ model: "vendor/sonar", messages, stream: true });
      for await (const _chunk of replay) {
        // drained
      }
      expect((await replay.finalResponse()).search_results).toEqual(PERPLEXITY_SEARCH_RESULTS);
    } finally {
      await cached.close();
    }
  });
});

describe("Gemini's OpenAI endpoint: tool calls with id \"\"", () => {
  it("gives each call a stable, distinct id (JSON), the same for the same response", async () => {
    const first = await ask("gemini-2.5-flash", { json: geminiOpenAIToolCallJson() });
    const again = await ask("gemini-2.5-flash", { json: geminiOpenAIToolCallJson() });
    const ids = first.choices[0]?.message.tool_calls?.map((call) => call.id) ?? [];
    expect(ids).toHaveLength(2);
    expect(ids.every((id) => /^call_[0-9a-f]{24}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(2);
    expect(again.choices[0]?.message.tool_calls?.map((call) => call.id)).toEqual(ids);
    // Reasoning outside completion here too: 20 + 80 = 100 output tokens.
    expect(first.usage?.completion_tokens).toBe(100);
    expect(first.gateway.costUsd).toBeCloseTo((50 * 0.3 + 100 * 2.5) / 1e6, 12);
  });

  it.each(SEEDS)("puts the id on the delta that starts each call, and finalResponse keeps it (seed %i)", async (seed) => {
    const { chunks, final } = await stream("gemini-2.5-flash", { events: geminiOpenAIToolCallEvents(), seed });
    const starts = chunks.flatMap((chunk) => chunk.choices.flatMap((choice) => choice.delta.tool_calls ?? []));
    expect(starts.map((call) => [call.index, call.type, call.function?.name])).toEqual([
      [0, "function", "weather"],
      [1, "function", "weather"],
    ]);
    const ids = final.choices[0]?.message.tool_calls?.map((call) => call.id);
    expect(ids).toEqual(starts.map((call) => call.id));
    expect(new Set(ids).size).toBe(2);
    expect(ids?.every((id) => id.startsWith("call_"))).toBe(true);
  });
});

describe("OpenAI's full response shape passes through", () => {
  // 650 text + 200 cached + 100 cache-written + 50 audio prompt tokens; 240 text + 60 audio output tokens.
  const expectedUsd = (650 * 2.5 + 200 * 1.25 + 100 * 3 + 50 * 40 + 240 * 10 + 60 * 80) / 1e6;

  it("keeps logprobs, audio, annotations, service_tier, system_fingerprint and every usage detail (JSON)", async () => {
    const wire = openaiFullJson();
    const res = await ask("gpt-4o-audio-preview", { json: wire });
    const wireChoice = (wire.choices as Record<string, unknown>[])[0]!;
    const wireMessage = wireChoice.message as Record<string, unknown>;
    expect(res.choices[0]?.logprobs).toEqual(wireChoice.logprobs);
    expect(res.choices[0]?.message.audio).toEqual(wireMessage.audio);
    expect(res.choices[0]?.message.annotations).toEqual(wireMessage.annotations);
    expect(res.service_tier).toBe("default");
    expect(res.system_fingerprint).toBe("fp_full");
    expect(res.usage).toEqual(wire.usage);
    expect(res.gateway.costUsd).toBeCloseTo(expectedUsd, 12);
  });

  it.each(SEEDS)("assembles the same fields from a stream in finalResponse (seed %i)", async (seed) => {
    const { chunks, final } = await stream("gpt-4o-audio-preview", { events: openaiFullEvents(), seed });
    expectOpenAIStreamShape(chunks);
    const wire = openaiFullJson();
    const wireChoice = (wire.choices as Record<string, unknown>[])[0]!;
    const wireMessage = wireChoice.message as Record<string, unknown>;
    expect(final.choices[0]?.logprobs).toEqual(wireChoice.logprobs);
    expect(final.choices[0]?.message.audio).toEqual(wireMessage.audio);
    expect(final.service_tier).toBe("default");
    expect(final.usage).toEqual(wire.usage);
    expect(final.gateway.costUsd).toBeCloseTo(expectedUsd, 12);
  });
});

describe("an answer the adapter cannot read", () => {
  it("is not retried on the same deployment, and falls back to another", async () => {
    vendor.enqueue({ json: { id: "bad", object: "chat.completion", created: 1, model: "x", choices: [{ index: 0, message: { role: "assistant", content: 42 }, finish_reason: "stop" }] } });
    backup.enqueue({ json: { ...xaiReasoningJson(), choices: [{ index: 0, message: { role: "assistant", content: "from backup" }, finish_reason: "stop" }] } });
    const before = vendor.bodies.length;
    const gw = createGateway({
      providers: {
        vendor: openai({ baseURL: vendor.url, apiKey: "unused", name: "vendor" }),
        backup: openai({ baseURL: backup.url, apiKey: "unused", name: "backup" }),
      },
      models: { m: { deployments: ["vendor/x", "backup/y"] } },
      retry: { retries: 3, minDelayMs: 1, maxDelayMs: 5 },
    });
    const res = await gw.chat({ model: "m", messages });
    expect(res.choices[0]?.message.content).toBe("from backup");
    expect(vendor.bodies.length - before).toBe(1);
    expect(res.gateway.attempts.map((attempt) => [attempt.deployment, attempt.errorCode])).toEqual([
      ["vendor/x", "provider_error"],
      ["backup/y", undefined],
    ]);
  });

  it("with nowhere to fall back, fails at once with a non-retryable invalid_response", async () => {
    vendor.enqueue({ json: { id: "bad", choices: [{ index: 0, message: { content: { nested: true } } }] } });
    const before = vendor.bodies.length;
    const gw = createGateway({
      providers: { vendor: openai({ baseURL: vendor.url, apiKey: "unused", name: "vendor" }) },
      retry: { retries: 3, minDelayMs: 1, maxDelayMs: 5 },
    });
    await expect(gw.chat({ model: "vendor/x", messages })).rejects.toMatchObject({
      code: "provider_error",
      type: "invalid_response",
      retryable: false,
    });
    expect(vendor.bodies.length - before).toBe(1);
  });
});
