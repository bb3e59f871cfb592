import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { InvalidRequestError, createGateway, type ChatBody, type Gateway } from "../src/index.js";
import { anthropic } from "../src/anthropic.js";
import { google } from "../src/google.js";
import { openai } from "../src/openai.js";
import { serve, type RunningServer } from "../src/server.js";
import { startFakeAnthropic, type FakeAnthropic } from "./fakes/anthropic-server.js";
import { startFakeGemini, type FakeGemini } from "./fakes/gemini-server.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";

/**
 * The tool-calling parts of the current chat-completions contract (openai 7.x types): custom
 * tools and their calls, `allowed_tools` and custom tool choices, refusal parts on assistant
 * turns, and the other 7.x values. OpenAI gets them as sent and its answers come back whole;
 * Anthropic and Gemini map `allowed_tools` and refusal parts and name what they cannot serve.
 */
let openaiFake: FakeOpenAI;
let anthropicFake: FakeAnthropic;
let geminiFake: FakeGemini;
const opened: Gateway[] = [];

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
afterEach(async () => {
  await Promise.all(opened.splice(0).map((gateway) => gateway.close()));
});

function gateway(): Gateway {
  const created = createGateway({
    providers: {
      openai: openai({ baseURL: openaiFake.url, apiKey: "sk-test-tools-contract" }),
      anthropic: anthropic({ baseURL: anthropicFake.url, apiKey: "sk-ant-test-tools-contract" }),
      google: google({ baseURL: geminiFake.url, apiKey: "AIza-test-tools-contract" }),
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
  });
  opened.push(created);
  return created;
}

async function refusal(promise: Promise<unknown>): Promise<InvalidRequestError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InvalidRequestError);
  return error as InvalidRequestError;
}

type Body = Omit<ChatBody, "stream">;

const weather = { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: {} } } } as const;
const time = { type: "function", function: { name: "get_time" } } as const;
const sql = {
  type: "custom",
  custom: { name: "run_sql", description: "Runs one query", format: { type: "grammar", grammar: { definition: "start: /SELECT .+/", syntax: "lark" } } },
} as const;

/**
 * A body typed by the openai SDK itself, then handed to the gateway unchanged: if the gateway's
 * request type lacked a variant the SDK has, this file would not typecheck.
 */
const sdkBody = {
  model: "gpt",
  messages: [
    { role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png", detail: "high" } }] },
    {
      role: "assistant",
      content: [
        { type: "text", text: "Earlier answer" },
        { type: "refusal", refusal: "I can't help with that part." },
      ],
      tool_calls: [
        { id: "call_1", type: "custom", custom: { name: "run_sql", input: "SELECT 1" } },
        { id: "call_2", type: "function", function: { name: "get_weather", arguments: "{}" } },
      ],
    },
    { role: "tool", tool_call_id: "call_1", content: "1" },
    { role: "tool", tool_call_id: "call_2", content: "sunny" },
  ],
  tools: [weather, time, sql],
  tool_choice: { type: "allowed_tools", allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "get_weather" } }] } },
  service_tier: "priority",
  safety_identifier: "h".repeat(100),
} satisfies ChatCompletionCreateParamsNonStreaming;

describe("OpenAI gets the 7.x tool shapes as sent", () => {
  it("passes custom tools, custom tool calls, refusal parts and allowed_tools through unchanged", async () => {
    await gateway().chat(sdkBody);
    expect(openaiFake.lastRequest!.body).toEqual({ ...sdkBody, model: "gpt-4o" });
  });

  it("accepts the values 7.x added (service_tier fast, image detail original, breakpoint ttl) and a custom tool choice", async () => {
    const body: Body = {
      model: "gpt",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Look", prompt_cache_breakpoint: { mode: "explicit", ttl: "12h" } },
            { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "original" } },
          ],
        },
      ],
      tools: [sql],
      tool_choice: { type: "custom", custom: { name: "run_sql" } },
      service_tier: "fast",
    };
    await gateway().chat(body);
    expect(openaiFake.lastRequest!.body).toEqual({ ...body, model: "gpt-4o" });
  });

  it("refuses malformed custom tools and tool choices by path, sending nothing", async () => {
    const error = await refusal(
      gateway().chat({
        model: "gpt",
        messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c", type: "custom", custom: { name: "run_sql" } }] }],
        tools: [{ type: "custom", custom: { name: "run sql!", format: { type: "grammar", grammar: { definition: "x", syntax: "peg" } } } }],
        tool_choice: { type: "allowed_tools", allowed_tools: { mode: "sometimes", tools: [] } },
      } as unknown as Body),
    );
    const paths = error.issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "messages[0].tool_calls[0].custom.input",
        "tools[0].custom.name",
        "tools[0].custom.format.grammar.syntax",
      ]),
    );
    expect(paths.some((path) => path.startsWith("tool_choice"))).toBe(true);
    expect(openaiFake.requestCount).toBe(0);
  });
});

/** Every body the openai SDK types is a body the gateway takes: this file would not typecheck otherwise. */
export function sdkParamsAreChatBodies(params: ChatCompletionCreateParamsNonStreaming): ChatBody {
  return params;
}

describe("null where OpenAI's API takes it", () => {
  it("reads null on a nullable field as the default: left out upstream, on OpenAI and on Anthropic", async () => {
    const nulls = {
      temperature: null,
      top_p: null,
      stop: null,
      n: null,
      seed: null,
      logprobs: null,
      max_tokens: null,
      reasoning_effort: null,
      service_tier: null,
      stream: null,
      stream_options: null,
      metadata: null,
    } as const;
    const response = await gateway().chat({ model: "gpt", messages: [{ role: "user", content: "Hi" }], ...nulls });
    expect(response.choices[0]!.message.content).toBe("Echo: Hi");
    expect(openaiFake.lastRequest!.body).toEqual({ model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] });

    await gateway().chat({ model: "claude", messages: [{ role: "user", content: "Hi" }], ...nulls });
    const body = anthropicFake.requests[0]!.body as unknown as Record<string, unknown>;
    for (const field of ["temperature", "top_p", "stop_sequences", "metadata"]) expect(body).not.toHaveProperty(field);
  });

  it("still refuses null on a field OpenAI does not take it on, naming the field", async () => {
    const error = await refusal(gateway().chat({ model: "gpt", messages: [{ role: "user", content: "Hi" }], tools: null } as unknown as Body));
    expect(error.issues.map((issue) => issue.path)).toEqual(["tools"]);
    expect(openaiFake.requestCount).toBe(0);
  });
});

describe("custom tool calls come back whole", () => {
  it("JSON: a custom tool call keeps its type, name and input", async () => {
    openaiFake.enqueue({ toolCalls: [{ id: "call_sql", name: "run_sql", arguments: "SELECT * FROM t", custom: true }] });
    const response = await gateway().chat({ model: "gpt", messages: [{ role: "user", content: "Count rows" }], tools: [sql] });
    expect(response.choices[0]!.finish_reason).toBe("tool_calls");
    expect(response.choices[0]!.message.tool_calls).toEqual([
      { id: "call_sql", type: "custom", custom: { name: "run_sql", input: "SELECT * FROM t" } },
    ]);
  });

  it("stream: custom-call deltas pass through and the final response joins the input pieces", async () => {
    openaiFake.enqueue({
      chunkSize: 4,
      toolCalls: [
        { id: "call_fn", name: "get_weather", arguments: { city: "Paris" } },
        { id: "call_sql", name: "run_sql", arguments: "SELECT * FROM t WHERE a = 1", custom: true },
      ],
    });
    const stream = await gateway().chat({ model: "gpt", messages: [{ role: "user", content: "Go" }], tools: [weather, sql], stream: true });
    const pieces: string[] = [];
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        if (call.index === 1) {
          if (call.type !== undefined) expect(call).toMatchObject({ id: "call_sql", type: "custom", custom: { name: "run_sql" } });
          expect(call).not.toHaveProperty("function");
          if (call.custom?.input) pieces.push(call.custom.input);
        }
      }
    }
    expect(pieces.length).toBeGreaterThan(1);
    const final = await stream.finalResponse();
    expect(final.choices[0]!.message.tool_calls).toEqual([
      { id: "call_fn", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      { id: "call_sql", type: "custom", custom: { name: "run_sql", input: "SELECT * FROM t WHERE a = 1" } },
    ]);
  });

  it("through serve(), the openai SDK as the client sends custom tools and reads the custom call back", async () => {
    const server: RunningServer = await serve(gateway(), { port: 0 });
    try {
      const client = new OpenAI({ apiKey: "unused", baseURL: `${server.url}/v1`, maxRetries: 0 });
      openaiFake.enqueue({ toolCalls: [{ id: "call_sql", name: "run_sql", arguments: "SELECT 2", custom: true }] });
      const completion = await client.chat.completions.create({
        model: "gpt",
        messages: [{ role: "user", content: "Count" }],
        tools: [sql],
        tool_choice: { type: "custom", custom: { name: "run_sql" } },
      });
      const call = completion.choices[0]!.message.tool_calls![0]!;
      expect(call.type).toBe("custom");
      expect(call.type === "custom" ? call.custom : undefined).toEqual({ name: "run_sql", input: "SELECT 2" });
      expect(openaiFake.lastRequest!.body.tool_choice).toEqual({ type: "custom", custom: { name: "run_sql" } });

      openaiFake.enqueue({ chunkSize: 3, toolCalls: [{ id: "call_sql", name: "run_sql", arguments: "SELECT 3", custom: true }] });
      const stream = await client.chat.completions.create({ model: "gpt", messages: [{ role: "user", content: "Count" }], tools: [sql], stream: true });
      let input = "";
      // openai 7 types `delta.tool_calls[].custom`; 6.x does not yet, hence the widening.
      for await (const chunk of stream) {
        for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) input += (delta as { custom?: { input?: string } }).custom?.input ?? "";
      }
      expect(input).toBe("SELECT 3");
    } finally {
      await server.close();
    }
  });
});

describe("Anthropic and Gemini: allowed_tools and refusal parts mapped, custom tools named", () => {
  const allowedRequired: Body["tool_choice"] = {
    type: "allowed_tools",
    allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "get_time" } }] },
  };

  it("Anthropic: allowed_tools narrows the declared tools and forces one; a refusal part is replayed as text", async () => {
    await gateway().chat({
      model: "claude",
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: [{ type: "refusal", refusal: "I won't do that." }] },
        { role: "user", content: "What time is it?" },
      ],
      tools: [weather, time],
      tool_choice: allowedRequired,
    });
    const body = anthropicFake.requests[0]!.body as unknown as Record<string, unknown>;
    expect((body.tools as { name: string }[]).map((tool) => tool.name)).toEqual(["get_time"]);
    expect(body.tool_choice).toEqual({ type: "any" });
    expect((body.messages as unknown[])[1]).toEqual({ role: "assistant", content: [{ type: "text", text: "I won't do that." }] });
  });

  it("Gemini: allowed_tools narrows the function declarations; auto mode stays AUTO", async () => {
    await gateway().chat({
      model: "gemini",
      messages: [{ role: "user", content: "What time is it?" }],
      tools: [weather, time],
      tool_choice: { type: "allowed_tools", allowed_tools: { mode: "auto", tools: [{ type: "function", function: { name: "get_weather" } }] } },
    });
    const body = geminiFake.requests[0]!.body;
    expect(body.tools).toEqual([{ functionDeclarations: [{ name: "get_weather" }] }]);
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: "AUTO" } });
  });

  it("an allowed tool that is not a declared function is named, not dropped", async () => {
    const error = await refusal(
      gateway().chat({
        model: "claude",
        messages: [{ role: "user", content: "Hi" }],
        tools: [weather],
        tool_choice: { type: "allowed_tools", allowed_tools: { mode: "auto", tools: [{ type: "function", function: { name: "get_time" } }, { type: "mcp", server_label: "x" }] } },
      }),
    );
    expect(error.issues.map((issue) => issue.path)).toEqual(["tool_choice.allowed_tools.tools[0]", "tool_choice.allowed_tools.tools[1]"]);
    expect(error.issues[0]!.message).toContain("'get_time' is not one");
    expect(anthropicFake.requests).toHaveLength(0);
  });

  it.each([
    ["claude", "anthropic"],
    ["gemini", "google"],
  ] as const)("%s refuses custom tools, custom tool calls and a custom tool choice, naming each; nothing is sent", async (model, provider) => {
    const error = await refusal(
      gateway().chat({
        model,
        messages: [
          { role: "user", content: "Count rows" },
          { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "custom", custom: { name: "run_sql", input: "SELECT 1" } }] },
          { role: "tool", tool_call_id: "call_1", content: "1" },
        ],
        tools: [weather, sql],
        tool_choice: { type: "custom", custom: { name: "run_sql" } },
      }),
    );
    expect(error.issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(["messages[1].tool_calls[0].type", "tools[1].type", "tool_choice.type"]),
    );
    for (const issue of error.issues.filter((issue) => issue.path !== "messages[2].tool_call_id")) expect(issue.message).toContain(provider);
    expect(anthropicFake.requests).toHaveLength(0);
    expect(geminiFake.requests).toHaveLength(0);
  });

  it("a route that falls back serves custom tools on OpenAI after Anthropic refuses them", async () => {
    openaiFake.enqueue({ toolCalls: [{ id: "call_sql", name: "run_sql", arguments: "SELECT 1", custom: true }] });
    const response = await gateway().chat({ model: "claude-then-gpt", messages: [{ role: "user", content: "Count" }], tools: [sql] });
    expect(response.gateway.deployment).toBe("openai/gpt-4o");
    expect(anthropicFake.requests).toHaveLength(0);
    expect(response.choices[0]!.message.tool_calls![0]).toMatchObject({ type: "custom", custom: { name: "run_sql" } });
  });
});
