import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BudgetExceededError, InvalidRequestError, RateLimitError, createGateway, type EmbeddingBody, type Gateway, type GatewayConfig } from "../src/index.js";
import { anthropic } from "../src/anthropic.js";
import { google } from "../src/google.js";
import { openai } from "../src/openai.js";
import { mockProvider } from "../src/testing.js";
import { startFakeAnthropic, type FakeAnthropic } from "./fakes/anthropic-server.js";
import { startFakeGemini, type FakeGemini } from "./fakes/gemini-server.js";
import { startFakeOpenAI, hashedWordsVector, type FakeOpenAI } from "./fakes/openai-server.js";

/**
 * `gateway.embed()` end to end: the real `openai` and `@google/generative-ai` SDKs against the
 * wire-faithful fakes, through the same routing, limits, budgets, spend and cache as chat.
 */
const SECRET = "sk-test-embed-0123456789SECRET";
let primary: FakeOpenAI;
let backup: FakeOpenAI;
let gemini: FakeGemini;
let claude: FakeAnthropic;

beforeAll(async () => {
  [primary, backup, gemini, claude] = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startFakeGemini(), startFakeAnthropic()]);
});
afterAll(async () => {
  await Promise.all([primary.close(), backup.close(), gemini.close(), claude.close()]);
});
beforeEach(() => {
  primary.reset();
  backup.reset();
  primary.setDefault({});
  backup.setDefault({});
  gemini.requests.length = 0;
  claude.requests.length = 0;
});
const open: Gateway[] = [];
afterEach(async () => {
  for (const gateway of open.splice(0)) await gateway.close();
});

function gatewayOf(extra: Partial<GatewayConfig> = {}): Gateway {
  const gateway = createGateway({
    providers: {
      openai: openai({ baseURL: primary.url, apiKey: SECRET }),
      backup: openai({ baseURL: backup.url, apiKey: SECRET, name: "backup" }),
      google: google({ baseURL: gemini.url, apiKey: SECRET }),
      anthropic: anthropic({ baseURL: claude.url, apiKey: SECRET }),
    },
    models: {
      embed: { deployments: ["openai/text-embedding-3-small"], fallbacks: ["embed-backup"] },
      "embed-backup": "backup/text-embedding-3-small",
      "claude-first": { deployments: ["anthropic/claude-sonnet-4-5", "openai/text-embedding-3-small"], strategy: "ordered" },
      "claude-only": "anthropic/claude-sonnet-4-5",
    },
    // Round prices so costs are checked to the last digit.
    prices: { "text-embedding-3-small": { input: 0.02, output: 0 }, "gemini-embedding-001": { input: 0.15, output: 0 } },
    retry: { retries: 0, minDelayMs: 1, maxDelayMs: 10 },
    ...extra,
  });
  open.push(gateway);
  return gateway;
}

/** Little-endian float32 in base64, as OpenAI sends and the SDK decodes. */
function decodeBase64(text: string): number[] {
  const bytes = Buffer.from(text, "base64");
  return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
}

describe("gateway.embed over the openai SDK", () => {
  it("answers in OpenAI's embeddings shape, one vector per input in order, with usage and what the gateway did", async () => {
    primary.enqueue({ usage: { promptTokens: 1_000, completionTokens: 0 } });
    const res = await gatewayOf().embed({ model: "embed", input: ["the cat sat", "a dog ran"] });
    expect(res.object).toBe("list");
    expect(res.model).toBe("text-embedding-3-small");
    expect(res.usage).toEqual({ prompt_tokens: 1_000, total_tokens: 1_000 });
    expect(res.data.map((item) => [item.object, item.index])).toEqual([
      ["embedding", 0],
      ["embedding", 1],
    ]);
    const expected = hashedWordsVector("a dog ran", 64);
    (res.data[1]?.embedding as number[]).forEach((value, index) => expect(value).toBeCloseTo(expected[index]!, 5));
    expect(res.gateway).toMatchObject({ provider: "openai", deployment: "openai/text-embedding-3-small", route: "embed", cache: "miss" });
    // 1,000 tokens at $0.02 per 1M, exactly; nothing for output.
    expect(res.gateway.costUsd).toBe(0.00002);
    expect(primary.lastRequest?.path).toBe("/v1/embeddings");
    expect(primary.lastRequest?.body).toMatchObject({ model: "text-embedding-3-small", input: ["the cat sat", "a dog ran"] });
  });

  it("passes dimensions through and answers base64 when asked, the same floats OpenAI would encode", async () => {
    const gateway = gatewayOf();
    const floats = await gateway.embed({ model: "embed", input: "hello world", dimensions: 8 }, { cache: "bypass" });
    const encoded = await gateway.embed({ model: "embed", input: "hello world", dimensions: 8, encoding_format: "base64" }, { cache: "bypass" });
    expect(primary.requests.map((request) => request.body.dimensions)).toEqual([8, 8]);
    expect(floats.data[0]?.embedding).toHaveLength(8);
    expect(typeof encoded.data[0]?.embedding).toBe("string");
    expect(decodeBase64(encoded.data[0]!.embedding as string)).toEqual(Array.from(Float32Array.from(floats.data[0]!.embedding as number[])));
  });

  it("refuses bad input naming the field, sending nothing upstream", async () => {
    const gateway = gatewayOf();
    const cases: [unknown, string, string][] = [
      [{ model: "embed", input: [1, 2, 3] }, "input", "token arrays are not accepted"],
      [{ model: "embed", input: [[1, 2], [3]] }, "input", "token arrays are not accepted"],
      [{ model: "embed", input: "" }, "input", "non-empty"],
      [{ model: "embed", input: [] }, "input", "at least one"],
      [{ model: "embed", input: Array.from({ length: 2049 }, () => "x") }, "input", "at most 2048"],
      [{ model: "embed", input: "x", dimensions: 0 }, "dimensions", "positive"],
      [{ model: "embed", input: "x", encoding_format: "int8" }, "encoding_format", ""],
      [{ model: "embed", input: "x", temperature: 1 }, "", "temperature"],
      [{ model: "nope", input: "x" }, "model", "not a declared model"],
    ];
    for (const [body, path, words] of cases) {
      const error = await gateway.embed(body as never).catch((caught: unknown) => caught);
      expect(error, JSON.stringify(body).slice(0, 80)).toBeInstanceOf(InvalidRequestError);
      const issues = (error as InvalidRequestError).issues;
      expect(issues.some((issue) => issue.path.startsWith(path) && `${issue.path} ${issue.message}`.includes(words)), JSON.stringify(issues)).toBe(true);
      expect((error as Error).message.length).toBeLessThan(1_000);
    }
    expect(primary.requestCount).toBe(0);
  });

  it("falls back to the next route when the first fails", async () => {
    primary.setDefault({ fail: { status: 503 } });
    const res = await gatewayOf().embed({ model: "embed", input: "hi" });
    expect(res.gateway.deployment).toBe("backup/text-embedding-3-small");
    expect(res.gateway.attempts.map((attempt) => [attempt.deployment, attempt.status ?? 200])).toEqual([
      ["openai/text-embedding-3-small", 503],
      ["backup/text-embedding-3-small", 200],
    ]);
  });

  it("skips a provider without an embeddings API to the next deployment, and names it when it is the only one", async () => {
    const res = await gatewayOf().embed({ model: "claude-first", input: "hi" });
    expect(res.gateway.deployment).toBe("openai/text-embedding-3-small");
    const error = await gatewayOf()
      .embed({ model: "claude-only", input: "hi" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).issues[0]).toMatchObject({ path: "model" });
    expect((error as Error).message).toContain("anthropic cannot serve embeddings");
    expect(claude.requests).toHaveLength(0);
  });

  it("embeds through Gemini's batchEmbedContents with outputDimensionality", async () => {
    const res = await gatewayOf().embed({ model: "google/gemini-embedding-001", input: ["ab", "abcd"], dimensions: 5 });
    expect(gemini.requests[0]?.action).toBe("batchEmbedContents");
    expect(gemini.requests[0]?.body.requests).toContainEqual(expect.objectContaining({ outputDimensionality: 5 }));
    expect(res.data.map((item) => (item.embedding as number[])[0])).toEqual([2, 4]);
    expect(res.data[0]?.embedding).toHaveLength(5);
    // Gemini reports no token counts: estimated, and priced.
    expect(res.usage.prompt_tokens).toBeGreaterThan(0);
    expect(res.gateway.costUsd).toBeGreaterThan(0);
  });
});

describe("embeddings: cache, spend, limits, budgets, telemetry", () => {
  it("serves an identical call from the exact cache, keyed by scope, input, dimensions and encoding", async () => {
    const gateway = gatewayOf({ cache: { scope: "key" }, keys: { a: {}, b: {} } });
    primary.setDefault({ usage: { promptTokens: 500, completionTokens: 0 } });
    const first = await gateway.embed({ model: "embed", input: ["x y"] }, { key: "a" });
    const again = await gateway.embed({ model: "embed", input: ["x y"] }, { key: "a" });
    expect(again.gateway).toMatchObject({ cache: "exact", costUsd: 0, savedUsd: first.gateway.costUsd, deployment: "openai/text-embedding-3-small" });
    expect(again.data).toEqual(first.data);
    expect(primary.requestCount).toBe(1);
    const others: [EmbeddingBody, string][] = [
      [{ model: "embed", input: ["x y"], dimensions: 4 }, "a"],
      [{ model: "embed", input: ["x y"], encoding_format: "base64" }, "a"],
      [{ model: "embed", input: ["x y", "z"] }, "a"],
      [{ model: "embed", input: ["x y"] }, "b"],
    ];
    for (const [body, key] of others) {
      expect((await gateway.embed(body, { key })).gateway.cache).toBe("miss");
    }
    expect(primary.requestCount).toBe(5);
    expect(gateway.stats().cache?.exact).toMatchObject({ hits: 1, misses: 5 });
  });

  it("writes a spend record per call that spend.report includes, exactly costed", async () => {
    const gateway = gatewayOf({ cache: {} });
    primary.setDefault({ usage: { promptTokens: 3_000, completionTokens: 0 } });
    await gateway.embed({ model: "embed", input: "a" }, { user: "u1" });
    await gateway.embed({ model: "embed", input: "b" }, { user: "u1" });
    await gateway.embed({ model: "embed", input: "a" }, { user: "u1" });
    const rows = await gateway.spend.report({ by: "model" });
    expect(rows).toEqual([expect.objectContaining({ group: "embed", requests: 3, costUsd: 0.00012, inputTokens: 6_000, outputTokens: 0 })]);
  });

  it("counts against key RPM and TPM (input tokens), refusing before anything is sent", async () => {
    const gateway = gatewayOf({ keys: { app: { rpm: 2 } } });
    await gateway.embed({ model: "embed", input: "one" }, { key: "app" });
    await gateway.embed({ model: "embed", input: "two" }, { key: "app" });
    await expect(gateway.embed({ model: "embed", input: "three" }, { key: "app" })).rejects.toBeInstanceOf(RateLimitError);
    expect(primary.requestCount).toBe(2);

    // TPM settles to the input tokens billed: 450 of 500 spent, the next 400-word call waits.
    const tpm = gatewayOf({ keys: { small: { tpm: 500 } } });
    primary.enqueue({ usage: { promptTokens: 450, completionTokens: 0 } });
    await tpm.embed({ model: "embed", input: "word ".repeat(10) }, { key: "small" });
    await expect(tpm.embed({ model: "embed", input: "word ".repeat(400) }, { key: "small" })).rejects.toBeInstanceOf(RateLimitError);
    expect(primary.requestCount).toBe(3);
  });

  it("reserves input tokens x price and nothing for output; refuses a spent budget before sending", async () => {
    // At $1,000 per 1M output tokens, reserving the default output (4,096 tokens) would be $4:
    // far above this $0.01 budget. An embeddings call reserves its input only.
    const pricey = gatewayOf({
      keys: { app: { budget: { usd: 0.01, period: "day" } } },
      prices: { "text-embedding-3-small": { input: 1, output: 1_000 } },
    });
    primary.setDefault({ usage: { promptTokens: 2_000, completionTokens: 0 } });
    const res = await pricey.embed({ model: "embed", input: "short text" }, { key: "app" });
    expect(res.gateway.costUsd).toBe(0.002);
    expect((await pricey.budgets.get({ key: "app" }))).toMatchObject({ spentUsd: 0.002 });

    // $0.00005: the first call bills 2,500 tokens x $0.02 / 1M = all of it.
    const spent = gatewayOf({ keys: { app: { budget: { usd: 0.00005, period: "day" } } } });
    primary.reset();
    primary.setDefault({ usage: { promptTokens: 2_500, completionTokens: 0 } });
    await spent.embed({ model: "embed", input: "first" }, { key: "app" });
    await expect(spent.embed({ model: "embed", input: "second" }, { key: "app" })).rejects.toBeInstanceOf(BudgetExceededError);
    expect(primary.requestCount).toBe(1);
  });

  it("names the span `embeddings <model>` with gen_ai.operation.name embeddings", async () => {
    const exporter = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer("test");
    const gateway = gatewayOf({ telemetry: { tracer } });
    await gateway.embed({ model: "embed", input: "hi" });
    const spans = exporter.getFinishedSpans();
    const call = spans.find((candidate) => candidate.name === "embeddings embed");
    expect(call?.attributes["gen_ai.operation.name"]).toBe("embeddings");
    const attempt = spans.find((candidate) => candidate.name === "embeddings text-embedding-3-small");
    expect(attempt?.attributes["gen_ai.operation.name"]).toBe("embeddings");
    expect(attempt?.attributes["gen_ai.usage.input_tokens"]).toBeGreaterThan(0);
  });
});

describe("the semantic cache's own embeddings", () => {
  /** An embedder fake that maps every text to one direction: any second question is a semantic match. */
  let embedder: FakeOpenAI;
  beforeAll(async () => {
    embedder = await startFakeOpenAI({ embed: () => [1, 0, 0] });
  });
  afterAll(async () => {
    await embedder.close();
  });
  beforeEach(() => {
    embedder.reset();
    // 1,000 tokens at $0.02 per 1M: $0.00002 per lookup.
    embedder.setDefault({ usage: { promptTokens: 1_000, completionTokens: 0 } });
  });

  function semanticGateway(extra: Partial<GatewayConfig> = {}): Gateway {
    const gateway = createGateway({
      providers: { p: mockProvider({ reply: "an answer" }), openai: openai({ baseURL: embedder.url, apiKey: SECRET }) },
      models: { m: "p/model-x" },
      prices: { "model-x": { input: 100, output: 200 }, "text-embedding-3-small": { input: 0.02, output: 0 } },
      cache: { semantic: { embed: "openai/text-embedding-3-small", threshold: 0.9 } },
      retry: { retries: 0 },
      ...extra,
    });
    open.push(gateway);
    return gateway;
  }
  const ask = (content: string) => ({ model: "m", messages: [{ role: "user" as const, content }] });

  it("bills each lookup's embedding to its call: spend.report and the budget include it, hit or miss", async () => {
    const gateway = semanticGateway({ keys: { app: { budget: { usd: 10, period: "day" } } } });
    const miss = await gateway.chat(ask("What is the capital of France?"), { key: "app" });
    const hit = await gateway.chat(ask("Which city is France's capital?"), { key: "app" });
    expect(embedder.requestCount).toBe(2);
    expect(hit.gateway).toMatchObject({ cache: "semantic", costUsd: 0.00002 });
    // The stored answer's saving excludes the lookup that found it.
    expect(hit.gateway.savedUsd).toBe(Math.round((miss.gateway.costUsd - 0.00002) * 1e12) / 1e12);
    const [row] = await gateway.spend.report({ by: "key" });
    expect(row).toMatchObject({ requests: 2 });
    expect(row!.costUsd).toBe(Math.round((miss.gateway.costUsd + 0.00002) * 1e12) / 1e12);
    expect((await gateway.budgets.get({ key: "app" }))?.spentUsd).toBe(row!.costUsd);
  });

  it("reserves the lookup's embedding with the call: a budget at the edge is never overspent, and settles to the actual", async () => {
    // Output at $1 per 1M, input free, max_tokens 10: the answer costs exactly its worst case, $0.00001.
    // The embedding model at $1 per 1M input; the fake bills one token per byte of the text, the most
    // a byte-level tokenizer can, so the reservation's bound (bytes + 8 tokens) covers it.
    const question = "What is the tallest mountain on Earth?";
    const bytes = Buffer.byteLength(question, "utf8");
    embedder.setDefault({ usage: { promptTokens: bytes, completionTokens: 0 } });
    const answerUsd = 0.00001;
    const embedUsd = bytes / 1e6;
    const boundUsd = (bytes + 8) / 1e6;
    const edgeGateway = (usd: number): Gateway =>
      semanticGateway({
        providers: { p: mockProvider({ reply: "Everest", usage: { completion_tokens: 10 } }), openai: openai({ baseURL: embedder.url, apiKey: SECRET }) },
        prices: { "model-x": { input: 0, output: 1 }, "text-embedding-3-small": { input: 1, output: 0 } },
        keys: { app: { budget: { usd, period: "day" } } },
      });
    const body = { ...ask(question), max_tokens: 10 };

    // A budget that fits the answer but not its lookup: refused up front, nothing embedded or spent.
    const tight = edgeGateway(answerUsd);
    await expect(tight.chat(body, { key: "app" })).rejects.toBeInstanceOf(BudgetExceededError);
    expect(embedder.requestCount).toBe(0);
    expect(await tight.spend.report({ by: "key" })).toEqual([]);
    expect((await tight.budgets.get({ key: "app" }))?.spentUsd ?? 0).toBe(0);

    // Exactly the answer plus the lookup's bound: served, settled to the actual cost, counted once.
    const edge = edgeGateway(Math.round((answerUsd + boundUsd) * 1e12) / 1e12);
    const served = await edge.chat(body, { key: "app" });
    expect(embedder.requestCount).toBe(1);
    const spentUsd = Math.round((answerUsd + embedUsd) * 1e12) / 1e12;
    expect(served.gateway.costUsd).toBe(spentUsd);
    const [row] = await edge.spend.report({ by: "key" });
    expect(row).toMatchObject({ requests: 1, costUsd: spentUsd });
    expect(await edge.budgets.get({ key: "app" })).toMatchObject({ spentUsd, reservedUsd: 0 });
    // What is left cannot hold another answer and lookup: refused, and the budget is not passed.
    await expect(edge.chat({ ...ask("Which peak is the highest?"), max_tokens: 10 }, { key: "app" })).rejects.toBeInstanceOf(BudgetExceededError);
    expect(embedder.requestCount).toBe(1);
    expect((await edge.budgets.get({ key: "app" }))?.spentUsd).toBeLessThanOrEqual(answerUsd + boundUsd);
  });

  it("a call that fails after its lookup was embedded still records and spends that embedding", async () => {
    const gateway = semanticGateway({
      providers: { p: mockProvider({ reply: "an answer", fail: { status: 500, times: Infinity } }), openai: openai({ baseURL: embedder.url, apiKey: SECRET }) },
      keys: { app: { budget: { usd: 10, period: "day" } } },
    });
    await expect(gateway.chat(ask("What is the capital of Peru?"), { key: "app" })).rejects.toMatchObject({ code: "all_failed" });
    expect(embedder.requestCount).toBe(1);
    // The provider billed nothing; the embedding ($0.00002) was paid: one record, in the budget too.
    const [row] = await gateway.spend.report({ by: "key" });
    expect(row).toMatchObject({ requests: 1, costUsd: 0.00002 });
    expect(await gateway.budgets.get({ key: "app" })).toMatchObject({ spentUsd: 0.00002, reservedUsd: 0 });
  });

  it("embeds only once limits and budgets admitted the call", async () => {
    const limited = semanticGateway({ keys: { app: { rpm: 1 } } });
    await limited.chat(ask("first question"), { key: "app" });
    await expect(limited.chat(ask("second question"), { key: "app" })).rejects.toBeInstanceOf(RateLimitError);
    expect(embedder.requestCount).toBe(1);

    const broke = semanticGateway({ keys: { app: { budget: { usd: 0, period: "day" } } } });
    await expect(broke.chat(ask("third question"), { key: "app" })).rejects.toBeInstanceOf(BudgetExceededError);
    expect(embedder.requestCount).toBe(1);
  });
});
