import { describe, expect, it } from "vitest";
import {
  InvalidRequestError,
  createGateway,
  memorySpendStore,
  type ChatBody,
  type SpendRecord,
  type SpendStore,
} from "../src/index.js";
import { mockProvider } from "../src/testing.js";

const ask = (model: string, content = "hello", extra: Partial<ChatBody> = {}): Omit<ChatBody, "stream"> => ({
  model,
  messages: [{ role: "user", content }],
  ...extra,
});

/** $1 per 1M tokens in, $2 out, for the mock's models. */
const prices = { x: { input: 1, output: 2 }, y: { input: 10, output: 20 } };

describe("spend report", () => {
  it("finds the heavy user", async () => {
    const gateway = createGateway({ providers: { p: mockProvider() }, prices });
    const long = "tell me everything about budgets ".repeat(200);
    for (let i = 0; i < 5; i++) await gateway.chat(ask("p/x"), { user: "light-1" });
    for (let i = 0; i < 3; i++) await gateway.chat(ask("p/x", long), { user: "heavy" });
    for (let i = 0; i < 5; i++) await gateway.chat(ask("p/x"), { user: "light-2" });
    await gateway.chat(ask("p/x"));
    const rows = await gateway.spend.report({ by: "user" });
    expect(rows[0]).toMatchObject({ group: "heavy", requests: 3 });
    expect(rows[0]!.costUsd).toBeGreaterThan(10 * rows[1]!.costUsd);
    expect(rows.map((row) => row.group).sort()).toEqual(["(none)", "heavy", "light-1", "light-2"]);
    expect(rows.reduce((sum, row) => sum + row.requests, 0)).toBe(14);
    await gateway.close();
  });

  it("groups by key, model, provider and tag (a call counts once under each of its tags)", async () => {
    const gateway = createGateway({
      providers: { p: mockProvider({ usage: { prompt_tokens: 1_000, completion_tokens: 100 } }), q: mockProvider({ usage: { prompt_tokens: 1_000, completion_tokens: 100 } }) },
      models: { cheap: "p/x", pricey: "q/y" },
      prices,
    });
    await gateway.chat(ask("cheap"), { key: "a", tags: ["checkout", "beta"] });
    await gateway.chat(ask("pricey"), { key: "b", tags: ["checkout"] });
    await gateway.chat(ask("pricey"), { key: "b" });
    const cheap = (1_000 * 1 + 100 * 2) / 1e6;
    const pricey = (1_000 * 10 + 100 * 20) / 1e6;

    expect(await gateway.spend.report({ by: "key" })).toEqual([
      { group: "b", requests: 2, inputTokens: 2_000, outputTokens: 200, costUsd: 2 * pricey, savedUsd: 0 },
      { group: "a", requests: 1, inputTokens: 1_000, outputTokens: 100, costUsd: cheap, savedUsd: 0 },
    ]);
    expect((await gateway.spend.report({ by: "model" })).map((row) => [row.group, row.requests])).toEqual([["pricey", 2], ["cheap", 1]]);
    expect((await gateway.spend.report({ by: "provider" })).map((row) => [row.group, row.costUsd])).toEqual([["q", 2 * pricey], ["p", cheap]]);
    expect((await gateway.spend.report({ by: "tag" })).map((row) => [row.group, row.requests])).toEqual([
      ["checkout", 2],
      ["(none)", 1],
      ["beta", 1],
    ]);
    await gateway.close();
  });

  it("filters by time: since inclusive, until exclusive", async () => {
    const gateway = createGateway({ providers: { p: mockProvider() }, prices });
    await gateway.chat(ask("p/x"), { user: "early" });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const middle = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await gateway.chat(ask("p/x"), { user: "late" });
    expect((await gateway.spend.report({ by: "user", since: middle })).map((row) => row.group)).toEqual(["late"]);
    expect((await gateway.spend.report({ by: "user", until: new Date(middle) })).map((row) => row.group)).toEqual(["early"]);
    await gateway.close();
  });

  it("rejects an unknown grouping", async () => {
    const gateway = createGateway({ providers: { p: mockProvider() } });
    await expect(gateway.spend.report({ by: "team" as never })).rejects.toBeInstanceOf(InvalidRequestError);
    await gateway.close();
  });

  it("keeps totals right after old raw records are evicted", async () => {
    const gateway = createGateway({ providers: { p: mockProvider({ usage: { prompt_tokens: 10, completion_tokens: 5 } }) }, prices, spend: { maxRecords: 5 } });
    for (let i = 0; i < 12; i++) await gateway.chat(ask("p/x"), { user: i % 3 === 0 ? "a" : "b" });
    const rows = await gateway.spend.report({ by: "user" });
    expect(rows).toEqual([
      { group: "b", requests: 8, inputTokens: 80, outputTokens: 40, costUsd: 8 * 20e-6, savedUsd: 0 },
      { group: "a", requests: 4, inputTokens: 40, outputTokens: 20, costUsd: 4 * 20e-6, savedUsd: 0 },
    ]);
    await gateway.close();
  });
});

describe("one record per call", () => {
  it("counts nothing twice across retries and fallbacks: only the attempt that served costs", async () => {
    const records: SpendRecord[] = [];
    const flaky = mockProvider({ fail: { status: 503, times: 3 }, usage: { prompt_tokens: 100, completion_tokens: 10 } });
    const backup = mockProvider({ usage: { prompt_tokens: 100, completion_tokens: 10 } });
    const gateway = createGateway({
      providers: { flaky, backup },
      models: { main: { deployments: ["flaky/x"], fallbacks: ["spare"] }, spare: "backup/y" },
      retry: { retries: 2, minDelayMs: 1, maxDelayMs: 2 },
      prices,
      spend: { onRecord: (record) => void records.push(record) },
    });
    const res = await gateway.chat(ask("main"), { key: "k" });
    expect(res.gateway.attempts).toHaveLength(4);
    await gateway.close();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      key: "k",
      model: "main",
      route: "spare",
      deployment: "backup/y",
      provider: "backup",
      inputTokens: 100,
      outputTokens: 10,
      costUsd: (100 * 10 + 10 * 20) / 1e6,
      cache: "miss",
      estimated: false,
    });
  });

  it("records every one of many concurrent calls exactly once", async () => {
    const records: SpendRecord[] = [];
    const gateway = createGateway({
      providers: { p: mockProvider({ latencyMs: 5, usage: { prompt_tokens: 10, completion_tokens: 10 } }) },
      prices,
      spend: { onRecord: (record) => void records.push(record) },
    });
    await Promise.all(Array.from({ length: 100 }, (_, i) => gateway.chat(ask("p/x"), { user: `u${i % 7}` })));
    const rows = await gateway.spend.report({ by: "user" });
    expect(rows.reduce((sum, row) => sum + row.requests, 0)).toBe(100);
    await gateway.close();
    expect(new Set(records.map((record) => record.id)).size).toBe(100);
  });

  it("writes nothing for a call that failed before any answer", async () => {
    const gateway = createGateway({ providers: { p: mockProvider({ fail: { status: 400 } }) }, prices });
    await expect(gateway.chat(ask("p/x"))).rejects.toBeDefined();
    expect(await gateway.spend.report({ by: "key" })).toEqual([]);
    await gateway.close();
  });

  it("records a cache hit with what it saved and no cost", async () => {
    const records: SpendRecord[] = [];
    const gateway = createGateway({
      providers: { p: mockProvider({ usage: { prompt_tokens: 1_000, completion_tokens: 100 } }) },
      prices,
      cache: { exact: {} },
      spend: { onRecord: (record) => void records.push(record) },
    });
    const body = ask("p/x", "cache me", { temperature: 0 });
    const first = await gateway.chat(body);
    const second = await gateway.chat(body);
    expect(second.gateway.cache).toBe("exact");
    await gateway.close();
    expect(records).toHaveLength(2);
    // A hit billed nothing at any provider: no deployment, no tokens, no cost; what it saved.
    expect(records[1]).toMatchObject({ cache: "exact", deployment: "", provider: "", costUsd: 0, savedUsd: first.gateway.costUsd, inputTokens: 0, outputTokens: 0, estimated: false });
    expect(first.gateway.costUsd).toBeCloseTo(0.0012, 12);
  });

  it("records what an abandoned stream delivered, estimated when usage never arrived", async () => {
    const records: SpendRecord[] = [];
    const gateway = createGateway({
      providers: { p: mockProvider({ reply: "alpha beta gamma delta epsilon zeta eta theta", chunkDelayMs: 2 }) },
      prices,
      spend: { onRecord: (record) => void records.push(record) },
    });
    const stream = await gateway.chat({ ...ask("p/x"), stream: true }, { user: "reader" });
    let pieces = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content && ++pieces === 3) break;
    }
    await gateway.close();
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record).toMatchObject({ user: "reader", estimated: true, deployment: "p/x" });
    expect(record!.outputTokens).toBeGreaterThan(0);
    expect(record!.outputTokens).toBeLessThan(8); // three words delivered, not the whole reply
    expect(record!.costUsd).toBeCloseTo((record!.inputTokens * 1 + record!.outputTokens * 2) / 1e6, 12);
  });

  it("records nonsensical usage as estimated, never as negative spend", async () => {
    const records: SpendRecord[] = [];
    const gateway = createGateway({
      providers: { p: mockProvider({ usage: () => ({ prompt_tokens: -50, completion_tokens: Number.NaN, total_tokens: 0 }) }) },
      prices,
      spend: { onRecord: (record) => void records.push(record) },
    });
    const res = await gateway.chat(ask("p/x"));
    await gateway.close();
    expect(res.gateway.costUsd).toBeGreaterThan(0);
    expect(records[0]).toMatchObject({ estimated: true });
    expect(records[0]!.inputTokens).toBeGreaterThan(0);
    expect(records[0]!.costUsd).toBeGreaterThan(0);
  });

  it("marks a call to a model without a price as estimated, costing 0", async () => {
    const records: SpendRecord[] = [];
    const gateway = createGateway({ providers: { p: mockProvider() }, spend: { onRecord: (record) => void records.push(record) } });
    await gateway.chat(ask("p/no-price"));
    await gateway.close();
    expect(records[0]).toMatchObject({ costUsd: 0, estimated: true });
  });
});

describe("delivery", () => {
  it("an onRecord hook that throws, then recovers, loses nothing and repeats nothing", async () => {
    let down = true;
    const delivered: string[] = [];
    let failures = 0;
    const gateway = createGateway({
      providers: { p: mockProvider() },
      spend: {
        onRecord: (record) => {
          if (down) {
            failures++;
            throw new Error("warehouse unavailable");
          }
          delivered.push(record.id);
        },
      },
    });
    for (let i = 0; i < 10; i++) await gateway.chat(ask("p/x"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(failures).toBeGreaterThan(0);
    expect(delivered).toHaveLength(0);
    down = false;
    // Retried with backoff on its own (first retry after 100 ms), without waiting for close().
    for (let waited = 0; delivered.length < 10 && waited < 3_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(delivered).toHaveLength(10);
    expect(new Set(delivered).size).toBe(10);
    await gateway.close();
    expect(delivered).toHaveLength(10);
  });

  it("a store that throws keeps records buffered; reports and close() flush them once it recovers", async () => {
    let down = true;
    const inner = memorySpendStore();
    const appended: string[] = [];
    const flaky: SpendStore = {
      append(records) {
        if (down) throw new Error("database down");
        appended.push(...records.map((record) => record.id));
        return inner.append(records);
      },
      report: (query) => inner.report(query),
    };
    const gateway = createGateway({ providers: { p: mockProvider() }, prices, spend: { store: flaky } });
    for (let i = 0; i < 5; i++) await gateway.chat(ask("p/x"), { user: "u" });
    expect(await gateway.spend.report({ by: "user" })).toEqual([]); // still buffered
    down = false;
    for (let i = 0; i < 3; i++) await gateway.chat(ask("p/x"), { user: "u" });
    await gateway.close();
    expect(appended).toHaveLength(8);
    expect(new Set(appended).size).toBe(8);
    expect((await inner.report({ by: "user" }))[0]).toMatchObject({ group: "u", requests: 8 });
  });

  it("close() delivers records still in the buffer", async () => {
    const delivered: SpendRecord[] = [];
    const gateway = createGateway({
      providers: { p: mockProvider() },
      spend: { onRecord: async (record) => void delivered.push(record) },
    });
    const pending = Array.from({ length: 20 }, () => gateway.chat(ask("p/x")));
    await Promise.all(pending);
    await gateway.close();
    expect(delivered).toHaveLength(20);
  });
});
