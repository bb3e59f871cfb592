import { afterEach, describe, expect, it, vi } from "vitest";
import {
  AbortError,
  InvalidRequestError,
  ModelNotAllowedError,
  RateLimitError,
  createGateway,
  memoryStore,
  type ChatBody,
  type LimitEvent,
} from "../src/index.js";
import { mockProvider } from "../src/testing.js";
import { serveUntilRejected } from "./fakes/serve-until-rejected.js";

const ask = (model: string, content = "hello", extra: Partial<ChatBody> = {}): Omit<ChatBody, "stream"> => ({
  model,
  messages: [{ role: "user", content }],
  ...extra,
});

/** A fixed instant, a Wednesday, away from any period boundary. */
const T0 = Date.UTC(2025, 5, 4, 12, 0, 0);

function useFakeDate(at: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

afterEach(() => {
  vi.useRealTimers();
});

describe("RPM", () => {
  it("admits a burst of exactly rpm, then rpm per minute, within one request over each window", async () => {
    useFakeDate(T0);
    const gateway = createGateway({ providers: { p: mockProvider() }, keys: { app: { rpm: 60 } } });
    const call = () => gateway.chat(ask("p/x"), { key: "app" });

    const burst = await serveUntilRejected(call, 200);
    expect(burst.served).toBe(60);
    expect(burst.error).toBeInstanceOf(RateLimitError);

    // The next minute, one second at a time: 1 token per second refills.
    let sustained = 0;
    for (let second = 1; second <= 60; second++) {
      vi.setSystemTime(T0 + second * 1_000);
      sustained += (await serveUntilRejected(call, 10)).served;
    }
    expect(Math.abs(sustained - 60)).toBeLessThanOrEqual(1);
    await gateway.close();
  });

  it("says exactly when a retry succeeds", async () => {
    useFakeDate(T0);
    const gateway = createGateway({ providers: { p: mockProvider() }, keys: { app: { rpm: 6 } } });
    const call = () => gateway.chat(ask("p/x"), { key: "app" });
    const { served, error } = await serveUntilRejected(call, 20);
    expect(served).toBe(6);
    const limited = error as RateLimitError;
    expect(limited).toMatchObject({ code: "rate_limited", scope: "key" });
    expect(limited.retryAfterMs).toBe(10_000); // 6 per minute: one every 10 s

    vi.setSystemTime(T0 + limited.retryAfterMs - 1);
    await expect(call()).rejects.toBeInstanceOf(RateLimitError);
    vi.setSystemTime(T0 + limited.retryAfterMs);
    await expect(call()).resolves.toBeDefined();
    await gateway.close();
  });

  it("counts each end user separately, per key, with the users defaults", async () => {
    useFakeDate(T0);
    const gateway = createGateway({ providers: { p: mockProvider() }, keys: { a: {}, b: {} }, users: { rpm: 2 } });
    const call = (key: string, user: string) => () => gateway.chat(ask("p/x"), { key, user });
    expect((await serveUntilRejected(call("a", "u1"), 10)).served).toBe(2);
    const { served, error } = await serveUntilRejected(call("a", "u2"), 10);
    expect(served).toBe(2);
    expect(error).toMatchObject({ scope: "user" });
    // Same user id under another key is another user.
    expect((await serveUntilRejected(call("b", "u1"), 10)).served).toBe(2);
    // No user: no user limit.
    expect((await serveUntilRejected(() => gateway.chat(ask("p/x"), { key: "a" }), 5)).served).toBe(5);
    await gateway.close();
  });

  it("keeps counting a user after more users than the gateway keeps draws for have called", async () => {
    useFakeDate(T0);
    const gateway = createGateway({ providers: { p: mockProvider() }, prices: { x: { input: 1, output: 1 } }, keys: { a: {} }, users: { rpm: 1, budget: { usd: 1, period: "day" } } });
    await gateway.chat(ask("p/x"), { key: "a", user: "first" });
    // 10,001 other users: past the bound on remembered (key, user) draws, which starts over.
    for (let index = 0; index < 10_001; index++) await gateway.chat(ask("p/x"), { key: "a", user: `other-${index}` });
    await expect(gateway.chat(ask("p/x"), { key: "a", user: "first" })).rejects.toMatchObject({ scope: "user" });
    await expect(gateway.chat(ask("p/x"), { key: "a", user: "other-0" })).rejects.toMatchObject({ scope: "user" });
    await gateway.close();
  });

  it("does not charge a call that never reached a provider", async () => {
    useFakeDate(T0);
    const provider = mockProvider({ fail: { status: 400, times: 3 } });
    const gateway = createGateway({ providers: { p: provider }, keys: { app: { rpm: 3 } }, users: { budget: { usd: 0, period: "day" } }, prices: { x: { input: 1, output: 1 } } });
    // Budget 0 rejects every call with a user before it runs: no requests taken.
    for (let i = 0; i < 5; i++) await expect(gateway.chat(ask("p/x"), { key: "app", user: "u" })).rejects.toMatchObject({ code: "budget_exceeded" });
    // Provider 400s did reach the provider: they count.
    for (let i = 0; i < 3; i++) await expect(gateway.chat(ask("p/x"), { key: "app" })).rejects.toMatchObject({ code: "provider_error" });
    await expect(gateway.chat(ask("p/x"), { key: "app" })).rejects.toBeInstanceOf(RateLimitError);
    await gateway.close();
  });
});

describe("TPM", () => {
  it("reserves prompt + max output, settles to reported usage, and overshoots by at most one request", async () => {
    useFakeDate(T0);
    const provider = mockProvider({ usage: { prompt_tokens: 100, completion_tokens: 50 } });
    const gateway = createGateway({ providers: { p: provider }, keys: { app: { tpm: 1_000 } } });
    const call = () => gateway.chat(ask("p/x", "hi", { max_tokens: 50 }), { key: "app" });
    const { served, error } = await serveUntilRejected(call, 50);
    // Each call reserves ~60 (small prompt + 50) and is then charged its 150 reported tokens.
    expect(served * 150).toBeGreaterThanOrEqual(1_000);
    expect(served * 150 - 1_000).toBeLessThan(150);
    expect(error).toMatchObject({ scope: "key", code: "rate_limited" });
    await gateway.close();
  });

  it("refunds what a call reserved but did not use", async () => {
    useFakeDate(T0);
    const provider = mockProvider({ usage: { prompt_tokens: 10, completion_tokens: 10 } });
    const gateway = createGateway({ providers: { p: provider }, keys: { app: { tpm: 1_000 } } });
    // Reserves ~810 each: without the refund a second call could not start.
    const { served } = await serveUntilRejected(() => gateway.chat(ask("p/x", "hi", { max_tokens: 800 }), { key: "app" }), 100);
    expect(served).toBeGreaterThanOrEqual(10);
    await gateway.close();
  });

  it("reserves the catalog's output cap, or 4,096, when the request sets no max_tokens", async () => {
    useFakeDate(T0);
    const gateway = createGateway({ providers: { p: mockProvider({ latencyMs: 50 }) }, keys: { app: { tpm: 5_000 } } });
    // Two calls in flight: 2 x (prompt + 4,096) > 5,000, so the second is refused while the first runs.
    const first = gateway.chat(ask("p/unknown-model"), { key: "app" });
    const second = await gateway.chat(ask("p/unknown-model"), { key: "app" }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(RateLimitError);
    await first;
    await gateway.close();
  });

  it("admits a request larger than the bucket when the bucket is full, then makes the next wait", async () => {
    useFakeDate(T0);
    const gateway = createGateway({ providers: { p: mockProvider({ usage: { prompt_tokens: 10, completion_tokens: 2_000 } }) }, keys: { app: { tpm: 1_000 } } });
    await expect(gateway.chat(ask("p/x", "hi", { max_tokens: 2_000 }), { key: "app" })).resolves.toBeDefined();
    const error = (await gateway.chat(ask("p/x", "hi", { max_tokens: 10 }), { key: "app" }).catch((e: unknown) => e)) as RateLimitError;
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.retryAfterMs).toBeGreaterThan(60_000); // in debt: more than a minute of refill
    await gateway.close();
  });
});

describe("deployment limits", () => {
  it("skips a deployment at capacity without failing it, and rejects when every one is full", async () => {
    useFakeDate(T0);
    const a = mockProvider();
    const b = mockProvider();
    const gateway = createGateway({
      providers: { a, b },
      models: { m: { deployments: [{ provider: "a", model: "x", rpm: 2 }, { provider: "b", model: "y", rpm: 1 }] } },
    });
    const events: LimitEvent[] = [];
    gateway.on("limit", (event) => events.push(event));
    for (let i = 0; i < 3; i++) await gateway.chat(ask("m"));
    expect([a.calls, b.calls]).toEqual([2, 1]);
    expect(gateway.health().find((h) => h.deployment === "a/x")?.state).toBe("healthy");
    expect(events[0]).toMatchObject({ scope: "deployment", kind: "rpm", action: "skipped", deployment: "a/x" });

    const error = (await gateway.chat(ask("m")).catch((e: unknown) => e)) as RateLimitError;
    expect(error).toMatchObject({ code: "rate_limited", scope: "deployment" });
    expect(error.retryAfterMs).toBe(30_000); // a/x: 2 per minute, one back in 30 s
    await gateway.close();
  });

  it("settles a deployment's TPM to a stream's reported usage", async () => {
    useFakeDate(T0);
    const a = mockProvider({ usage: { prompt_tokens: 10, completion_tokens: 10 } });
    const gateway = createGateway({ providers: { a }, models: { m: { deployments: [{ provider: "a", model: "x", tpm: 1_000 }] } } });
    for (let i = 0; i < 20; i++) {
      const stream = await gateway.chat({ ...ask("m", "hi", { max_tokens: 500 }), stream: true });
      await stream.finalResponse();
    }
    // Each reserves ~508 and uses 20: without settling, the second call would find the bucket short.
    expect(a.calls).toBe(20);
    await gateway.close();
  });
});

describe("queue mode", () => {
  // 60,000 TPM: one token back per millisecond. One big call empties the bucket (the mock
  // reports the output it was allowed, so nothing is refunded); then a call reserving ~108
  // tokens (8 of prompt, max_tokens 100) waits ~108 ms for its turn.
  const queued = (maxWaitMs: number) =>
    createGateway({
      providers: {
        p: mockProvider({
          usage: (request) => ({ prompt_tokens: 8, completion_tokens: request.max_tokens ?? 0, total_tokens: 8 + (request.max_tokens ?? 0) }),
        }),
      },
      keys: { app: { tpm: 60_000 } },
      onLimit: { queue: { maxWaitMs } },
    });
  type Gateway = ReturnType<typeof queued>;
  const exhaust = (gateway: Gateway) => gateway.chat(ask("p/x", "hi", { max_tokens: 59_990 }), { key: "app" });
  const call = (gateway: Gateway, maxTokens: number, signal?: AbortSignal) =>
    gateway.chat(ask("p/x", "hi", { max_tokens: maxTokens }), { key: "app", signal });

  it("serves queued calls in FIFO order as the bucket refills", async () => {
    const gateway = queued(1_000);
    await exhaust(gateway);
    const events: LimitEvent[] = [];
    gateway.on("limit", (event) => events.push(event));
    const order: number[] = [];
    const started = performance.now();
    await Promise.all([0, 1, 2].map((n) => call(gateway, 100).then(() => order.push(n))));
    const elapsed = performance.now() - started;
    expect(order).toEqual([0, 1, 2]);
    expect(elapsed).toBeGreaterThanOrEqual(280); // three turns of ~108 ms, less what refilled meanwhile
    expect(events.map((event) => [event.action, event.scope, event.kind])).toEqual([
      ["queued", "key", "tpm"],
      ["queued", "key", "tpm"],
      ["queued", "key", "tpm"],
    ]);
    expect(events[1]!.waitMs).toBeGreaterThan(events[0]!.waitMs + 90);
    expect(events[2]!.waitMs).toBeGreaterThan(events[1]!.waitMs + 90);
    await gateway.close();
  });

  it("refuses at once a call whose wait behind the queue would exceed maxWaitMs", async () => {
    const gateway = queued(250);
    await exhaust(gateway);
    const events: LimitEvent[] = [];
    gateway.on("limit", (event) => events.push(event));
    const a = call(gateway, 100);
    const b = call(gateway, 100);
    const started = performance.now();
    const error = (await call(gateway, 100).catch((e: unknown) => e)) as RateLimitError;
    expect(performance.now() - started).toBeLessThan(200); // at once, not after the ~216 ms the two ahead take
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.scope).toBe("key");
    expect(error.retryAfterMs).toBeGreaterThan(250); // ~3 x 108 behind the two ahead
    expect(error.retryAfterMs).toBeLessThanOrEqual(330);
    expect(events.map((event) => event.action)).toEqual(["queued", "queued", "rejected"]);
    await Promise.all([a, b]);
    await gateway.close();
  });

  it("a newcomer does not overtake the queue even when the bucket holds enough for it", async () => {
    const gateway = queued(2_000);
    await exhaust(gateway);
    const order: string[] = [];
    const big = call(gateway, 300).then(() => order.push("big"));
    await new Promise((resolve) => setTimeout(resolve, 60)); // ~60 tokens back: enough for the small call, not the big one
    const small = call(gateway, 2).then(() => order.push("small"));
    await Promise.all([big, small]);
    expect(order).toEqual(["big", "small"]);
    await gateway.close();
  });

  it("aborting a queued call removes it, takes nothing, and lets the next one take its turn", async () => {
    const gateway = queued(2_000);
    await exhaust(gateway);
    const controller = new AbortController();
    const started = performance.now();
    const aborted = call(gateway, 500, controller.signal);
    const next = call(gateway, 100);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    await next;
    // ~108 ms for its own tokens, not ~616 behind the aborted call. Bounds far from both, since
    // timers may fire a millisecond early and a loaded machine runs them late.
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(50);
    expect(elapsed).toBeLessThan(580);
    await gateway.close();
  });
});

describe("access", () => {
  it("rejects a key that is not configured, naming options.key and not echoing it", async () => {
    const provider = mockProvider();
    const gateway = createGateway({ providers: { p: provider }, keys: { app: {} } });
    const error = (await gateway.chat(ask("p/x"), { key: "sk-secret-typo" }).catch((e: unknown) => e)) as InvalidRequestError;
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.issues[0]?.path).toBe("options.key");
    expect(error.message).not.toContain("sk-secret-typo");
    expect(provider.calls).toBe(0);
    // Without a key the call passes; with no `keys` configured any key passes.
    await expect(gateway.chat(ask("p/x"))).resolves.toBeDefined();
    const open = createGateway({ providers: { p: provider } });
    await expect(open.chat(ask("p/x"), { key: "anything" })).resolves.toBeDefined();
    await gateway.close();
    await open.close();
  });

  it("lets a key use only the logical models it lists", async () => {
    const provider = mockProvider();
    const gateway = createGateway({
      providers: { p: provider },
      models: { cheap: "p/small", smart: "p/large" },
      keys: { intern: { models: ["cheap"] } },
    });
    await expect(gateway.chat(ask("cheap"), { key: "intern" })).resolves.toBeDefined();
    const error = (await gateway.chat(ask("smart"), { key: "intern" }).catch((e: unknown) => e)) as ModelNotAllowedError;
    expect(error).toBeInstanceOf(ModelNotAllowedError);
    expect(error).toMatchObject({ code: "model_not_allowed", key: "intern", model: "smart", allowed: ["cheap"] });
    await expect(gateway.chat(ask("p/large"), { key: "intern" })).rejects.toBeInstanceOf(ModelNotAllowedError);
    expect(provider.calls).toBe(1);
    await gateway.close();
  });
});

describe("state store", () => {
  it("shares buckets between gateways through one store", async () => {
    useFakeDate(T0);
    const store = memoryStore();
    const config = { providers: { p: mockProvider() }, keys: { app: { rpm: 4 } }, store };
    const one = createGateway(config);
    const two = createGateway(config);
    for (let i = 0; i < 2; i++) await one.chat(ask("p/x"), { key: "app" });
    for (let i = 0; i < 2; i++) await two.chat(ask("p/x"), { key: "app" });
    await expect(one.chat(ask("p/x"), { key: "app" })).rejects.toBeInstanceOf(RateLimitError);
    await one.close();
    await two.close();
  });

  it("takes from every bucket or none", async () => {
    const store = memoryStore();
    const key = { key: "k", amount: 1, capacity: 5, refillPerMs: 0.001 };
    const user = { key: "u", amount: 1, capacity: 1, refillPerMs: 0.001 };
    expect((await store.consumeTokens([key, user], T0)).ok).toBe(true);
    const refused = await store.consumeTokens([key, user], T0);
    expect(refused).toMatchObject({ ok: false, blocking: 1, retryAfterMs: 1_000 });
    // The key bucket was left alone by the refused take: 4 remain.
    expect((await store.peekTokens([{ ...key, amount: 4 }], T0)).ok).toBe(true);
    expect((await store.peekTokens([{ ...key, amount: 5 }], T0)).ok).toBe(false);
    await store.close();
  });
});
