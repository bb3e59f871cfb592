import { afterEach, describe, expect, it } from "vitest";
import { createGateway, type ChatBody, type Gateway, type GatewayConfig } from "../src/index.js";
import { mockProvider, type MockProvider, type MockProviderOptions } from "../src/testing.js";

/** A request without `stream`, so `chat()` resolves to a plain response. */
type PlainBody = Omit<ChatBody, "stream">;

/**
 * A deterministic embedder with known similarities: every text maps to a fixed direction.
 * cos(capital, paraphrase) = 0.98; cos(capital, near) = 0.9; unrelated texts are orthogonal.
 */
const VECTORS: Record<string, number[]> = {
  "What is the capital of France?": [1, 0, 0],
  "what's France's capital city": [0.98, Math.sqrt(1 - 0.98 ** 2), 0],
  "What is the capital of Belgium?": [0.9, 0, Math.sqrt(1 - 0.9 ** 2)],
  "How tall is Mount Everest?": [0, 0, 1],
};

function testEmbedder() {
  const texts: string[] = [];
  const embed = async (input: string[]): Promise<number[][]> => {
    texts.push(...input);
    return input.map((text) => VECTORS[text] ?? [0, 1, 0]);
  };
  return { embed, texts };
}

const ask = (content: string, extra: Partial<PlainBody> = {}): PlainBody => ({
  model: "m",
  messages: [{ role: "user", content }],
  ...extra,
});

const open: Gateway[] = [];
afterEach(async () => {
  for (const gateway of open.splice(0)) await gateway.close();
});

type SemanticOptions = Partial<NonNullable<NonNullable<GatewayConfig["cache"]>["semantic"]>>;

function setup(semantic: SemanticOptions = {}, options: { scope?: "key" | "user" | "global"; provider?: MockProviderOptions; exactTtlMs?: number } = {}) {
  let served = 0;
  const provider: MockProvider = mockProvider({ reply: () => `answer #${++served}`, ...options.provider });
  const embedder = testEmbedder();
  const gateway = createGateway({
    providers: { p: provider },
    models: { m: "p/model-x" },
    retry: { retries: 0 },
    prices: { "model-x": { input: 100, output: 200 } },
    cache: {
      semantic: { embed: embedder.embed, threshold: 0.95, ...semantic },
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options.exactTtlMs ? { exact: { ttlMs: options.exactTtlMs } } : {}),
    },
  });
  open.push(gateway);
  return { gateway, provider, embedder };
}

describe("semantic cache: similarity", () => {
  it("serves a paraphrase above the threshold from the cache", async () => {
    const { gateway, provider } = setup();
    const first = await gateway.chat(ask("What is the capital of France?"));
    const paraphrase = await gateway.chat(ask("what's France's capital city"));
    expect(provider.calls).toBe(1);
    expect(first.gateway.costUsd).toBeGreaterThan(0);
    expect(paraphrase.gateway).toMatchObject({ cache: "semantic", costUsd: 0, provider: "p", deployment: "p/model-x" });
    expect(paraphrase.gateway.savedUsd).toBe(first.gateway.costUsd);
    expect(paraphrase.choices[0]?.message.content).toBe("answer #1");
    expect(gateway.stats().cache?.semantic).toMatchObject({ hits: 1, misses: 1, hitRate: 0.5, entries: 1, embedFailures: 0 });
  });

  it("calls the provider for a text below the threshold", async () => {
    const { gateway, provider } = setup();
    await gateway.chat(ask("What is the capital of France?"));
    const near = await gateway.chat(ask("What is the capital of Belgium?"));
    const unrelated = await gateway.chat(ask("How tall is Mount Everest?"));
    expect([near.gateway.cache, unrelated.gateway.cache]).toEqual(["miss", "miss"]);
    expect(near.choices[0]?.message.content).toBe("answer #2");
    expect(provider.calls).toBe(3);
  });

  it("uses the configured threshold: 0.85 lets the 0.9-similar text match", async () => {
    const { gateway, provider } = setup({ threshold: 0.85 });
    await gateway.chat(ask("What is the capital of France?"));
    expect((await gateway.chat(ask("What is the capital of Belgium?"))).gateway.cache).toBe("semantic");
    expect(provider.calls).toBe(1);
  });

  it("with threshold 1 serves only the same direction", async () => {
    const { gateway, provider } = setup({ threshold: 1 });
    await gateway.chat(ask("What is the capital of France?"));
    expect((await gateway.chat(ask("what's France's capital city"))).gateway.cache).toBe("miss");
    // The same text (differing only in a field outside the key) is the exact tier's to answer.
    expect((await gateway.chat(ask("What is the capital of France?", { user: "x" }))).gateway.cache).toBe("exact");
    expect(provider.calls).toBe(2);
  });

  it("lets a call be stricter than the config, or looser only down to the configured floor", async () => {
    const { gateway, provider } = setup({ threshold: 0.95, minThreshold: 0.92 });
    await gateway.chat(ask("What is the capital of France?"));
    // 0.98-similar: a stricter call (0.99) misses where the config's 0.95 would hit.
    expect((await gateway.chat(ask("what's France's capital city"), { semanticThreshold: 0.99 })).gateway.cache).toBe("miss");
    // 0.9-similar: asking for 0.5 is clamped to the floor 0.92, so it still misses.
    expect((await gateway.chat(ask("What is the capital of Belgium?"), { semanticThreshold: 0.5 })).gateway.cache).toBe("miss");
    expect(provider.calls).toBe(3);
  });

  it("never lets a call go below the threshold when no floor is configured", async () => {
    const { gateway } = setup({ threshold: 0.95 });
    await gateway.chat(ask("What is the capital of France?"));
    expect((await gateway.chat(ask("What is the capital of Belgium?"), { semanticThreshold: 0.1 })).gateway.cache).toBe("miss");
  });

  it("rejects a floor above the threshold", () => {
    expect(() => setup({ threshold: 0.9, minThreshold: 0.95 })).toThrow(/cache\.semantic\.minThreshold: must not be above threshold/);
  });

  it("resolves 'provider/model' to that adapter's embed()", async () => {
    const embeddings = mockProvider({ embedding: (text) => VECTORS[text] ?? [0, 1, 0] });
    const chat = mockProvider({ reply: "Paris" });
    const gateway = createGateway({
      providers: { chat, embeddings },
      models: { m: "chat/x" },
      cache: { semantic: { embed: "embeddings/text-embedding-test", threshold: 0.95 } },
    });
    open.push(gateway);
    await gateway.chat(ask("What is the capital of France?"));
    const res = await gateway.chat(ask("what's France's capital city"));
    expect(res.gateway.cache).toBe("semantic");
    expect(chat.calls).toBe(1);
    expect(embeddings.calls).toBe(2);
  });

  it("replays a semantic hit as a stream", async () => {
    const { gateway } = setup({}, { provider: { reply: "Paris is the capital." } });
    await gateway.chat(ask("What is the capital of France?"));
    const stream = await gateway.chat({ ...ask("what's France's capital city"), stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("Paris is the capital.");
    expect((await stream.finalResponse()).gateway.cache).toBe("semantic");
  });
});

describe("semantic cache: partitions", () => {
  it("never serves another key's answer", async () => {
    const { gateway, provider } = setup();
    await gateway.chat(ask("What is the capital of France?"), { key: "team-a" });
    const other = await gateway.chat(ask("what's France's capital city"), { key: "team-b" });
    expect(other.gateway.cache).toBe("miss");
    expect((await gateway.chat(ask("what's France's capital city"), { key: "team-a" })).gateway.cache).toBe("semantic");
    expect(provider.calls).toBe(2);
  });

  it("with scope 'user', never serves another user's answer", async () => {
    const { gateway } = setup({}, { scope: "user" });
    await gateway.chat(ask("What is the capital of France?"), { key: "k", user: "u1" });
    expect((await gateway.chat(ask("what's France's capital city"), { key: "k", user: "u2" })).gateway.cache).toBe("miss");
    expect((await gateway.chat(ask("what's France's capital city"), { key: "k", user: "u1" })).gateway.cache).toBe("semantic");
  });

  it("with scope 'global', serves across keys", async () => {
    const { gateway } = setup({}, { scope: "global" });
    await gateway.chat(ask("What is the capital of France?"), { key: "a" });
    expect((await gateway.chat(ask("what's France's capital city"), { key: "b" })).gateway.cache).toBe("semantic");
  });

  const exactParts: [string, Partial<PlainBody>][] = [
    ["max_tokens", { max_tokens: 50 }],
    ["tools", { tools: [{ type: "function", function: { name: "search" } }] }],
    ["response_format", { response_format: { type: "json_object" } }],
    ["temperature 0 vs unset", { temperature: 0 }],
    ["seed", { seed: 1 }],
  ];
  for (const [field, change] of exactParts) {
    it(`never matches across a different ${field}`, async () => {
      const { gateway, provider } = setup();
      await gateway.chat(ask("What is the capital of France?"));
      expect((await gateway.chat(ask("what's France's capital city", change))).gateway.cache).toBe("miss");
      expect(provider.calls).toBe(2);
    });
  }

  it("never matches across a different system prompt", async () => {
    const { gateway, provider } = setup();
    const withSystem = (system: string, content: string): PlainBody => ({
      model: "m",
      messages: [
        { role: "system", content: system },
        { role: "user", content },
      ],
    });
    await gateway.chat(withSystem("Answer like a pirate.", "What is the capital of France?"));
    expect((await gateway.chat(withSystem("Answer like a lawyer.", "what's France's capital city"))).gateway.cache).toBe("miss");
    expect((await gateway.chat(withSystem("Answer like a pirate.", "what's France's capital city"))).gateway.cache).toBe("semantic");
    expect(provider.calls).toBe(2);
  });
});

describe("semantic cache: what is eligible", () => {
  it("leaves sampled requests (temperature above 0) to the exact tier without embedding them", async () => {
    const { gateway, provider, embedder } = setup();
    await gateway.chat(ask("What is the capital of France?", { temperature: 0.7 }));
    expect((await gateway.chat(ask("what's France's capital city", { temperature: 0.7 }))).gateway.cache).toBe("miss");
    expect(embedder.texts).toEqual([]);
    expect(provider.calls).toBe(2);
  });

  it("leaves conversations longer than maxMessages to the exact tier", async () => {
    const { gateway, embedder } = setup({ maxMessages: 2 });
    const long = (last: string): PlainBody => ({
      model: "m",
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello!" },
        { role: "user", content: last },
      ],
    });
    await gateway.chat(long("What is the capital of France?"));
    expect((await gateway.chat(long("what's France's capital city"))).gateway.cache).toBe("miss");
    expect(embedder.texts).toEqual([]);
  });

  it("never replays an earlier turn of an agent loop (tool results)", async () => {
    const { gateway, embedder } = setup();
    const turn = (result: string): PlainBody => ({
      model: "m",
      messages: [
        { role: "user", content: "What is the capital of France?" },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c1", content: result },
      ],
    });
    await gateway.chat(turn("Paris"));
    expect((await gateway.chat(turn("Paris, France"))).gateway.cache).toBe("miss");
    expect(embedder.texts).toEqual([]);
  });

  it("embeds the conversation text, not the system prompt", async () => {
    const { gateway, embedder } = setup();
    await gateway.chat({
      model: "m",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "What is the capital of France?" },
      ],
    });
    expect(embedder.texts).toEqual(["What is the capital of France?"]);
  });
});

describe("semantic cache: failures and bounds", () => {
  it("keeps chats working through an embedding outage, and counts the failures", async () => {
    let failing = true;
    const calls: string[][] = [];
    const provider = mockProvider({ reply: "ok" });
    const gateway = createGateway({
      providers: { p: provider },
      models: { m: "p/x" },
      cache: {
        semantic: {
          embed: async (texts) => {
            calls.push(texts);
            if (failing) throw new Error("embedding service down");
            return texts.map((text) => VECTORS[text] ?? [0, 1, 0]);
          },
          threshold: 0.95,
        },
      },
    });
    open.push(gateway);
    const first = await gateway.chat(ask("What is the capital of France?"));
    const second = await gateway.chat(ask("what's France's capital city"));
    expect([first.gateway.cache, second.gateway.cache]).toEqual(["miss", "miss"]);
    expect(first.choices[0]?.message.content).toBe("ok");
    expect(provider.calls).toBe(2);
    expect(gateway.stats().cache?.semantic?.embedFailures).toBe(2);
    // The exact tier still works during the outage.
    expect((await gateway.chat(ask("What is the capital of France?"))).gateway.cache).toBe("exact");
    // After three failures in a row the embedder rests instead of failing every call.
    await gateway.chat(ask("How tall is Mount Everest?"));
    const before = calls.length;
    failing = false;
    await gateway.chat(ask("Another question"));
    expect(calls.length).toBe(before);
    expect(gateway.stats().cache?.semantic?.embedFailures).toBe(3);
  });

  it("gives up on a slow embedder after embedTimeoutMs and answers anyway", async () => {
    const provider = mockProvider({ reply: "ok" });
    const gateway = createGateway({
      providers: { p: provider },
      models: { m: "p/x" },
      cache: { semantic: { embed: () => new Promise<number[][]>(() => {}), threshold: 0.9, embedTimeoutMs: 30 } },
    });
    open.push(gateway);
    const startedAt = performance.now();
    const res = await gateway.chat(ask("What is the capital of France?"));
    expect(res.choices[0]?.message.content).toBe("ok");
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(25);
    expect(gateway.stats().cache?.semantic?.embedFailures).toBe(1);
  });

  it("treats a malformed vector as a failure, not a crash", async () => {
    const provider = mockProvider({ reply: "ok" });
    const gateway = createGateway({
      providers: { p: provider },
      models: { m: "p/x" },
      cache: { semantic: { embed: async () => [[0, 0, 0]], threshold: 0.9 } },
    });
    open.push(gateway);
    expect((await gateway.chat(ask("What is the capital of France?"))).choices[0]?.message.content).toBe("ok");
    expect(gateway.stats().cache?.semantic?.embedFailures).toBe(1);
  });

  it("holds at most maxEntries vectors, dropping the least recently used", async () => {
    const { gateway } = setup({ maxEntries: 2 });
    await gateway.chat(ask("What is the capital of France?"));
    await gateway.chat(ask("How tall is Mount Everest?"));
    await gateway.chat(ask("some other question"));
    expect(gateway.stats().cache?.semantic?.entries).toBe(2);
    // France was the least recently used: its paraphrase no longer matches.
    expect((await gateway.chat(ask("what's France's capital city"))).gateway.cache).toBe("miss");
  });

  it("stops matching after the semantic ttlMs", async () => {
    const { gateway } = setup({ ttlMs: 40 });
    await gateway.chat(ask("What is the capital of France?"));
    expect((await gateway.chat(ask("what's France's capital city"))).gateway.cache).toBe("semantic");
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await gateway.chat(ask("what's France's capital city"))).gateway.cache).toBe("miss");
  });

  it("does not match an answer the exact tier has dropped", async () => {
    const { gateway } = setup({}, { exactTtlMs: 40 });
    await gateway.chat(ask("What is the capital of France?"));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await gateway.chat(ask("what's France's capital city"))).gateway.cache).toBe("miss");
  });

  it("'refresh' stores a fresh answer that later paraphrases get", async () => {
    const { gateway } = setup();
    await gateway.chat(ask("What is the capital of France?"));
    await gateway.chat(ask("What is the capital of France?"), { cache: "refresh" });
    const res = await gateway.chat(ask("what's France's capital city"));
    expect(res.gateway.cache).toBe("semantic");
    expect(res.choices[0]?.message.content).toBe("answer #2");
  });

  it("'bypass' neither embeds nor stores", async () => {
    const { gateway, embedder } = setup();
    await gateway.chat(ask("What is the capital of France?"), { cache: "bypass" });
    expect(embedder.texts).toEqual([]);
    expect((await gateway.chat(ask("what's France's capital city"))).gateway.cache).toBe("miss");
  });
});
