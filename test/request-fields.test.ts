import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { InvalidRequestError, createGateway, type ChatBody } from "../src/index.js";
import { openai } from "../src/openai.js";
import { anthropic } from "../src/anthropic.js";
import { google } from "../src/google.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";
import { startFakeAnthropic, type FakeAnthropic } from "./fakes/anthropic-server.js";
import { startFakeGemini, type FakeGemini } from "./fakes/gemini-server.js";

/**
 * The whole chat-completions request body: OpenAI gets every documented field as sent;
 * Anthropic and Gemini map what they can express and name the field they cannot serve,
 * so the router can try a deployment that can. Real SDKs against the wire-faithful fakes.
 */
let openaiFake: FakeOpenAI;
let anthropicFake: FakeAnthropic;
let geminiFake: FakeGemini;

beforeAll(async () => {
  [openaiFake, anthropicFake, geminiFake] = await Promise.all([startFakeOpenAI(), startFakeAnthropic(), startFakeGemini()]);
});
afterAll(async () => {
  await Promise.all([openaiFake.close(), anthropicFake.close(), geminiFake.close()]);
});
beforeEach(() => {
  openaiFake.reset();
  openaiFake.setDefault({});
  anthropicFake.requests.length = 0;
  anthropicFake.setDefault({ kind: "reply" });
  geminiFake.requests.length = 0;
  geminiFake.setDefault({ type: "reply", text: "Hello from fake Gemini" });
});

type Body = Omit<ChatBody, "stream">;
const messages: Body["messages"] = [{ role: "user", content: "Hello there" }];

function gateway(extra: Record<string, unknown> = {}) {
  return createGateway({
    providers: {
      openai: openai({ baseURL: openaiFake.url, apiKey: "sk-test-request-fields" }),
      anthropic: anthropic({ baseURL: anthropicFake.url, apiKey: "sk-ant-test-request-fields" }),
      google: google({ baseURL: geminiFake.url, apiKey: "AIza-test-request-fields" }),
    },
    models: {
      gpt: "openai/gpt-4o",
      claude: "anthropic/claude-test",
      gemini: "google/gemini-2.5-flash",
      "claude-then-gpt": { deployments: ["anthropic/claude-test"], fallbacks: ["gpt"] },
    },
    prices: {
      "gpt-4o": { input: 1, output: 1 },
      "claude-test": { input: 1, output: 1 },
      "gemini-2.5-flash": { input: 1, output: 1 },
    },
    retry: { retries: 0 },
    ...extra,
  });
}

async function refusal(promise: Promise<unknown>): Promise<InvalidRequestError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InvalidRequestError);
  return error as InvalidRequestError;
}

/** Every field OpenAI documents beyond the basics, with a value OpenAI would accept. */
const openAIFields = {
  n: 2,
  logprobs: true,
  top_logprobs: 3,
  logit_bias: { "50256": -100 },
  store: true,
  metadata: { team: "search" },
  service_tier: "flex",
  prediction: { type: "content", content: "Hello" },
  modalities: ["text", "audio"],
  audio: { format: "wav", voice: "alloy" },
  reasoning_effort: "xhigh",
  verbosity: "low",
  web_search_options: { search_context_size: "low", user_location: { type: "approximate", approximate: { country: "FR" } } },
  prompt_cache_key: "thread-42",
  prompt_cache_retention: "24h",
  safety_identifier: "user-hash-1",
  parallel_tool_calls: false,
  max_tokens: 64,
  user: "u1",
} as const satisfies Partial<Body>;

describe("OpenAI receives the whole body", () => {
  it("sends every documented field as given, message names and audio/file parts included", async () => {
    const userContent = [
      { type: "text", text: "Listen and read" },
      { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
      { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } },
    ] as const;
    await gateway().chat({
      model: "gpt",
      messages: [
        { role: "developer", content: "Be brief", name: "ops" },
        { role: "user", content: [...userContent], name: "alice" },
      ],
      ...openAIFields,
    });
    const body = openaiFake.lastRequest!.body;
    expect(body).toEqual({
      model: "gpt-4o",
      messages: [
        { role: "developer", content: "Be brief", name: "ops" },
        { role: "user", content: userContent, name: "alice" },
      ],
      ...openAIFields,
    });
  });

  it("sends the deprecated functions / function_call fields and function messages OpenAI still accepts", async () => {
    await gateway().chat({
      model: "gpt",
      messages: [
        { role: "user", content: "Weather?" },
        { role: "assistant", content: null, function_call: { name: "weather", arguments: "{}" } },
        { role: "function", name: "weather", content: "sunny" },
      ],
      functions: [{ name: "weather", parameters: { type: "object", properties: {} } }],
      function_call: "auto",
    });
    const body = openaiFake.lastRequest!.body;
    expect(body.functions).toEqual([{ name: "weather", parameters: { type: "object", properties: {} } }]);
    expect(body.function_call).toBe("auto");
    expect(body.messages).toEqual([
      { role: "user", content: "Weather?" },
      { role: "assistant", content: null, function_call: { name: "weather", arguments: "{}" } },
      { role: "function", name: "weather", content: "sunny" },
    ]);
  });

  it("strips the gateway's extensions (cache_control, reasoning carried back) and merges extra_body verbatim", async () => {
    await gateway().chat({
      model: "gpt",
      messages: [
        { role: "system", content: "sys", cache_control: { type: "ephemeral" } },
        { role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral", ttl: "1h" } }] },
        {
          role: "assistant",
          content: "hello",
          reasoning_content: "thought",
          reasoning_details: [{ type: "reasoning.text", text: "thought", signature: "sig", format: "anthropic-claude-v1" }],
        },
        { role: "user", content: "again" },
      ],
      tools: [{ type: "function", function: { name: "f" }, cache_control: { type: "ephemeral" } }],
      extra_body: { guided_json: { type: "object" }, top_k: 5 },
    });
    const body = openaiFake.lastRequest!.body;
    expect(body.messages).toEqual([
      { role: "system", content: "sys" },
      { role: "user", content: [{ type: "text", text: "hi" }] },
      { role: "assistant", content: "hello" },
      { role: "user", content: "again" },
    ]);
    expect(body.tools).toEqual([{ type: "function", function: { name: "f" } }]);
    expect(body.guided_json).toEqual({ type: "object" });
    expect(body.top_k).toBe(5);
    expect(body).not.toHaveProperty("extra_body");
  });

  it("refuses an extra_body key that is a known field, sending nothing", async () => {
    const error = await refusal(gateway().chat({ model: "gpt", messages, extra_body: { temperature: 3, seed: 1 } }));
    expect(error.issues.map((issue) => issue.path)).toEqual(["extra_body.temperature", "extra_body.seed"]);
    expect(error.message).toContain("set it at the top level");
    expect(openaiFake.requestCount).toBe(0);
  });

  it("still refuses a typo'd field, and checks the new fields' values", async () => {
    const typo = await refusal(gateway().chat({ model: "gpt", messages, logprob: true } as unknown as Body));
    expect(typo.message).toContain("logprob");
    expect(typo.message).toContain("not a known field");

    const bad = await refusal(
      gateway().chat({
        model: "gpt",
        messages,
        top_logprobs: 21,
        n: 0,
        service_tier: "turbo",
        reasoning_effort: "ultra",
        logit_bias: { "50256": 101 },
      } as unknown as Body),
    );
    expect(bad.issues.map((issue) => issue.path).sort()).toEqual(
      ["logit_bias.50256", "n", "reasoning_effort", "service_tier", "top_logprobs"].sort(),
    );
    expect(openaiFake.requestCount).toBe(0);
  });

  it("serves n=2 natively: one request, two choices, both billed", async () => {
    const one = await gateway().chat({ model: "gpt", messages });
    const two = await gateway().chat({ model: "gpt", messages, n: 2 });
    expect(openaiFake.requests.map((request) => request.body.n)).toEqual([undefined, 2]);
    expect(two.choices.map((choice) => [choice.index, choice.message.content])).toEqual([
      [0, "Echo: Hello there"],
      [1, "Echo: Hello there (2)"],
    ]);
    expect(two.usage!.completion_tokens).toBe(2 * one.usage!.completion_tokens);
    expect(two.gateway.costUsd).toBeCloseTo((two.usage!.prompt_tokens + two.usage!.completion_tokens) / 1e6, 12);
  });

  it("caches and replays every choice of an n=2 answer", async () => {
    const cached = gateway({ cache: {} });
    try {
      const first = await cached.chat({ model: "gpt", messages, n: 2 });
      const second = await cached.chat({ model: "gpt", messages, n: 2 });
      expect(openaiFake.requestCount).toBe(1);
      expect(second.gateway.cache).toBe("exact");
      expect(second.choices).toEqual(first.choices);
      expect(second.choices).toHaveLength(2);
    } finally {
      await cached.close();
    }
  });
});

describe("Anthropic maps what it can and names what it cannot", () => {
  it("refuses logprobs naming the field and the provider; nothing reaches Anthropic", async () => {
    const error = await refusal(gateway().chat({ model: "claude", messages, logprobs: true, top_logprobs: 2, store: true }));
    expect(error.issues.map((issue) => issue.path)).toEqual(["logprobs", "top_logprobs", "store"]);
    expect(error.issues[0]!.message).toContain("anthropic cannot serve logprobs");
    expect(anthropicFake.requests).toHaveLength(0);
  });

  it("refuses audio and file parts, function messages and extra_body by path", async () => {
    const error = await refusal(
      gateway().chat({
        model: "claude",
        messages: [
          { role: "user", content: [{ type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }] },
          { role: "function", name: "f", content: "x" },
        ],
        extra_body: { top_k: 3 },
      }),
    );
    expect(error.issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(["extra_body", "messages[0].content[0].type", "messages[1].role"]),
    );
    expect(anthropicFake.requests).toHaveLength(0);
  });

  it("serves what it can express: safety_identifier as metadata.user_id, OpenAI's cache hints accepted", async () => {
    await gateway().chat({
      model: "claude",
      messages,
      safety_identifier: "user-hash-1",
      prompt_cache_key: "thread-1",
      logprobs: false,
      service_tier: "auto",
      modalities: ["text"],
    });
    const body = anthropicFake.requests[0]!.body;
    expect(body.metadata).toEqual({ user_id: "user-hash-1" });
    expect(body).not.toHaveProperty("prompt_cache_key");
    expect(body).not.toHaveProperty("logprobs");
  });

  it("falls back to a deployment that can: Anthropic refuses logprobs, OpenAI serves them in one call", async () => {
    const response = await gateway().chat({ model: "claude-then-gpt", messages, logprobs: true, top_logprobs: 2 });
    expect(response.gateway.deployment).toBe("openai/gpt-4o");
    expect(anthropicFake.requests).toHaveLength(0);
    expect(openaiFake.lastRequest!.body).toMatchObject({ logprobs: true, top_logprobs: 2 });
  });

  it("serves n=2 by two calls: choices indexed, usage summed, both billed", async () => {
    anthropicFake.enqueue(
      { kind: "reply", content: [{ type: "text", text: "first" }], usage: { input_tokens: 10, output_tokens: 3 } },
      { kind: "reply", content: [{ type: "text", text: "second" }], usage: { input_tokens: 10, output_tokens: 4 } },
    );
    const response = await gateway().chat({ model: "claude", messages, n: 2 });
    expect(anthropicFake.requests).toHaveLength(2);
    for (const request of anthropicFake.requests) expect(request.body).not.toHaveProperty("n");
    expect(response.choices.map((choice) => choice.index)).toEqual([0, 1]);
    expect(response.choices.map((choice) => choice.message.content).sort()).toEqual(["first", "second"]);
    expect(response.usage).toMatchObject({ prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 });
    expect(response.gateway.costUsd).toBeCloseTo(27 / 1e6, 12);
  });

  it("refuses n=2 on a stream, naming n, before anything is sent", async () => {
    const error = await refusal(
      (async () => {
        const stream = await gateway().chat({ model: "claude", messages, n: 2, stream: true });
        for await (const _chunk of stream) {
          // drained
        }
      })(),
    );
    expect(error.issues[0]!.path).toBe("n");
    expect(error.message).toContain("anthropic");
    expect(anthropicFake.requests).toHaveLength(0);
  });
});

describe("Gemini maps what it can and names what it cannot", () => {
  it("refuses cache_control (context caching is a separate API) and extra_body; nothing reaches Google", async () => {
    const error = await refusal(
      gateway().chat({
        model: "gemini",
        messages: [{ role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }] }],
        logit_bias: { "1": 5 },
        extra_body: { safety_settings: [] },
      }),
    );
    expect(error.issues.map((issue) => issue.path)).toEqual(["logit_bias", "extra_body", "messages[0].content[0].cache_control"]);
    expect(error.issues[0]!.message).toContain("google cannot serve logit_bias");
    expect(geminiFake.requests).toHaveLength(0);
  });

  it("maps seed and penalties, and accepts bookkeeping fields without sending them", async () => {
    await gateway().chat({
      model: "gemini",
      messages,
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      safety_identifier: "user-hash-1",
      store: false,
      prompt_cache_key: "k",
    });
    const body = geminiFake.requests[0]!.body;
    expect(body.generationConfig).toEqual({ seed: 7, presencePenalty: 0.5, frequencyPenalty: 0.25 });
    for (const field of ["safety_identifier", "safetyIdentifier", "store", "prompt_cache_key", "user"]) expect(body).not.toHaveProperty(field);
  });

  it("serves n=2 natively as candidateCount: one request, each candidate a choice by its index, usage once", async () => {
    geminiFake.enqueue({ type: "reply", candidateTexts: ["First answer", "Second answer"] });
    const response = await gateway().chat({ model: "gemini", messages, n: 2 });
    expect(geminiFake.requests).toHaveLength(1);
    expect(geminiFake.requests[0]!.body.generationConfig).toEqual({ candidateCount: 2 });
    expect(response.choices.map((choice) => [choice.index, choice.message.content, choice.finish_reason])).toEqual([
      [0, "First answer", "stop"],
      [1, "Second answer", "stop"],
    ]);
    // Gemini's usageMetadata already counts every candidate: not summed, not doubled.
    expect(response.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
    expect(response.gateway.costUsd).toBe(0.000015);
  });

  it("refuses n=2 on a stream, naming n, before anything is sent", async () => {
    const error = await refusal(
      (async () => {
        const stream = await gateway().chat({ model: "gemini", messages, n: 2, stream: true });
        for await (const _chunk of stream) {
          // drained
        }
      })(),
    );
    expect(error.issues[0]!.path).toBe("n");
    expect(error.message).toContain("gcp.gemini");
    expect(geminiFake.requests).toHaveLength(0);
  });

  it("maps logprobs/top_logprobs to responseLogprobs/logprobs and returns OpenAI's logprobs.content", async () => {
    geminiFake.enqueue({ type: "reply", text: "Hi there" });
    const response = await gateway().chat({ model: "gemini", messages, logprobs: true, top_logprobs: 2 });
    expect(geminiFake.requests[0]!.body.generationConfig).toEqual({ responseLogprobs: true, logprobs: 2 });
    expect(response.choices[0]!.logprobs).toEqual({
      content: [
        {
          token: "Hi",
          logprob: -0.1,
          bytes: [72, 105],
          top_logprobs: [
            { token: "Hi", logprob: -0.1, bytes: [72, 105] },
            { token: "alt1", logprob: -1.1, bytes: [97, 108, 116, 49] },
          ],
        },
        {
          token: " there",
          logprob: -0.2,
          bytes: [32, 116, 104, 101, 114, 101],
          top_logprobs: [
            { token: " there", logprob: -0.2, bytes: [32, 116, 104, 101, 114, 101] },
            { token: "alt1", logprob: -1.2, bytes: [97, 108, 116, 49] },
          ],
        },
      ],
    });
  });

  it("logprobs without top_logprobs: chosen tokens only; each of n candidates carries its own", async () => {
    geminiFake.enqueue({ type: "reply", candidateTexts: ["A", "Bé"] });
    const response = await gateway().chat({ model: "gemini", messages, logprobs: true, n: 2 });
    expect(geminiFake.requests[0]!.body.generationConfig).toEqual({ candidateCount: 2, responseLogprobs: true });
    expect(response.choices.map((choice) => choice.logprobs)).toEqual([
      { content: [{ token: "A", logprob: -0.1, bytes: [65], top_logprobs: [] }] },
      { content: [{ token: "Bé", logprob: -0.1, bytes: [66, 195, 169], top_logprobs: [] }] },
    ]);
  });

  it("streams logprobs on each content chunk, for that chunk's tokens", async () => {
    geminiFake.enqueue({ type: "reply", text: ["Hi", " there"] });
    const stream = await gateway().chat({ model: "gemini", messages, logprobs: true, top_logprobs: 1, stream: true });
    const perChunk: unknown[] = [];
    for await (const chunk of stream) {
      const logprobs = chunk.choices[0]?.logprobs;
      if (logprobs) perChunk.push(logprobs.content?.map((entry) => [entry.token, entry.logprob, entry.top_logprobs.length]));
    }
    expect(geminiFake.requests[0]!.body.generationConfig).toEqual({ responseLogprobs: true, logprobs: 1 });
    expect(perChunk).toEqual([[["Hi", -0.1, 1]], [[" there", -0.1, 1]]]);
    const final = await stream.finalResponse();
    expect(final.choices[0]!.logprobs?.content?.map((entry) => entry.token)).toEqual(["Hi", " there"]);
  });

  it("sends no logprob fields for logprobs: false", async () => {
    await gateway().chat({ model: "gemini", messages, logprobs: false, top_logprobs: 0 });
    // The SDK sends an empty generationConfig of its own: nothing of ours in it.
    expect(geminiFake.requests[0]!.body.generationConfig ?? {}).toEqual({});
  });
});

describe("extra_body names", () => {
  it("refuses a __proto__ key rather than dropping it", async () => {
    const body = JSON.parse('{"model":"gpt","messages":[{"role":"user","content":"hi"}],"extra_body":{"__proto__":{"x":1}}}') as Body;
    const error = await refusal(gateway().chat(body));
    expect(error.issues.map((issue) => issue.path)).toEqual(["extra_body.__proto__"]);
    expect(openaiFake.requestCount).toBe(0);
  });
});
