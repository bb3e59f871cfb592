import { afterEach, describe, expect, it } from "vitest";
import {
  ConfigError,
  ProviderError,
  createGateway,
  type CacheEvent,
  type ChatBody,
  type ChatChunk,
  type Gateway,
  type GatewayConfig,
} from "../src/index.js";
import { mockProvider, type MockProvider, type MockProviderOptions } from "../src/testing.js";

/** A request without `stream`, so `chat()` resolves to a plain response. */
type PlainBody = Omit<ChatBody, "stream">;

const ask = (content = "hello", extra: Partial<PlainBody> = {}): PlainBody => ({
  model: "m",
  messages: [{ role: "user", content }],
  ...extra,
});

const open: Gateway[] = [];
afterEach(async () => {
  for (const gateway of open.splice(0)) await gateway.close();
});

/** A gateway with one mock provider behind route `m`, cache on, and a counter of answers given. */
function setup(cache: GatewayConfig["cache"] = {}, providerOptions: MockProviderOptions = {}, extra: Partial<GatewayConfig> = {}) {
  let served = 0;
  const provider: MockProvider = mockProvider({
    reply: () => `answer #${++served}`,
    ...providerOptions,
  });
  const gateway = createGateway({
    providers: { p: provider },
    models: { m: "p/model-x", other: "p/model-x" },
    retry: { retries: 0 },
    cache,
    ...extra,
  });
  open.push(gateway);
  return { gateway, provider };
}

async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe("exact cache: hit and miss", () => {
  it("serves an identical second call from the cache, at no cost, naming who first served it", async () => {
    const { gateway, provider } = setup({}, {}, { prices: { "model-x": { input: 100, output: 200 } } });
    const first = await gateway.chat(ask());
    const second = await gateway.chat(ask());
    expect(provider.calls).toBe(1);
    expect(first.gateway.cache).toBe("miss");
    expect(first.gateway.costUsd).toBeGreaterThan(0);
    expect(second.gateway).toMatchObject({ cache: "exact", costUsd: 0, provider: "p", deployment: "p/model-x", route: "m", attempts: [] });
    expect(second.gateway.savedUsd).toBe(first.gateway.costUsd);
    expect(second.choices[0]?.message.content).toBe("answer #1");
    expect(gateway.stats().cache?.exact).toMatchObject({ hits: 1, misses: 1, hitRate: 0.5, entries: 1 });
  });

  it("hands each hit its own copy: a caller mutating an answer does not change the next hit", async () => {
    const { gateway } = setup();
    await gateway.chat(ask());
    const hit = await gateway.chat(ask());
    hit.choices[0]!.message.content = "tampered";
    const again = await gateway.chat(ask());
    expect(again.choices[0]?.message.content).toBe("answer #1");
  });

  const variants: [string, Partial<PlainBody>][] = [
    ["temperature", { temperature: 0.5 }],
    ["top_p", { top_p: 0.5 }],
    ["max_tokens", { max_tokens: 10 }],
    ["max_completion_tokens", { max_completion_tokens: 10 }],
    ["stop", { stop: ["END"] }],
    ["seed", { seed: 7 }],
    ["presence_penalty", { presence_penalty: 1 }],
    ["frequency_penalty", { frequency_penalty: 1 }],
    ["reasoning_effort", { reasoning_effort: "low" }],
    ["parallel_tool_calls", { parallel_tool_calls: false }],
    ["tools", { tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }] }],
    ["tool_choice", { tool_choice: "none" }],
    ["response_format", { response_format: { type: "json_object" } }],
    ["the route", { model: "other" }],
    ["the message text", { messages: [{ role: "user", content: "hello!" }] }],
    ["the message role", { messages: [{ role: "system", content: "hello" }] }],
    ["the message name", { messages: [{ role: "user", content: "hello", name: "ann" }] }],
    ["an earlier turn", { messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hello" }] }],
  ];
  for (const [field, change] of variants) {
    it(`misses when ${field} differs`, async () => {
      const { gateway, provider } = setup();
      await gateway.chat(ask());
      const changed = await gateway.chat(ask("hello", change));
      expect(changed.gateway.cache).toBe("miss");
      expect(provider.calls).toBe(2);
      // And the changed request has its own entry.
      expect((await gateway.chat(ask("hello", change))).gateway.cache).toBe("exact");
    });
  }

  const sameAnswer: [string, Partial<PlainBody>][] = [
    ["user", { user: "someone-else" }],
    ["metadata", { metadata: { trace: "abc" } }],
    ["stream_options", { stream_options: { include_usage: true } }],
  ];
  for (const [field, change] of sameAnswer) {
    it(`hits when only ${field} differs`, async () => {
      const { gateway, provider } = setup();
      await gateway.chat(ask());
      const res = await gateway.chat(ask("hello", change));
      expect(res.gateway.cache).toBe("exact");
      expect(provider.calls).toBe(1);
    });
  }

  it("hits when only tags differ", async () => {
    const { gateway, provider } = setup();
    await gateway.chat(ask(), { tags: ["a"] });
    expect((await gateway.chat(ask(), { tags: ["b", "c"] })).gateway.cache).toBe("exact");
    expect(provider.calls).toBe(1);
  });

  it("hits whatever the key order of the body, including inside a tool's JSON schema", async () => {
    const { gateway, provider } = setup();
    await gateway.chat({
      model: "m",
      temperature: 0,
      messages: [{ role: "user", content: "hello" }],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { a: { type: "string" }, b: { type: "number" } } } } }],
    });
    const reordered = await gateway.chat({
      tools: [{ function: { parameters: { properties: { b: { type: "number" }, a: { type: "string" } }, type: "object" }, name: "f" }, type: "function" }],
      messages: [{ content: "hello", role: "user" }],
      temperature: 0,
      model: "m",
    } as PlainBody);
    expect(reordered.gateway.cache).toBe("exact");
    expect(provider.calls).toBe(1);
  });
});

describe("exact cache: scopes", () => {
  it("keeps one key's answers from another key by default", async () => {
    const { gateway, provider } = setup();
    const a = await gateway.chat(ask(), { key: "team-a" });
    const b = await gateway.chat(ask(), { key: "team-b" });
    const anonymous = await gateway.chat(ask());
    expect([a.gateway.cache, b.gateway.cache, anonymous.gateway.cache]).toEqual(["miss", "miss", "miss"]);
    expect(b.choices[0]?.message.content).toBe("answer #2");
    expect((await gateway.chat(ask(), { key: "team-a" })).choices[0]?.message.content).toBe("answer #1");
    expect(provider.calls).toBe(3);
  });

  it("does not confuse keys whose names run into each other", async () => {
    const { gateway } = setup({ scope: "user" });
    await gateway.chat(ask(), { key: "a:b", user: "c" });
    expect((await gateway.chat(ask(), { key: "a", user: "b:c" })).gateway.cache).toBe("miss");
  });

  it("with scope 'user', keeps one user's answers from another user of the same key", async () => {
    const { gateway, provider } = setup({ scope: "user" });
    await gateway.chat(ask(), { key: "k", user: "u1" });
    expect((await gateway.chat(ask(), { key: "k", user: "u2" })).gateway.cache).toBe("miss");
    expect((await gateway.chat(ask(), { key: "other", user: "u1" })).gateway.cache).toBe("miss");
    expect((await gateway.chat(ask(), { key: "k", user: "u1" })).gateway.cache).toBe("exact");
    expect(provider.calls).toBe(3);
  });

  it("keeps a call's scope in its key when reading its request runs another call (a getter in extra_body)", async () => {
    const { gateway } = setup({ scope: "user" });
    // A free-form field is read while the key is built; a getter there that starts another
    // call of the same gateway must not leave the first call's key written over by the second's.
    const reentrant = () => {
      let inner: Promise<unknown> | undefined;
      const body = ask("outer", {
        extra_body: {
          options: {
            get lazy() {
              inner ??= gateway.chat(ask("inner"), { key: "k", user: "u2" });
              return 1;
            },
          },
        },
      });
      return { body, inner: () => inner };
    };
    const first = reentrant();
    const u1 = await gateway.chat(first.body, { key: "k", user: "u1" });
    await first.inner();
    expect(u1.gateway.cache).toBe("miss");
    const second = reentrant();
    const u3 = await gateway.chat(second.body, { key: "k", user: "u3" });
    await second.inner();
    // Another user: never u1's answer.
    expect(u3.gateway.cache).toBe("miss");
    expect(u3.choices[0]?.message.content).not.toBe(u1.choices[0]?.message.content);
    // The same user, the same request without the getter: u1's own answer.
    expect((await gateway.chat(ask("outer", { extra_body: { options: { lazy: 1 } } }), { key: "k", user: "u1" })).gateway.cache).toBe("exact");
  });

  it("with scope 'global', shares answers across keys and users", async () => {
    const { gateway, provider } = setup({ scope: "global" });
    await gateway.chat(ask(), { key: "team-a", user: "u1" });
    const other = await gateway.chat(ask(), { key: "team-b", user: "u2" });
    expect(other.gateway.cache).toBe("exact");
    expect(other.choices[0]?.message.content).toBe("answer #1");
    expect(provider.calls).toBe(1);
  });
});

describe("exact cache: bounds", () => {
  it("forgets answers after ttlMs", async () => {
    const { gateway, provider } = setup({ exact: { ttlMs: 40 } });
    await gateway.chat(ask());
    expect((await gateway.chat(ask())).gateway.cache).toBe("exact");
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await gateway.chat(ask())).gateway.cache).toBe("miss");
    expect(provider.calls).toBe(2);
  });

  it("stays within maxBytes under a flood of large answers, evicting the oldest", async () => {
    const maxBytes = 50_000;
    const { gateway } = setup({ exact: { maxBytes } }, { reply: (request) => `${JSON.stringify(request.messages)} ${"x".repeat(2_000)}` });
    for (let index = 0; index < 200; index++) {
      await gateway.chat(ask(`question ${index}`));
      expect(gateway.stats().cache!.exact.bytes).toBeLessThanOrEqual(maxBytes);
    }
    const stats = gateway.stats().cache!.exact;
    expect(stats.entries).toBeGreaterThan(0);
    expect(stats.entries).toBeLessThan(20);
    expect(stats.evictions).toBe(200 - stats.entries);
    expect((await gateway.chat(ask("question 199"))).gateway.cache).toBe("exact");
    expect((await gateway.chat(ask("question 0"))).gateway.cache).toBe("miss");
  });

  it("does not store an answer larger than the whole cache", async () => {
    const { gateway } = setup({ exact: { maxBytes: 1_000 } }, { reply: "y".repeat(5_000) });
    await gateway.chat(ask());
    expect((await gateway.chat(ask())).gateway.cache).toBe("miss");
    expect(gateway.stats().cache!.exact.bytes).toBe(0);
  });
});

describe("exact cache: controls", () => {
  it("'bypass' neither reads nor writes", async () => {
    const { gateway, provider } = setup();
    const bypassed = await gateway.chat(ask(), { cache: "bypass" });
    expect(bypassed.gateway.cache).toBe("bypass");
    expect((await gateway.chat(ask())).gateway.cache).toBe("miss");
    expect((await gateway.chat(ask(), { cache: "bypass" })).choices[0]?.message.content).toBe("answer #3");
    expect(provider.calls).toBe(3);
    expect(gateway.stats().cache?.exact).toMatchObject({ hits: 0, misses: 1 });
  });

  it("'refresh' skips the read and stores the fresh answer", async () => {
    const { gateway, provider } = setup();
    await gateway.chat(ask());
    const refreshed = await gateway.chat(ask(), { cache: "refresh" });
    expect(refreshed.gateway.cache).toBe("miss");
    expect(refreshed.choices[0]?.message.content).toBe("answer #2");
    const next = await gateway.chat(ask());
    expect(next.gateway.cache).toBe("exact");
    expect(next.choices[0]?.message.content).toBe("answer #2");
    expect(provider.calls).toBe(2);
  });

  it("never caches a route with cache: false", async () => {
    let served = 0;
    const provider = mockProvider({ reply: () => `answer #${++served}` });
    const gateway = createGateway({
      providers: { p: provider },
      models: { live: { deployments: ["p/x"], cache: false } },
      cache: {},
    });
    open.push(gateway);
    const body: PlainBody = { model: "live", messages: [{ role: "user", content: "now?" }] };
    await gateway.chat(body);
    const second = await gateway.chat(body);
    expect(second.gateway.cache).toBe("bypass");
    expect(second.choices[0]?.message.content).toBe("answer #2");
  });

  for (const finishReason of ["length", "content_filter"] as const) {
    it(`does not store an answer cut by '${finishReason}'`, async () => {
      const { gateway, provider } = setup({}, { reply: { content: "partial", finishReason } });
      await gateway.chat(ask());
      expect((await gateway.chat(ask())).gateway.cache).toBe("miss");
      expect(provider.calls).toBe(2);
    });
  }

  it("does not store a failure, and answers once the provider recovers", async () => {
    const { gateway, provider } = setup({}, { fail: { status: 400 } });
    await expect(gateway.chat(ask())).rejects.toBeInstanceOf(ProviderError);
    const res = await gateway.chat(ask());
    expect(res.gateway.cache).toBe("miss");
    expect(provider.calls).toBe(2);
  });

  it("emits a cache event on a hit, with who asked and what was saved", async () => {
    const { gateway } = setup();
    const events: CacheEvent[] = [];
    gateway.on("cache", (event) => events.push(event));
    await gateway.chat(ask(), { key: "k", user: "u", tags: ["t"] });
    expect(events).toHaveLength(0);
    await gateway.chat(ask(), { key: "k", user: "u", tags: ["t"] });
    expect(events).toEqual([{ model: "m", key: "k", user: "u", tags: ["t"], stream: false, outcome: "exact", savedUsd: 0 }]);
  });

  it("is off without a cache section: no stats section, every call reaches the provider", async () => {
    const provider = mockProvider();
    const gateway = createGateway({ providers: { p: provider }, models: { m: "p/x" } });
    open.push(gateway);
    await gateway.chat(ask());
    const second = await gateway.chat(ask());
    expect(second.gateway.cache).toBe("miss");
    expect(provider.calls).toBe(2);
    expect(gateway.stats().cache).toBeUndefined();
  });
});

describe("exact cache: streams", () => {
  it("stores a completed stream and replays it as a stream with the same chunk shape", async () => {
    const { gateway, provider } = setup({}, { reply: "three little words" });
    const live = await collect(await gateway.chat({ ...ask(), stream: true }));
    const replayStream = await gateway.chat({ ...ask(), stream: true });
    const replay = await collect(replayStream);
    expect(provider.calls).toBe(1);
    const final = await replayStream.finalResponse();
    expect(final.gateway.cache).toBe("exact");
    expect(final.choices[0]?.message.content).toBe("three little words");
    expect(final.usage).toEqual(live.at(-1)?.usage);
    expect(replay[0]?.choices[0]?.delta).toEqual({ role: "assistant", content: "" });
    expect(replay.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("three little words");
    expect(replay.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(replay.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: expect.any(Number) } });
    for (const chunk of replay) expect(chunk).toMatchObject({ object: "chat.completion.chunk", id: live[0]?.id, model: live[0]?.model });
  });

  it("shares entries between streamed and plain callers, both ways", async () => {
    const { gateway, provider } = setup();
    const plain = await gateway.chat(ask("one"));
    const streamed = await gateway.chat({ ...ask("one"), stream: true });
    const final = await streamed.finalResponse();
    expect(final.gateway.cache).toBe("exact");
    expect(final.choices[0]?.message).toEqual(plain.choices[0]?.message);

    await (await gateway.chat({ ...ask("two"), stream: true })).finalResponse();
    const fromStream = await gateway.chat(ask("two"));
    expect(fromStream.gateway.cache).toBe("exact");
    expect(fromStream.choices[0]?.message.content).toBe("answer #2");
    expect(provider.calls).toBe(2);
  });

  it("replays a tool-call answer with tool-call chunks", async () => {
    const { gateway } = setup({}, { reply: { content: null, toolCalls: [{ name: "lookup", arguments: '{"id":1}' }] } });
    const plain = await gateway.chat(ask());
    const stream = await gateway.chat({ ...ask(), stream: true });
    const chunks = await collect(stream);
    expect(chunks.some((chunk) => chunk.choices[0]?.delta.tool_calls?.[0]?.function?.name === "lookup")).toBe(true);
    const final = await stream.finalResponse();
    expect(final.choices[0]?.message).toEqual(plain.choices[0]?.message);
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("does not store a stream the consumer abandoned", async () => {
    const { gateway, provider } = setup({}, { reply: "a long answer of many words" });
    const stream = await gateway.chat({ ...ask(), stream: true });
    for await (const _chunk of stream) break;
    expect((await gateway.chat(ask())).gateway.cache).toBe("miss");
    expect(provider.calls).toBe(2);
  });

  it("does not store a stream that failed midway", async () => {
    const { gateway, provider } = setup({}, { reply: "a long answer of many words", fail: { status: 500, afterChunks: 2 } });
    const stream = await gateway.chat({ ...ask(), stream: true });
    await expect(collect(stream)).rejects.toBeInstanceOf(ProviderError);
    expect((await gateway.chat(ask())).gateway.cache).toBe("miss");
    expect(provider.calls).toBe(2);
  });
});

describe("single-flight", () => {
  it("makes one provider call for 50 identical concurrent calls", async () => {
    const { gateway, provider } = setup({}, { latencyMs: 20 });
    const results = await Promise.all(Array.from({ length: 50 }, () => gateway.chat(ask())));
    expect(provider.calls).toBe(1);
    expect(new Set(results.map((res) => res.choices[0]?.message.content))).toEqual(new Set(["answer #1"]));
    expect(results.filter((res) => res.gateway.cache === "miss")).toHaveLength(1);
    expect(results.filter((res) => res.gateway.cache === "exact")).toHaveLength(49);
    expect(gateway.stats().cache?.inflightDeduplicated).toBe(49);
    // Each follower got its own copy.
    results[1]!.choices[0]!.message.content = "tampered";
    expect(results[2]!.choices[0]!.message.content).toBe("answer #1");
  });

  it("lets streamed callers follow a plain leader and replay its answer", async () => {
    const { gateway, provider } = setup({}, { reply: "answered once", latencyMs: 20 });
    const leader = gateway.chat(ask());
    const streams = await Promise.all(Array.from({ length: 10 }, () => gateway.chat({ ...ask(), stream: true })));
    const finals = await Promise.all(streams.map((stream) => stream.finalResponse()));
    expect((await leader).gateway.cache).toBe("miss");
    expect(provider.calls).toBe(1);
    expect(finals.map((final) => final.choices[0]?.message.content)).toEqual(Array(10).fill("answered once"));
    expect(finals.every((final) => final.gateway.cache === "exact")).toBe(true);
  });

  it("does not hold identical streams behind each other: awaiting them all before reading cannot deadlock", async () => {
    const { gateway, provider } = setup({}, { reply: "streamed", chunkDelayMs: 2 });
    const streams = await Promise.all(Array.from({ length: 5 }, () => gateway.chat({ ...ask(), stream: true })));
    const finals = await Promise.all(streams.map((stream) => stream.finalResponse()));
    expect(finals.map((final) => final.choices[0]?.message.content)).toEqual(Array(5).fill("streamed"));
    expect(provider.calls).toBe(5);
    expect((await gateway.chat(ask())).gateway.cache).toBe("exact");
  });

  it("does not merge concurrent calls from different scopes", async () => {
    const { gateway, provider } = setup({}, { latencyMs: 10 });
    await Promise.all([gateway.chat(ask(), { key: "a" }), gateway.chat(ask(), { key: "b" })]);
    expect(provider.calls).toBe(2);
  });

  it("gives followers the leader's error when the providers failed for everyone", async () => {
    const { gateway, provider } = setup({}, { latencyMs: 10, fail: { status: 400 } });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => gateway.chat(ask())));
    expect(provider.calls).toBe(1);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(ProviderError);
    }
    // Not remembered: the next call tries again.
    expect((await gateway.chat(ask())).choices[0]?.message.content).toBe("answer #1");
  });

  it("lets followers carry on when the leader gives up for its own reasons", async () => {
    const { gateway, provider } = setup({}, { latencyMs: 20 });
    const controller = new AbortController();
    const leader = gateway.chat(ask(), { signal: controller.signal });
    const followers = Array.from({ length: 10 }, () => gateway.chat(ask()));
    setTimeout(() => controller.abort(), 5);
    await expect(leader).rejects.toMatchObject({ code: "aborted" });
    const results = await Promise.all(followers);
    expect(provider.calls).toBe(2);
    // The aborted leader never got a reply, so the new leader's is the first.
    expect(results.map((res) => res.choices[0]?.message.content)).toEqual(Array(10).fill("answer #1"));
    expect(results.filter((res) => res.gateway.cache === "miss")).toHaveLength(1);
  });

  it("lets a follower stop waiting when its own signal aborts", async () => {
    const { gateway } = setup({}, { latencyMs: 100 });
    const leader = gateway.chat(ask());
    const follower = gateway.chat(ask(), { signal: AbortSignal.timeout(10) });
    await expect(follower).rejects.toMatchObject({ code: "aborted" });
    expect((await leader).gateway.cache).toBe("miss");
  });
});

describe("cache config", () => {
  it("names each bad cache field", () => {
    const error = catchError(() =>
      createGateway({
        providers: { p: mockProvider() },
        cache: { exact: { maxBytes: -1 }, scope: "team" as never, semantic: { embed: "nope", threshold: 0 } },
      }),
    ) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    const byPath = Object.fromEntries(error.issues.map((issue) => [issue.path, issue.message]));
    expect(Object.keys(byPath)).toEqual(
      expect.arrayContaining(["cache.exact.maxBytes", "cache.scope", "cache.semantic.embed", "cache.semantic.threshold"]),
    );
    expect(byPath["cache.semantic.threshold"]).toBe("expected a cosine similarity in (0, 1], e.g. 0.95");
    expect(byPath["cache.semantic.embed"]).toContain("expected 'provider/model'");
  });

  it("rejects a threshold above 1", () => {
    const error = catchError(() =>
      createGateway({ providers: { p: mockProvider() }, cache: { semantic: { embed: async () => [], threshold: 1.5 } } }),
    ) as ConfigError;
    expect(error.issues).toContainEqual({ path: "cache.semantic.threshold", message: "expected a cosine similarity in (0, 1], e.g. 0.95" });
  });

  it("rejects an embedding provider that is not configured or cannot embed", () => {
    const missing = catchError(() =>
      createGateway({ providers: { p: mockProvider() }, cache: { semantic: { embed: "openai/text-embedding-3-small", threshold: 0.9 } } }),
    ) as ConfigError;
    expect(missing.issues[0]).toEqual({ path: "cache.semantic.embed", message: "'openai' is not a configured provider (have: p)" });
    const { embed: _embed, ...chatOnly } = mockProvider();
    const cannot = catchError(() =>
      createGateway({ providers: { p: chatOnly }, cache: { semantic: { embed: "p/e", threshold: 0.9 } } }),
    ) as ConfigError;
    expect(cannot.issues[0]?.message).toContain("the 'p' adapter cannot embed");
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
