import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { toolCallInput, toolCallName } from "../src/core/chat-request.js";
import {
  InvalidRequestError,
  createGateway,
  type ChatBody,
  type ChatChunk,
  type Gateway,
  type GatewayInfo,
  type ProviderAdapter,
  type Usage,
} from "../src/index.js";
import { anthropic } from "../src/anthropic.js";
import { google } from "../src/google.js";
import { OAuth2Client } from "google-auth-library";
import { openai } from "../src/openai.js";
import { startFakeAnthropic } from "./fakes/anthropic-server.js";
import { startFakeGemini } from "./fakes/gemini-server.js";
import { startFakeOpenAI } from "./fakes/openai-server.js";

/*
 * Cross-provider conformance: the same OpenAI-shaped cases go through `gateway.chat()` to each
 * adapter (over its official SDK) and a fake server speaking that provider's wire format. Each
 * case is written once: a per-provider driver scripts the fake in native terms and reads what
 * the fake received back into one neutral view, so the assertions are the same for all three.
 */

// ---------------------------------------------------------------------------------------------
// Drivers
// ---------------------------------------------------------------------------------------------

type ProviderKey = "openai" | "anthropic" | "google";
/** How a scripted answer ends, in neutral words; each driver maps it to its native reason. */
type Ending = "stop" | "stop_sequence" | "length";
interface Tokens {
  /** Everything the prompt counted, in OpenAI's sense (cached tokens included). */
  prompt: number;
  completion: number;
  /** Of `prompt`, the tokens read from the provider's prompt cache. */
  cached?: number;
}
interface ScriptedCall {
  name: string;
  args: Record<string, unknown>;
}

/** A request as the provider received it, read back into neutral terms. */
interface NativeView {
  system: string | undefined;
  turns: NativeTurn[];
  tools: string[];
  stop: string[] | undefined;
  maxTokens: number | undefined;
  /** The schema the provider was given for the answer (response format / forced tool / responseSchema). */
  outputSchema: Record<string, unknown> | undefined;
  streamed: boolean;
  /** The body as received, for provider-specific checks. */
  raw: Json;
}
interface NativeTurn {
  role: "user" | "assistant";
  parts: NativePart[];
}
type NativePart =
  | { text: string }
  | { image: { mediaType: string; data: string } | { url: string } }
  | { toolCall: { id?: string; name: string; args: unknown } }
  /** `ref` is the call id it answers, or (Gemini) the function name. */
  | { toolResult: { ref: string; content: unknown } };

/** One provider with its fake running. */
interface Harness {
  readonly key: ProviderKey;
  readonly model: string;
  /** A tool result names the call it answers by id, or (Gemini) by function name. */
  readonly resultRef: "id" | "name";
  adapter(): ProviderAdapter;
  /** The next request answers `pieces` (one stream delta each where the wire allows). */
  scriptText(pieces: string[], tokens: Tokens, ending?: Ending): void;
  scriptToolCalls(calls: ScriptedCall[], tokens: Tokens): void;
  /** The next request answers `value` as its structured output for schema `name`. */
  scriptJson(name: string, value: Record<string, unknown>, tokens: Tokens): void;
  /** The next request spends its whole output budget thinking: no visible text, cut off by length. */
  scriptThoughtOnly(tokens: Tokens): void;
  /** Every request fails the way this provider fails when it is down. */
  down(): void;
  received(): NativeView[];
  close(): Promise<void>;
}

interface Driver {
  /** The provider, or for Google which SDK and API (`google`, `google (@google/generative-ai)`, `google (Vertex AI)`). */
  name: string;
  start(): Promise<Harness>;
}

type Json = Record<string, unknown>;
/** A request body that resolves to a `ChatCompletion`, not a stream. */
type Unstreamed = ChatBody & { stream?: false };
const isRecord = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);
const records = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isRecord) : []);
const str = (value: unknown): string => (typeof value === "string" ? value : "");
const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/** Tool results arrive as JSON text or (Gemini) an object; compare them as values. */
function jsonValue(content: unknown): unknown {
  if (typeof content !== "string") return content;
  try {
    return JSON.parse(content) as unknown;
  } catch {
    return content;
  }
}

const openaiDriver: Driver = {
  name: "openai",
  async start() {
    const fake = await startFakeOpenAI();
    const usage = (tokens: Tokens) => ({
      promptTokens: tokens.prompt,
      completionTokens: tokens.completion,
      ...(tokens.cached !== undefined ? { cachedTokens: tokens.cached } : {}),
    });
    return {
      key: "openai",
      model: "gpt-4o-mini",
      resultRef: "id",
      adapter: () => openai({ baseURL: fake.url, apiKey: "sk-test-conformance" }),
      scriptText(pieces, tokens, ending = "stop") {
        fake.enqueue({ reply: pieces.join(""), usage: usage(tokens), finishReason: ending === "length" ? "length" : "stop" });
      },
      scriptToolCalls(calls, tokens) {
        fake.enqueue({ toolCalls: calls.map((call) => ({ name: call.name, arguments: call.args })), usage: usage(tokens) });
      },
      scriptJson(_name, value, tokens) {
        fake.enqueue({ reply: JSON.stringify(value), usage: usage(tokens) });
      },
      scriptThoughtOnly(tokens) {
        // What o-series models send when reasoning used up max_completion_tokens.
        fake.enqueue({ reply: "", finishReason: "length", usage: { ...usage(tokens), reasoningTokens: tokens.completion } });
      },
      down: () => fake.setDefault({ fail: { status: 503, message: "The server is overloaded" } }),
      received: () => fake.requests.filter((request) => request.path === "/v1/chat/completions").map((request) => openaiView(request.body)),
      close: () => fake.close(),
    };
  },
};

function openaiView(body: Json): NativeView {
  const turns: NativeTurn[] = [];
  const systemTexts: string[] = [];
  const push = (role: NativeTurn["role"], parts: NativePart[]): void => {
    const last = turns[turns.length - 1];
    // Consecutive tool messages answer one assistant turn: read them as one user turn, as the others send them.
    if (last && last.role === role && parts.every((part) => "toolResult" in part)) last.parts.push(...parts);
    else turns.push({ role, parts });
  };
  const textOf = (content: unknown): string =>
    typeof content === "string" ? content : records(content).map((part) => str(part.text)).join("");
  for (const message of records(body.messages)) {
    switch (message.role) {
      case "system":
      case "developer":
        systemTexts.push(textOf(message.content));
        break;
      case "user": {
        const parts: NativePart[] =
          typeof message.content === "string"
            ? [{ text: message.content }]
            : records(message.content).map((part): NativePart => {
                if (part.type === "text") return { text: str(part.text) };
                const url = isRecord(part.image_url) ? str(part.image_url.url) : "";
                const data = DATA_URL.exec(url);
                return { image: data ? { mediaType: data[1] ?? "", data: data[2] ?? "" } : { url } };
              });
        push("user", parts);
        break;
      }
      case "assistant": {
        const parts: NativePart[] = [];
        const text = textOf(message.content);
        if (text) parts.push({ text });
        for (const call of records(message.tool_calls)) {
          const fn = isRecord(call.function) ? call.function : {};
          parts.push({ toolCall: { id: str(call.id), name: str(fn.name), args: jsonValue(fn.arguments) } });
        }
        push("assistant", parts);
        break;
      }
      case "tool":
        push("user", [{ toolResult: { ref: str(message.tool_call_id), content: jsonValue(textOf(message.content)) } }]);
        break;
    }
  }
  const format = isRecord(body.response_format) ? body.response_format : undefined;
  const schema = format && isRecord(format.json_schema) ? format.json_schema.schema : undefined;
  return {
    system: systemTexts.length > 0 ? systemTexts.join("\n\n") : undefined,
    turns,
    tools: records(body.tools).map((tool) => (isRecord(tool.function) ? str(tool.function.name) : "")),
    stop: typeof body.stop === "string" ? [body.stop] : Array.isArray(body.stop) ? body.stop.map(str) : undefined,
    maxTokens: typeof body.max_completion_tokens === "number" ? body.max_completion_tokens : (body.max_tokens as number | undefined),
    outputSchema: isRecord(schema) ? schema : undefined,
    streamed: body.stream === true,
    raw: body,
  };
}

const anthropicDriver: Driver = {
  name: "anthropic",
  async start() {
    const fake = await startFakeAnthropic();
    // Anthropic counts uncached input and cache reads apart; OpenAI's prompt_tokens is their sum.
    const usage = (tokens: Tokens) => ({
      input_tokens: tokens.prompt - (tokens.cached ?? 0),
      cache_read_input_tokens: tokens.cached ?? 0,
      output_tokens: tokens.completion,
    });
    const stopReason: Record<Ending, string> = { stop: "end_turn", stop_sequence: "stop_sequence", length: "max_tokens" };
    return {
      key: "anthropic",
      model: "claude-haiku-4-5",
      resultRef: "id",
      adapter: () => anthropic({ baseURL: fake.url, apiKey: "sk-ant-test-conformance" }),
      scriptText(pieces, tokens, ending = "stop") {
        fake.enqueue({
          kind: "reply",
          content: [{ type: "text", text: pieces.join("") }],
          stopReason: stopReason[ending],
          usage: usage(tokens),
          chunkSize: 3,
        });
      },
      scriptToolCalls(calls, tokens) {
        fake.enqueue({
          kind: "reply",
          content: calls.map((call) => ({ type: "tool_use" as const, name: call.name, input: call.args })),
          usage: usage(tokens),
          chunkSize: 5,
        });
      },
      scriptJson(name, value, tokens) {
        // The adapter emulates response_format with a forced tool named after the schema.
        fake.enqueue({ kind: "reply", content: [{ type: "tool_use", name, input: value }], usage: usage(tokens) });
      },
      scriptThoughtOnly(tokens) {
        fake.enqueue({ kind: "reply", content: [{ type: "thinking", thinking: "Let me think this through" }], stopReason: "max_tokens", usage: usage(tokens) });
      },
      down: () => fake.setDefault({ kind: "fail", status: 529, type: "overloaded_error", message: "Overloaded" }),
      received: () => fake.requests.map((request) => anthropicView(request.body)),
      close: () => fake.close(),
    };
  },
};

function anthropicView(body: Json): NativeView {
  const blockText = (content: unknown): string =>
    typeof content === "string" ? content : records(content).map((block) => str(block.text)).join("");
  const turns = records(body.messages).map((message): NativeTurn => {
    const blocks: Json[] = typeof message.content === "string" ? [{ type: "text", text: message.content }] : records(message.content);
    return {
      role: message.role === "assistant" ? "assistant" : "user",
      parts: blocks.map((block): NativePart => {
        switch (block.type) {
          case "image": {
            const source = isRecord(block.source) ? block.source : {};
            return {
              image: source.type === "base64" ? { mediaType: str(source.media_type), data: str(source.data) } : { url: str(source.url) },
            };
          }
          case "tool_use":
            return { toolCall: { id: str(block.id), name: str(block.name), args: block.input } };
          case "tool_result":
            return { toolResult: { ref: str(block.tool_use_id), content: jsonValue(blockText(block.content)) } };
          default:
            return { text: str(block.text) };
        }
      }),
    };
  });
  const tools = records(body.tools);
  const choice = isRecord(body.tool_choice) ? body.tool_choice : undefined;
  // A forced tool is how this adapter carries response_format (these cases never force a tool otherwise).
  const forced = choice?.type === "tool" ? tools.find((tool) => tool.name === choice.name) : undefined;
  return {
    system: body.system === undefined ? undefined : blockText(body.system),
    turns,
    tools: tools.filter((tool) => tool !== forced).map((tool) => str(tool.name)),
    stop: Array.isArray(body.stop_sequences) ? body.stop_sequences.map(str) : undefined,
    maxTokens: typeof body.max_tokens === "number" ? body.max_tokens : undefined,
    outputSchema: forced && isRecord(forced.input_schema) ? forced.input_schema : undefined,
    streamed: body.stream === true,
    raw: body,
  };
}

/**
 * Google through each way `google()` can run: `@google/genai` on the Gemini API (the default),
 * the end-of-life `@google/generative-ai`, and `@google/genai` on Vertex AI (its paths, a
 * bearer token from a ready OAuth2 client instead of an API key).
 */
type GoogleWay = "genai" | "generative-ai" | "vertex";
const GOOGLE_WAY_NAMES: Record<GoogleWay, string> = {
  genai: "google",
  "generative-ai": "google (@google/generative-ai)",
  vertex: "google (Vertex AI)",
};

function googleAdapterFor(way: GoogleWay, url: string): ProviderAdapter {
  if (way === "genai") return google({ baseURL: url, apiKey: "AIza-test-conformance" });
  if (way === "generative-ai") return google({ baseURL: url, apiKey: "AIza-test-conformance", sdk: "@google/generative-ai" });
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: "ya29.test-conformance", expiry_date: Date.now() + 24 * 3600_000 });
  return google({ vertexai: true, project: "test-project", location: "europe-west4", baseURL: url, googleAuthOptions: { authClient } });
}

const googleDriver = (way: GoogleWay): Driver => ({
  name: GOOGLE_WAY_NAMES[way],
  async start() {
    const fake = await startFakeGemini();
    const usage = (tokens: Tokens) => ({
      promptTokenCount: tokens.prompt,
      candidatesTokenCount: tokens.completion,
      totalTokenCount: tokens.prompt + tokens.completion,
      ...(tokens.cached !== undefined ? { cachedContentTokenCount: tokens.cached } : {}),
    });
    return {
      key: "google",
      model: "gemini-2.5-flash",
      resultRef: "name",
      adapter: () => googleAdapterFor(way, fake.url),
      scriptText(pieces, tokens, ending = "stop") {
        fake.enqueue({ type: "reply", text: pieces, usage: usage(tokens), finishReason: ending === "length" ? "MAX_TOKENS" : "STOP" });
      },
      scriptToolCalls(calls, tokens) {
        fake.enqueue({ type: "reply", functionCalls: calls.map((call) => ({ name: call.name, args: call.args })), usage: usage(tokens) });
      },
      scriptJson(_name, value, tokens) {
        fake.enqueue({ type: "reply", text: JSON.stringify(value), usage: usage(tokens) });
      },
      scriptThoughtOnly(tokens) {
        // Gemini 2.5 with a small maxOutputTokens: a thought summary, no answer part, MAX_TOKENS.
        fake.enqueue({
          type: "reply",
          parts: [{ text: "Let me think this through", thought: true }],
          finishReason: "MAX_TOKENS",
          usage: { ...usage(tokens), candidatesTokenCount: 0, thoughtsTokenCount: tokens.completion },
        });
      },
      down: () => fake.setDefault({ type: "fail", status: 503, message: "The model is overloaded." }),
      received: () =>
        fake.requests
          .filter((request) => request.action === "generateContent" || request.action === "streamGenerateContent")
          .map((request) => {
            // Each way must reach its own API: Vertex's project path with a bearer token, else the Gemini API's key.
            if (way === "vertex") {
              expect(request.vertex).toEqual({ project: "test-project", location: "europe-west4" });
              expect(request.path.startsWith("/v1beta1/projects/")).toBe(true);
              expect(request.headers.authorization).toBe("Bearer ya29.test-conformance");
            } else {
              expect(request.path.startsWith("/v1beta/models/")).toBe(true);
              expect(request.headers["x-goog-api-key"]).toBe("AIza-test-conformance");
            }
            return googleView(request.body, request.action === "streamGenerateContent");
          }),
      close: () => fake.close(),
    };
  },
});

function googleView(body: Json, streamed: boolean): NativeView {
  const turns = records(body.contents).map(
    (content): NativeTurn => ({
      role: content.role === "model" ? "assistant" : "user",
      parts: records(content.parts).map((part): NativePart => {
        if (isRecord(part.inlineData)) return { image: { mediaType: str(part.inlineData.mimeType), data: str(part.inlineData.data) } };
        if (isRecord(part.fileData)) return { image: { url: str(part.fileData.fileUri) } };
        if (isRecord(part.functionCall)) return { toolCall: { name: str(part.functionCall.name), args: part.functionCall.args } };
        if (isRecord(part.functionResponse)) {
          const response = isRecord(part.functionResponse.response) ? part.functionResponse.response : {};
          const keys = Object.keys(response);
          const content = keys.length === 1 && keys[0] === "content" ? jsonValue(response.content) : response;
          return { toolResult: { ref: str(part.functionResponse.name), content } };
        }
        return { text: str(part.text) };
      }),
    }),
  );
  const system = isRecord(body.systemInstruction) ? records(body.systemInstruction.parts).map((part) => str(part.text)) : [];
  const config = isRecord(body.generationConfig) ? body.generationConfig : {};
  const declarations = records(body.tools).flatMap((tool) => records(tool.functionDeclarations));
  return {
    system: system.length > 0 ? system.join("\n\n") : undefined,
    turns,
    tools: declarations.map((declaration) => str(declaration.name)),
    stop: Array.isArray(config.stopSequences) ? config.stopSequences.map(str) : undefined,
    maxTokens: typeof config.maxOutputTokens === "number" ? config.maxOutputTokens : undefined,
    outputSchema: isRecord(config.responseSchema) ? lowerSchemaTypes(config.responseSchema) : undefined,
    streamed,
    raw: body,
  };
}

/**
 * Gemini reads its schema `type` names in either case; `@google/genai` sends them upper-cased
 * (`OBJECT`), `@google/generative-ai` as given. The view compares them in lower case.
 */
function lowerSchemaTypes(schema: Json): Json {
  const lowered: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "type" && typeof value === "string") lowered[key] = value.toLowerCase();
    else if (Array.isArray(value)) lowered[key] = value.map((item) => (isRecord(item) ? lowerSchemaTypes(item) : item));
    else if (isRecord(value)) lowered[key] = lowerSchemaTypes(value);
    else lowered[key] = value;
  }
  return lowered;
}

/** One driver per provider, for the cross-provider cases (fallback chains, refusals). */
const DRIVERS: readonly Driver[] = [openaiDriver, anthropicDriver, googleDriver("genai")];
/** Every adapter and every way to run one: the shared cases run for each. */
const ALL_DRIVERS: readonly Driver[] = [...DRIVERS, googleDriver("generative-ai"), googleDriver("vertex")];

// ---------------------------------------------------------------------------------------------
// Shared fixtures and checks
// ---------------------------------------------------------------------------------------------

/** A 1x1 transparent PNG. */
const PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
const PNG_URL = `data:image/png;base64,${PNG_BASE64}`;

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const timeTool = {
  type: "function" as const,
  function: {
    name: "get_time",
    description: "Local time in a city",
    parameters: { type: "object", properties: { city: { type: "string" }, format: { type: "string" } }, required: ["city"] },
  },
};

function expectUsage(usage: Usage | undefined, tokens: Tokens): void {
  expect(usage).toMatchObject({
    prompt_tokens: tokens.prompt,
    completion_tokens: tokens.completion,
    total_tokens: tokens.prompt + tokens.completion,
  });
  expect(usage!.total_tokens).toBe(usage!.prompt_tokens + usage!.completion_tokens);
}

function last<T>(items: readonly T[]): T {
  const item = items[items.length - 1];
  if (item === undefined) throw new Error("expected at least one item");
  return item;
}

interface Collected {
  chunks: ChatChunk[];
  text: string;
  contentChunks: number;
  toolCallChunks: number;
}

async function collect(stream: AsyncIterable<ChatChunk>): Promise<Collected> {
  const collected: Collected = { chunks: [], text: "", contentChunks: 0, toolCallChunks: 0 };
  for await (const chunk of stream) {
    collected.chunks.push(chunk);
    const delta = chunk.choices[0]?.delta;
    if (delta?.content) {
      collected.text += delta.content;
      collected.contentChunks++;
    }
    if (delta?.tool_calls?.length) collected.toolCallChunks++;
  }
  return collected;
}

// ---------------------------------------------------------------------------------------------
// 1. The same cases against every adapter
// ---------------------------------------------------------------------------------------------

describe.each(ALL_DRIVERS)("conformance: $name", (driver) => {
  let harness: Harness;
  let gateway: Gateway;
  let model: string;

  beforeAll(async () => {
    harness = await driver.start();
    gateway = createGateway({ providers: { [harness.key]: harness.adapter() }, retry: { retries: 0 } });
    model = `${harness.key}/${harness.model}`;
  });
  afterAll(async () => {
    await gateway.close();
    await harness.close();
  });

  /** The views of the requests this test sent (the fake's log spans the describe block). */
  let seenBefore = 0;
  beforeEach(() => {
    seenBefore = harness.received().length;
  });
  const sent = (): NativeView[] => harness.received().slice(seenBefore);

  it("plain text", async () => {
    harness.scriptText(["Hello", " there", "!"], { prompt: 11, completion: 7 });
    const res = await gateway.chat({ model, messages: [{ role: "user", content: "Say hello" }] });

    expect(res.object).toBe("chat.completion");
    expect(res.choices).toHaveLength(1);
    expect(res.choices[0]).toMatchObject({ index: 0, finish_reason: "stop", message: { role: "assistant", content: "Hello there!" } });
    expect(res.choices[0]!.message.tool_calls).toBeUndefined();
    expectUsage(res.usage, { prompt: 11, completion: 7 });
    expect(res.gateway).toMatchObject({ provider: harness.key, deployment: model, model: harness.model });

    const [view] = sent();
    expect(sent()).toHaveLength(1);
    expect(view).toMatchObject({ system: undefined, streamed: false, tools: [] });
    expect(view!.turns).toEqual([{ role: "user", parts: [{ text: "Say hello" }] }]);
  });

  it("multi-turn", async () => {
    harness.scriptText(["Your name is Ann."], { prompt: 30, completion: 5 });
    const res = await gateway.chat({
      model,
      messages: [
        { role: "user", content: "My name is Ann." },
        { role: "assistant", content: "Nice to meet you, Ann!" },
        { role: "user", content: "What is my name?" },
      ],
    });

    expect(res.choices[0]!.message.content).toBe("Your name is Ann.");
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expectUsage(res.usage, { prompt: 30, completion: 5 });
    expect(sent()[0]!.turns).toEqual([
      { role: "user", parts: [{ text: "My name is Ann." }] },
      { role: "assistant", parts: [{ text: "Nice to meet you, Ann!" }] },
      { role: "user", parts: [{ text: "What is my name?" }] },
    ]);
  });

  it("system and developer messages", async () => {
    harness.scriptText(["Bonjour."], { prompt: 20, completion: 2 });
    const res = await gateway.chat({
      model,
      messages: [
        { role: "system", content: "Be terse." },
        { role: "developer", content: "Answer in French." },
        { role: "user", content: "Hi" },
      ],
    });

    expect(res.choices[0]!.message.content).toBe("Bonjour.");
    const view = sent()[0]!;
    // Both instructions reach the provider's system slot, in order, and never as a conversation turn.
    expect(view.system).toMatch(/Be terse\.[\s\S]*Answer in French\./);
    expect(view.turns).toEqual([{ role: "user", parts: [{ text: "Hi" }] }]);
  });

  it("tool call round trip", async () => {
    const ask: Unstreamed = { model, tools: [weatherTool], messages: [{ role: "user", content: "Weather in Paris?" }] };
    harness.scriptToolCalls([{ name: "get_weather", args: { city: "Paris" } }], { prompt: 40, completion: 9 });
    const first = await gateway.chat(ask);

    const message = first.choices[0]!.message;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(message.content).toBeNull();
    expect(message.tool_calls).toHaveLength(1);
    const call = message.tool_calls![0]!;
    expect(call).toMatchObject({ type: "function", function: { name: "get_weather" } });
    expect(call.id).toMatch(/\S/);
    expect(JSON.parse(toolCallInput(call))).toEqual({ city: "Paris" });
    expectUsage(first.usage, { prompt: 40, completion: 9 });
    expect(sent()[0]!.tools).toEqual(["get_weather"]);

    // Send the answer's own message back, as OpenAI clients do, with the tool's result.
    harness.scriptText(["It is 21°C in Paris."], { prompt: 60, completion: 8 });
    const second = await gateway.chat({
      ...ask,
      messages: [...ask.messages, message, { role: "tool", tool_call_id: call.id, content: '{"temp_c":21}' }],
    });

    expect(second.choices[0]!.message.content).toBe("It is 21°C in Paris.");
    expect(second.choices[0]!.finish_reason).toBe("stop");
    expectUsage(second.usage, { prompt: 60, completion: 8 });
    const view = sent()[1]!;
    expect(view.turns).toHaveLength(3);
    expect(view.turns[0]).toEqual({ role: "user", parts: [{ text: "Weather in Paris?" }] });
    expect(view.turns[1]).toMatchObject({ role: "assistant", parts: [{ toolCall: { name: "get_weather", args: { city: "Paris" } } }] });
    if (harness.resultRef === "id") expect(view.turns[1]!.parts[0]).toMatchObject({ toolCall: { id: call.id } });
    expect(view.turns[2]).toEqual({
      role: "user",
      parts: [{ toolResult: { ref: harness.resultRef === "id" ? call.id : "get_weather", content: { temp_c: 21 } } }],
    });
  });

  it("parallel tool calls, answered together", async () => {
    const ask: Unstreamed = { model, tools: [weatherTool], messages: [{ role: "user", content: "Weather in Paris and Rome?" }] };
    harness.scriptToolCalls(
      [
        { name: "get_weather", args: { city: "Paris" } },
        { name: "get_weather", args: { city: "Rome" } },
      ],
      { prompt: 42, completion: 18 },
    );
    const first = await gateway.chat(ask);

    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    const calls = first.choices[0]!.message.tool_calls ?? [];
    expect(calls.map((call) => toolCallName(call))).toEqual(["get_weather", "get_weather"]);
    expect(calls.map((call) => JSON.parse(toolCallInput(call)) as unknown)).toEqual([{ city: "Paris" }, { city: "Rome" }]);
    expect(calls.every((call) => call.id.length > 0)).toBe(true);
    expect(new Set(calls.map((call) => call.id)).size).toBe(2);
    expectUsage(first.usage, { prompt: 42, completion: 18 });

    harness.scriptText(["Paris 21°C, Rome 25°C."], { prompt: 80, completion: 9 });
    const second = await gateway.chat({
      ...ask,
      messages: [
        ...ask.messages,
        first.choices[0]!.message,
        { role: "tool", tool_call_id: calls[0]!.id, content: '{"temp_c":21}' },
        { role: "tool", tool_call_id: calls[1]!.id, content: '{"temp_c":25}' },
      ],
    });

    expect(second.choices[0]!.message.content).toBe("Paris 21°C, Rome 25°C.");
    const view = sent()[1]!;
    // Both calls in one assistant turn, both results in the one user turn after it.
    expect(view.turns.map((turn) => turn.role)).toEqual(["user", "assistant", "user"]);
    expect(view.turns[1]!.parts).toMatchObject([
      { toolCall: { name: "get_weather", args: { city: "Paris" } } },
      { toolCall: { name: "get_weather", args: { city: "Rome" } } },
    ]);
    const refs = harness.resultRef === "id" ? calls.map((call) => call.id) : ["get_weather", "get_weather"];
    expect(view.turns[2]!.parts).toEqual([
      { toolResult: { ref: refs[0], content: { temp_c: 21 } } },
      { toolResult: { ref: refs[1], content: { temp_c: 25 } } },
    ]);
  });

  it("image input (data URL)", async () => {
    harness.scriptText(["A single transparent pixel."], { prompt: 270, completion: 6 });
    const res = await gateway.chat({
      model,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is in this image?" },
            { type: "image_url", image_url: { url: PNG_URL } },
          ],
        },
      ],
    });

    expect(res.choices[0]!.message.content).toBe("A single transparent pixel.");
    expectUsage(res.usage, { prompt: 270, completion: 6 });
    expect(sent()[0]!.turns).toEqual([
      { role: "user", parts: [{ text: "What is in this image?" }, { image: { mediaType: "image/png", data: PNG_BASE64 } }] },
    ]);
  });

  it("JSON schema output", async () => {
    const value = { city: "Paris", temp_c: 21 };
    harness.scriptJson("weather", value, { prompt: 35, completion: 12 });
    const res = await gateway.chat({
      model,
      messages: [{ role: "user", content: "Weather in Paris as JSON" }],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "weather",
          strict: true,
          schema: {
            type: "object",
            properties: { city: { type: "string" }, temp_c: { type: "number" } },
            required: ["city", "temp_c"],
            additionalProperties: false,
          },
        },
      },
    });

    const choice = res.choices[0]!;
    expect(choice.finish_reason).toBe("stop");
    expect(choice.message.tool_calls).toBeUndefined();
    expect(typeof choice.message.content).toBe("string");
    expect(JSON.parse(choice.message.content!)).toEqual(value);
    expectUsage(res.usage, { prompt: 35, completion: 12 });
    const view = sent()[0]!;
    expect(view.outputSchema).toMatchObject({
      type: "object",
      properties: { city: { type: "string" }, temp_c: { type: "number" } },
      required: ["city", "temp_c"],
    });
    expect(view.tools).toEqual([]);
  });

  it("JSON schema output, streamed", async () => {
    const value = { city: "Rome", temp_c: 25 };
    harness.scriptJson("weather", value, { prompt: 35, completion: 12 });
    const stream = await gateway.chat({
      model,
      messages: [{ role: "user", content: "Weather in Rome as JSON" }],
      response_format: {
        type: "json_schema",
        json_schema: { name: "weather", schema: { type: "object", properties: { city: { type: "string" }, temp_c: { type: "number" } } } },
      },
      stream: true,
    });
    const collected = await collect(stream);
    const final = await stream.finalResponse();

    expect(JSON.parse(collected.text)).toEqual(value);
    expect(collected.toolCallChunks).toBe(0);
    expect(final.choices[0]!.finish_reason).toBe("stop");
    expect(final.choices[0]!.message.tool_calls).toBeUndefined();
    expect(JSON.parse(final.choices[0]!.message.content!)).toEqual(value);
    expectUsage(final.usage, { prompt: 35, completion: 12 });
  });

  it("usage with prompt-cache hits, unstreamed and streamed", async () => {
    const tokens = { prompt: 1_200, completion: 30, cached: 1_024 };
    harness.scriptText(["Cached."], tokens);
    const res = await gateway.chat({ model, messages: [{ role: "user", content: "Again" }] });
    harness.scriptText(["Cached", " again."], tokens);
    const stream = await gateway.chat({ model, messages: [{ role: "user", content: "Again" }], stream: true });
    const final = await stream.finalResponse();

    for (const usage of [res.usage, final.usage]) {
      // prompt_tokens counts the cached part too; cached_tokens breaks it out.
      expectUsage(usage, tokens);
      expect(usage?.prompt_tokens_details?.cached_tokens).toBe(1_024);
    }
  });

  it("stop sequences", async () => {
    harness.scriptText(["one, two"], { prompt: 14, completion: 4 }, "stop_sequence");
    const res = await gateway.chat({ model, messages: [{ role: "user", content: "Count to five" }], stop: ["three", "END"] });

    expect(res.choices[0]).toMatchObject({ finish_reason: "stop", message: { content: "one, two" } });
    expectUsage(res.usage, { prompt: 14, completion: 4 });
    expect(sent()[0]!.stop).toEqual(["three", "END"]);
  });

  it("length cut-off", async () => {
    harness.scriptText(["The quick brown"], { prompt: 9, completion: 5 }, "length");
    const res = await gateway.chat({ model, messages: [{ role: "user", content: "Tell me a story" }], max_tokens: 5 });

    expect(res.choices[0]).toMatchObject({ finish_reason: "length", message: { content: "The quick brown" } });
    expectUsage(res.usage, { prompt: 9, completion: 5 });
    expect(sent()[0]!.maxTokens).toBe(5);
  });

  it("length cut-off with no visible text (thinking used the budget), unstreamed and streamed", async () => {
    const tokens = { prompt: 15, completion: 64 };
    harness.scriptThoughtOnly(tokens);
    const res = await gateway.chat({ model, messages: [{ role: "user", content: "Prove it" }], max_tokens: 64 });
    harness.scriptThoughtOnly(tokens);
    const stream = await gateway.chat({ model, messages: [{ role: "user", content: "Prove it" }], max_tokens: 64, stream: true });
    const final = await stream.finalResponse();

    // The same answer either way: empty content (as OpenAI sends it), never the thoughts, finish "length".
    for (const answer of [res, final]) {
      expect(answer.choices[0]).toMatchObject({ finish_reason: "length", message: { role: "assistant", content: "" } });
      expect(answer.choices[0]!.message.tool_calls).toBeUndefined();
      expectUsage(answer.usage, tokens);
    }
  });

  it("streaming text", async () => {
    harness.scriptText(["Once", " upon", " a", " time."], { prompt: 12, completion: 4 });
    const stream = await gateway.chat({ model, messages: [{ role: "user", content: "Begin a story" }], stream: true });
    const collected = await collect(stream);
    const final = await stream.finalResponse();

    expect(collected.text).toBe("Once upon a time.");
    expect(collected.contentChunks).toBeGreaterThan(1);
    expect(collected.chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
    expect(collected.chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    // As OpenAI streams with include_usage: the finish reason, then a last chunk with usage and no choices.
    expect(collected.chunks.filter((chunk) => chunk.choices[0]?.finish_reason).map((chunk) => chunk.choices[0]!.finish_reason)).toEqual([
      "stop",
    ]);
    const usageChunk = last(collected.chunks);
    expect(usageChunk.choices).toEqual([]);
    expectUsage(usageChunk.usage ?? undefined, { prompt: 12, completion: 4 });

    expect(final.choices[0]).toMatchObject({ finish_reason: "stop", message: { role: "assistant", content: "Once upon a time." } });
    expectUsage(final.usage, { prompt: 12, completion: 4 });
    expect(final.gateway.provider).toBe(harness.key);
    expect(sent()[0]!.streamed).toBe(true);
  });

  it("streaming tool calls", async () => {
    harness.scriptToolCalls(
      [
        { name: "get_weather", args: { city: "Paris" } },
        { name: "get_time", args: { city: "Paris", format: "24h" } },
      ],
      { prompt: 50, completion: 21 },
    );
    const stream = await gateway.chat({
      model,
      tools: [weatherTool, timeTool],
      messages: [{ role: "user", content: "Weather and time in Paris?" }],
      stream: true,
    });
    const collected = await collect(stream);
    const final = await stream.finalResponse();

    expect(collected.toolCallChunks).toBeGreaterThan(0);
    expect(collected.text).toBe("");
    const calls = final.choices[0]!.message.tool_calls ?? [];
    expect(calls.map((call) => toolCallName(call))).toEqual(["get_weather", "get_time"]);
    expect(calls.map((call) => JSON.parse(toolCallInput(call)) as unknown)).toEqual([
      { city: "Paris" },
      { city: "Paris", format: "24h" },
    ]);
    expect(calls.every((call) => call.type === "function" && call.id.length > 0)).toBe(true);
    expect(new Set(calls.map((call) => call.id)).size).toBe(2);
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expectUsage(final.usage, { prompt: 50, completion: 21 });
    expect(sent()[0]).toMatchObject({ streamed: true, tools: ["get_weather", "get_time"] });
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Fallback chain OpenAI -> Anthropic -> Gemini
// ---------------------------------------------------------------------------------------------

describe("fallback chain: OpenAI (503) -> Anthropic (529) -> Gemini", () => {
  let harnesses: Record<ProviderKey, Harness>;
  let gateway: Gateway;

  beforeEach(async () => {
    const [o, a, g] = await Promise.all(DRIVERS.map((driver) => driver.start()));
    harnesses = { openai: o!, anthropic: a!, google: g! };
    harnesses.openai.down();
    harnesses.anthropic.down();
    gateway = createGateway({
      providers: {
        openai: harnesses.openai.adapter(),
        anthropic: harnesses.anthropic.adapter(),
        google: harnesses.google.adapter(),
      },
      models: {
        smart: { deployments: [{ provider: "openai", model: "gpt-4o" }], fallbacks: ["claude", "gemini"] },
        claude: "anthropic/claude-haiku-4-5",
        gemini: "google/gemini-2.5-flash",
      },
      retry: { retries: 1, minDelayMs: 1, maxDelayMs: 10 },
    });
  });
  afterEach(async () => {
    await gateway.close();
    await Promise.all(Object.values(harnesses).map((harness) => harness.close()));
  });

  const expectChain = (info: GatewayInfo): void => {
    expect(info).toMatchObject({ provider: "google", route: "gemini", deployment: "google/gemini-2.5-flash" });
    // One try and one retry on each failing deployment, then Gemini.
    const attempts = info.attempts.map((attempt) => [attempt.route, attempt.provider, attempt.status ?? null, attempt.errorCode ?? null]);
    expect(attempts).toEqual([
      ["smart", "openai", 503, "provider_error"],
      ["smart", "openai", 503, "provider_error"],
      ["claude", "anthropic", 529, "provider_error"],
      ["claude", "anthropic", 529, "provider_error"],
      ["gemini", "google", null, null],
    ]);
    const counts = (Object.keys(harnesses) as ProviderKey[]).map((key) => [key, harnesses[key].received().length]);
    expect(counts).toEqual([
      ["openai", 2],
      ["anthropic", 2],
      ["google", 1],
    ]);
    // The one request, translated for each provider in turn.
    for (const harness of Object.values(harnesses)) {
      for (const view of harness.received()) expect(last(view.turns)).toEqual({ role: "user", parts: [{ text: "Who is up?" }] });
    }
  };

  it("serves an unstreamed call from Gemini and says so", async () => {
    const fallbacks: string[] = [];
    gateway.on("fallback", (event) => fallbacks.push(`${event.from}->${event.to}`));
    harnesses.google.scriptText(["Gemini is up."], { prompt: 6, completion: 4 });

    const res = await gateway.chat({ model: "smart", messages: [{ role: "user", content: "Who is up?" }] });

    expect(res.choices[0]).toMatchObject({ finish_reason: "stop", message: { content: "Gemini is up." } });
    expectUsage(res.usage, { prompt: 6, completion: 4 });
    expectChain(res.gateway);
    expect(fallbacks).toEqual(["smart->claude", "claude->gemini"]);
    expect(harnesses.google.received()[0]!.streamed).toBe(false);
  });

  it("serves a streamed call from Gemini and says so in finalResponse()", async () => {
    harnesses.google.scriptText(["Gemini", " is", " up."], { prompt: 6, completion: 4 });

    const stream = await gateway.chat({ model: "smart", messages: [{ role: "user", content: "Who is up?" }], stream: true });
    const collected = await collect(stream);
    const final = await stream.finalResponse();

    expect(collected.text).toBe("Gemini is up.");
    expect(final.choices[0]).toMatchObject({ finish_reason: "stop", message: { content: "Gemini is up." } });
    expectUsage(final.usage, { prompt: 6, completion: 4 });
    expectChain(final.gateway);
    expect(harnesses.openai.received().every((view) => view.streamed)).toBe(true);
    expect(harnesses.anthropic.received().every((view) => view.streamed)).toBe(true);
    expect(harnesses.google.received()[0]!.streamed).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. What a provider cannot express is an InvalidRequestError, never a silent drop
// ---------------------------------------------------------------------------------------------

interface Inexpressible {
  provider: ProviderKey;
  /** The issue path the error must name. */
  field: string;
  body: Partial<ChatBody>;
}

const hi = [{ role: "user" as const, content: "Hi" }];
const INEXPRESSIBLE: readonly Inexpressible[] = [
  { provider: "anthropic", field: "seed", body: { seed: 42 } },
  { provider: "anthropic", field: "presence_penalty", body: { presence_penalty: 0.5 } },
  { provider: "anthropic", field: "frequency_penalty", body: { frequency_penalty: -0.5 } },
  { provider: "anthropic", field: "temperature", body: { temperature: 1.5 } },
  // Extended thinking cannot run with a forced tool.
  { provider: "anthropic", field: "reasoning_effort", body: { reasoning_effort: "high", tools: [weatherTool], tool_choice: "required" } },
  { provider: "anthropic", field: "temperature", body: { reasoning_effort: "low", temperature: 0.2 } },
  { provider: "anthropic", field: "metadata", body: { metadata: { order: "42" } } },
  { provider: "anthropic", field: "messages[0].name", body: { messages: [{ role: "user", content: "Hi", name: "ann" }] } },
  {
    provider: "anthropic",
    field: "response_format",
    body: { tools: [weatherTool], response_format: { type: "json_schema", json_schema: { name: "w", schema: { type: "object" } } } },
  },
  {
    provider: "anthropic",
    field: "messages[0].content[0].image_url.detail",
    body: { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: PNG_URL, detail: "high" } }] }] },
  },
  { provider: "google", field: "messages[0].cache_control", body: { messages: [{ role: "user", content: "Hi", cache_control: { type: "ephemeral" } }] } },
  {
    provider: "google",
    field: "messages[0].content[0].cache_control",
    body: { messages: [{ role: "user", content: [{ type: "text", text: "Hi", cache_control: { type: "ephemeral", ttl: "1h" } }] }] },
  },
  { provider: "google", field: "tools[0].cache_control", body: { tools: [{ ...weatherTool, cache_control: { type: "ephemeral" } }] } },
  { provider: "google", field: "parallel_tool_calls", body: { tools: [weatherTool], parallel_tool_calls: false } },
  { provider: "google", field: "messages[0].name", body: { messages: [{ role: "user", content: "Hi", name: "ann" }] } },
  {
    provider: "google",
    field: "messages[1].role",
    body: { messages: [{ role: "user", content: "Hi" }, { role: "system", content: "Be terse." }] },
  },
  {
    provider: "google",
    field: "messages[0].content[0].image_url.url",
    body: { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/image" } }] }] },
  },
  {
    provider: "google",
    field: "messages[0].content[0].image_url.detail",
    body: { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: PNG_URL, detail: "low" } }] }] },
  },
  {
    provider: "google",
    field: "response_format.json_schema.schema.oneOf",
    body: {
      response_format: {
        type: "json_schema",
        json_schema: { name: "w", schema: { oneOf: [{ type: "string" }, { type: "number" }] } },
      },
    },
  },
];

const PROVIDER_NAMED: Record<ProviderKey, RegExp> = { openai: /openai/i, anthropic: /anthropic/i, google: /gemini/i };

describe("what a provider cannot express is an InvalidRequestError naming the field and the provider", () => {
  let harnesses: Partial<Record<ProviderKey, Harness>> = {};
  let gateway: Gateway;

  beforeAll(async () => {
    const started = await Promise.all(DRIVERS.map((driver) => driver.start()));
    harnesses = Object.fromEntries(started.map((harness) => [harness.key, harness]));
    gateway = createGateway({
      providers: Object.fromEntries(started.map((harness) => [harness.key, harness.adapter()])),
      retry: { retries: 2, minDelayMs: 1, maxDelayMs: 10 },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all(Object.values(harnesses).map((harness) => harness.close()));
  });

  const modelOf = (key: ProviderKey): string => `${key}/${harnesses[key]!.model}`;
  const cases = INEXPRESSIBLE.flatMap((entry) => [false, true].map((stream) => ({ ...entry, stream })));

  it.each(cases)("$provider rejects $field (stream: $stream) without sending anything", async ({ provider, field, body, stream }) => {
    const harness = harnesses[provider]!;
    const before = harness.received().length;
    const request = { model: modelOf(provider), messages: hi, ...body, stream } as ChatBody;

    const error = await gateway.chat(request).then(
      () => undefined,
      (reason: unknown) => reason,
    );

    expect(error).toBeInstanceOf(InvalidRequestError);
    const invalid = error as InvalidRequestError;
    expect(invalid.code).toBe("request_invalid");
    expect(invalid.issues.map((issue) => issue.path)).toContain(field);
    expect(invalid.message).toContain(field);
    expect(invalid.message).toMatch(PROVIDER_NAMED[provider]);
    expect(harness.received().length).toBe(before);
  });

  it("the same fields reach providers that can express them (the table above is not vacuous)", async () => {
    const sampling = { seed: 42, presence_penalty: 0.5, frequency_penalty: -0.5, temperature: 1.5 };
    // OpenAI's shape is the gateway's own: the fields pass through as sent.
    const openaiHarness = harnesses.openai!;
    openaiHarness.scriptText(["ok"], { prompt: 1, completion: 1 });
    const extra = { reasoning_effort: "high" as const, metadata: { order: "42" } };
    const viaOpenAI = await gateway.chat({ model: modelOf("openai"), messages: hi, ...sampling, ...extra });
    expect(viaOpenAI.choices[0]!.message.content).toBe("ok");
    expect(last(openaiHarness.received()).raw).toMatchObject({ ...sampling, ...extra });
    // Gemini has a seed, penalties and a 0..2 temperature: what Anthropic rejects, it sends.
    const googleHarness = harnesses.google!;
    googleHarness.scriptText(["ok"], { prompt: 1, completion: 1 });
    const viaGemini = await gateway.chat({ model: modelOf("google"), messages: hi, ...sampling });
    expect(viaGemini.choices[0]!.message.content).toBe("ok");
    expect(last(googleHarness.received()).raw.generationConfig).toEqual({
      seed: 42,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      temperature: 1.5,
    });
  });

  it("a value that asks for nothing (OpenAI's default) is not an error", async () => {
    const harness = harnesses.anthropic!;
    harness.scriptText(["ok"], { prompt: 1, completion: 1 });
    const res = await gateway.chat({ model: modelOf("anthropic"), messages: hi, presence_penalty: 0, frequency_penalty: 0 });
    expect(res.choices[0]!.message.content).toBe("ok");
    expect(last(harness.received()).raw).not.toHaveProperty("presence_penalty");
    expect(last(harness.received()).raw).not.toHaveProperty("frequency_penalty");
  });
});
