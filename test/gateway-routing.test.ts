import { describe, expect, it, vi } from "vitest";
import {
  AbortError,
  AllDeploymentsFailedError,
  ConfigError,
  InvalidRequestError,
  ProviderError,
  TimeoutError,
  createGateway,
  type ChatBody,
} from "../src/index.js";
import { mockProvider } from "../src/testing.js";
import type { ChatChunk } from "../src/core/chat-chunk.js";
import type { CallContext } from "../src/core/call-context.js";
import { whenSettled, type Settlement } from "../src/core/settle.js";

const ask = (model: string, content = "hello"): Omit<ChatBody, "stream"> => ({ model, messages: [{ role: "user", content }] });
const fastRetry = { retries: 2, minDelayMs: 1, maxDelayMs: 20 };

describe("config validation", () => {
  it("names a misspelled provider and lists the configured ones", () => {
    const error = catchError(() =>
      createGateway({
        providers: { openai: mockProvider(), anthropic: mockProvider() },
        models: { smart: { deployments: [{ provider: "openai", model: "a" }, { provider: "anthropc", model: "b" }] } },
      }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe("config_invalid");
    expect((error as ConfigError).issues).toContainEqual({
      path: "models.smart.deployments[1].provider",
      message: "'anthropc' is not a configured provider (have: openai, anthropic)",
    });
  });

  it("lists every bad path at once, with what was expected", () => {
    const error = catchError(() =>
      createGateway({
        providers: { p: mockProvider() },
        models: { a: "no-slash", b: { deployments: [], strategy: "fastest" as never } },
        retry: { retries: -1 },
        timeoutMs: "soon" as never,
        typo: true,
      } as never),
    ) as ConfigError;
    const paths = error.issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining(["models.a", "models.b.deployments", "models.b.strategy", "retry.retries", "timeoutMs", "typo"]),
    );
    expect(error.message).toContain("models.a: expected 'provider/model'");
    expect(error.message).toContain("typo: is not a known field");
  });

  it("rejects a fallback to an undeclared model", () => {
    const error = catchError(() =>
      createGateway({ providers: { p: mockProvider() }, models: { a: { deployments: ["p/x"], fallbacks: ["ghost"] } } }),
    ) as ConfigError;
    expect(error.issues[0]?.path).toBe("models.a.fallbacks[0]");
    expect(error.issues[0]?.message).toContain("'ghost' is not a declared model");
  });

  it("names a key's model that does not exist", () => {
    const error = catchError(() =>
      createGateway({ providers: { p: mockProvider() }, models: { m: "p/x" }, keys: { a: { models: ["m", "p/direct", "typo"] } } }),
    ) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues).toEqual([{ path: "keys.a.models[2]", message: expect.stringContaining("'typo' is not a declared model") }]);
  });

  it("rejects a provider that is not an adapter", () => {
    const error = catchError(() => createGateway({ providers: { p: {} as never } })) as ConfigError;
    expect(error.issues[0]).toMatchObject({ path: "providers.p", message: expect.stringContaining("provider adapter") });
  });
});

describe("request validation", () => {
  const gateway = createGateway({ providers: { p: mockProvider() } });

  it("lists each bad path of a body", async () => {
    const error = await gateway
      .chat({ model: "p/x", messages: [{ role: "user", content: 42 }], temperature: 3, bogus: 1 } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    const paths = (error as InvalidRequestError).issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(["messages[0].content", "temperature", "bogus"]));
  });

  it("names an unknown model and what exists", async () => {
    const error = (await gateway.chat(ask("smrt")).catch((e: unknown) => e)) as InvalidRequestError;
    expect(error.issues[0]?.path).toBe("model");
    expect(error.message).toContain("'smrt' is not a declared model");
  });

  it("validates call options", async () => {
    const error = (await gateway.chat(ask("p/x"), { timeoutMs: -5 } as never).catch((e: unknown) => e)) as InvalidRequestError;
    expect(error.issues[0]?.path).toBe("options.timeoutMs");
  });

  it("refuses a sparse tags array as the schema does (a hole is no string)", async () => {
    const error = (await gateway.chat(ask("p/x"), { tags: ["a", , "b"] } as never).catch((e: unknown) => e)) as InvalidRequestError;
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.issues[0]?.path).toBe("options.tags[1]");
  });
});

describe("serving", () => {
  it("serves an undeclared provider/model directly and reports what happened", async () => {
    const provider = mockProvider({ reply: "hi there" });
    const gateway = createGateway({ providers: { openai: provider } });
    const res = await gateway.chat(ask("openai/gpt-4o-mini"));
    expect(res.choices[0]?.message.content).toBe("hi there");
    expect(res.gateway).toMatchObject({ provider: "openai", deployment: "openai/gpt-4o-mini", model: "gpt-4o-mini", cache: "miss" });
    expect(res.gateway.attempts).toHaveLength(1);
    expect(provider.requests[0]?.model).toBe("gpt-4o-mini");
  });

  it("resolves a shorthand route", async () => {
    const provider = mockProvider();
    const gateway = createGateway({ providers: { p: provider }, models: { cheap: "p/small" } });
    const res = await gateway.chat(ask("cheap"));
    expect(res.gateway.route).toBe("cheap");
    expect(provider.requests[0]?.model).toBe("small");
  });
});

describe("strategies", () => {
  it("ordered always tries the first healthy deployment", async () => {
    const a = mockProvider();
    const b = mockProvider();
    const gateway = createGateway({ providers: { a, b }, models: { m: { deployments: ["a/x", "b/y"] } } });
    for (let i = 0; i < 20; i++) await gateway.chat(ask("m"));
    expect([a.calls, b.calls]).toEqual([20, 0]);
  });

  it("weighted picks by weight within statistical tolerance over 2,000 calls", async () => {
    const a = mockProvider();
    const b = mockProvider();
    const gateway = createGateway({
      providers: { a, b },
      models: { m: { strategy: "weighted", deployments: [{ provider: "a", model: "x", weight: 3 }, { provider: "b", model: "y", weight: 1 }] } },
    });
    for (let i = 0; i < 2_000; i++) await gateway.chat(ask("m"));
    // Binomial(2000, 0.75): sd ~ 19.4; 5 sd either side.
    expect(a.calls).toBeGreaterThan(1_500 - 97);
    expect(a.calls).toBeLessThan(1_500 + 97);
    expect(a.calls + b.calls).toBe(2_000);
  });

  it("least-latency moves traffic to the faster deployment once both are measured", async () => {
    const slow = mockProvider({ latencyMs: 30 });
    const fast = mockProvider({ latencyMs: 2 });
    const gateway = createGateway({
      providers: { slow, fast },
      models: { m: { strategy: "least-latency", deployments: ["slow/x", "fast/y"] } },
    });
    // Fake clocks: the latencies the router compares are the mocks' 30 ms and 2 ms, not how
    // quickly a loaded machine happens to fire timers.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "performance", "Date"] });
    try {
      for (let i = 0; i < 10; i++) {
        const answer = gateway.chat(ask("m"));
        await vi.advanceTimersByTimeAsync(40);
        await answer;
      }
    } finally {
      vi.useRealTimers();
    }
    expect(slow.calls).toBe(1); // measured once, then avoided
    expect(fast.calls).toBe(9);
  });

  it("least-busy spreads concurrent calls", async () => {
    const a = mockProvider({ latencyMs: 20 });
    const b = mockProvider({ latencyMs: 20 });
    const gateway = createGateway({ providers: { a, b }, models: { m: { strategy: "least-busy", deployments: ["a/x", "b/y"] } } });
    await Promise.all(Array.from({ length: 10 }, () => gateway.chat(ask("m"))));
    expect([a.calls, b.calls]).toEqual([5, 5]);
  });

  it("cheapest picks the lowest price and puts unpriced models last", async () => {
    const a = mockProvider();
    const b = mockProvider();
    const c = mockProvider();
    const gateway = createGateway({
      providers: { a, b, c },
      models: {
        m: {
          strategy: "cheapest",
          deployments: [
            { provider: "c", model: "unknown-model" },
            { provider: "a", model: "x", price: { input: 5, output: 15 } },
            { provider: "b", model: "y", price: { input: 0.5, output: 1.5 } },
          ],
        },
      },
    });
    await gateway.chat(ask("m"));
    expect([a.calls, b.calls, c.calls]).toEqual([0, 1, 0]);
  });
});

describe("retries", () => {
  it("retries a retryable failure on the same deployment, then succeeds", async () => {
    const flaky = mockProvider({ fail: { status: 503, times: 2 } });
    const gateway = createGateway({ providers: { flaky }, retry: fastRetry });
    const res = await gateway.chat(ask("flaky/x"));
    expect(flaky.calls).toBe(3);
    expect(res.gateway.attempts.map((attempt) => attempt.status ?? "ok")).toEqual([503, 503, "ok"]);
    expect(res.gateway.attempts[0]?.errorCode).toBe("provider_error");
  });

  it("makes exactly one call when retries are 0", async () => {
    const down = mockProvider({ fail: { status: 500, times: Infinity } });
    const gateway = createGateway({ providers: { down }, retry: { retries: 0 } });
    const error = await gateway.chat(ask("down/x")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllDeploymentsFailedError);
    expect(down.calls).toBe(1);
  });

  it("waits what Retry-After asks, not the backoff", async () => {
    const limited = mockProvider({ fail: { status: 429, retryAfterMs: 150 } });
    const gateway = createGateway({ providers: { limited }, retry: { retries: 1, minDelayMs: 1, maxDelayMs: 1_000 } });
    const started = performance.now();
    await gateway.chat(ask("limited/x"));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(limited.calls).toBe(2);
  });

  it("cools a deployment instead of sleeping through a Retry-After longer than the retry budget", async () => {
    const limited = mockProvider({ fail: { status: 429, retryAfterMs: 60_000 } });
    const spare = mockProvider({ reply: "spare" });
    const gateway = createGateway({
      providers: { limited, spare },
      models: { m: { deployments: ["limited/x", "spare/y"] } },
      retry: { retries: 3, minDelayMs: 1, maxDelayMs: 1_000 },
    });
    const started = performance.now();
    const res = await gateway.chat(ask("m"));
    // Far below the 60 s it was asked to wait (generous: the machine may be loaded).
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(res.choices[0]?.message.content).toBe("spare");
    expect(limited.calls).toBe(1);
    const health = gateway.health().find((row) => row.deployment === "limited/x");
    expect(health?.state).toBe("cooling");
    expect(health?.coolingForMs).toBeGreaterThan(55_000);
  });

  it("neither retries nor falls back on a 400 or 422", async () => {
    for (const status of [400, 422]) {
      const bad = mockProvider({ fail: { status, times: Infinity } });
      const other = mockProvider();
      const gateway = createGateway({
        providers: { bad, other },
        models: { m: { deployments: ["bad/x"], fallbacks: ["n"] }, n: "other/y" },
        retry: fastRetry,
      });
      const error = await gateway.chat(ask("m")).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).status).toBe(status);
      expect((error as ProviderError).deployment).toBe("bad/x");
      expect([bad.calls, other.calls]).toEqual([1, 0]);
      expect(gateway.health()[0]?.state).toBe("healthy");
    }
  });

  it("does not retry a quota-exhausted 429", async () => {
    const broke = mockProvider({ fail: { status: 429, type: "insufficient_quota", times: Infinity } });
    const gateway = createGateway({ providers: { broke }, retry: fastRetry });
    await expect(gateway.chat(ask("broke/x"))).rejects.toMatchObject({ status: 429, retryable: false });
    expect(broke.calls).toBe(1);
  });
});

describe("fallbacks", () => {
  it("walks deployments, then the fallback chain across logical models", async () => {
    const a = mockProvider({ fail: { status: 503, times: Infinity } });
    const b = mockProvider({ fail: { status: 502, times: Infinity } });
    const c = mockProvider({ reply: "from c" });
    const gateway = createGateway({
      providers: { a, b, c },
      models: {
        smart: { deployments: ["a/x"], fallbacks: ["backup"] },
        backup: { deployments: ["b/y"], fallbacks: ["last"] },
        last: "c/z",
      },
      retry: { retries: 1, minDelayMs: 1, maxDelayMs: 5 },
    });
    const fallbacks: string[] = [];
    gateway.on("fallback", (event) => fallbacks.push(`${event.from}->${event.to}`));
    const res = await gateway.chat(ask("smart"));
    expect(res.choices[0]?.message.content).toBe("from c");
    expect(res.gateway).toMatchObject({ route: "last", provider: "c" });
    expect(res.gateway.attempts.map((attempt) => attempt.route)).toEqual(["smart", "smart", "backup", "backup", "last"]);
    expect(fallbacks).toEqual(["smart->backup", "backup->last"]);
  });

  it("lists every failed attempt when everything fails", async () => {
    const a = mockProvider({ fail: { status: 503, times: Infinity } });
    const b = mockProvider({ fail: { status: 500, times: Infinity } });
    const gateway = createGateway({
      providers: { a, b },
      models: { m: { deployments: ["a/x", "b/y"] } },
      retry: { retries: 0 },
    });
    const error = (await gateway.chat(ask("m")).catch((e: unknown) => e)) as AllDeploymentsFailedError;
    expect(error.code).toBe("all_failed");
    expect(error.attempts.map((attempt) => attempt.deployment)).toEqual(["a/x", "b/y"]);
    expect(error.message).toContain("a/x");
  });
});

describe("requests a provider cannot express", () => {
  const refuses = (field: string) => ({
    name: "strict",
    chat: () => Promise.reject(new InvalidRequestError([{ path: field, message: `strict cannot express '${field}'` }])),
    stream: () => {
      throw new InvalidRequestError([{ path: field, message: `strict cannot express '${field}'` }]);
    },
  });

  it("moves on to a deployment that can serve them, without retrying or cooling", async () => {
    const able = mockProvider({ reply: "served" });
    const gateway = createGateway({
      providers: { strict: refuses("seed"), able },
      models: { m: { deployments: ["strict/x"], fallbacks: ["able/y"] } },
      retry: fastRetry,
    });
    const res = await gateway.chat({ ...ask("m"), seed: 7 });
    expect(res.choices[0]?.message.content).toBe("served");
    expect(res.gateway.attempts.map((attempt) => attempt.errorCode ?? "ok")).toEqual(["request_invalid", "ok"]);
    expect(gateway.health().find((row) => row.deployment === "strict/x")?.state).toBe("healthy");
  });

  it("throws the InvalidRequestError when no deployment can serve them", async () => {
    const gateway = createGateway({ providers: { strict: refuses("seed") }, models: { m: "strict/x" }, retry: fastRetry });
    const error = await gateway.chat({ ...ask("m"), seed: 7 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).issues).toEqual([{ path: "seed", message: "strict cannot express 'seed'" }]);
  });
});

describe("cooldown", () => {
  it("skips a deployment after repeated failures, then probes and recovers it", async () => {
    const a = mockProvider({ fail: { status: 503, times: 3 } });
    const b = mockProvider({ reply: "b" });
    const cooldowns: string[] = [];
    const gateway = createGateway({
      providers: { a, b },
      models: { m: { deployments: ["a/x", "b/y"] } },
      retry: { retries: 0 },
      cooldown: { failures: 3, windowMs: 10_000, durationMs: 80 },
    });
    gateway.on("cooldown", (event) => cooldowns.push(event.deployment));
    for (let i = 0; i < 3; i++) await gateway.chat(ask("m")); // a fails 3x, b serves
    expect(cooldowns).toEqual(["a/x"]);
    expect(gateway.health().find((row) => row.deployment === "a/x")?.state).toBe("cooling");
    await gateway.chat(ask("m"));
    expect(a.calls).toBe(3); // skipped while cooling
    await new Promise((resolve) => setTimeout(resolve, 100));
    const res = await gateway.chat(ask("m")); // probe succeeds
    expect(res.gateway.provider).toBe("a");
    expect(gateway.health().find((row) => row.deployment === "a/x")).toMatchObject({ state: "healthy", ejections: 0 });
  });

  it("grows the cooldown on repeated ejection and never shortens a longer one", async () => {
    const a = mockProvider({ fail: { status: 503, times: Infinity } });
    const gateway = createGateway({
      providers: { a },
      retry: { retries: 0 },
      models: { m: "a/x" },
      cooldown: { failures: 1, windowMs: 10_000, durationMs: 50, maxDurationMs: 10_000 },
    });
    const durations: number[] = [];
    gateway.on("cooldown", (event) => durations.push(event.durationMs));
    await gateway.chat(ask("m")).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 70));
    await gateway.chat(ask("m")).catch(() => {}); // probe fails: doubled
    expect(durations).toHaveLength(2);
    expect(durations[1]!).toBeGreaterThan(durations[0]! * 1.5);
  });

  it("when every deployment is cooling, one call probes the first back early; others fail fast, saying when", async () => {
    const a = mockProvider({ fail: { status: 503, times: Infinity }, latencyMs: 100 });
    const gateway = createGateway({
      providers: { a },
      models: { m: "a/x" },
      retry: { retries: 0 },
      cooldown: { failures: 1, durationMs: 5_000 },
    });
    await gateway.chat(ask("m")).catch(() => {});
    expect(a.calls).toBe(1);
    const cooledFor = gateway.health()[0]!.coolingForMs;
    const [probe, other] = (await Promise.all([
      gateway.chat(ask("m")).catch((e: unknown) => e),
      gateway.chat(ask("m")).catch((e: unknown) => e),
    ])) as AllDeploymentsFailedError[];
    expect(a.calls).toBe(2); // one early probe, not one per call
    expect(probe?.attempts).toHaveLength(1);
    expect(other).toBeInstanceOf(AllDeploymentsFailedError);
    expect(other?.attempts).toHaveLength(0);
    expect(other?.retryAfterMs).toBeGreaterThan(3_000);
    expect(other?.message).toMatch(/cooling down \(first back in \d+ ms\)/);
    // A failed early probe neither extends the ejection nor counts as another one.
    expect(gateway.health()[0]!.coolingForMs).toBeLessThanOrEqual(cooledFor);
    expect(gateway.health()[0]!.ejections).toBe(1);
  });

  it("an early probe that succeeds ends the ejection", async () => {
    const a = mockProvider({ fail: { status: 503, times: 1 } });
    const gateway = createGateway({
      providers: { a },
      models: { m: "a/x" },
      retry: { retries: 0 },
      cooldown: { failures: 1, durationMs: 60_000 },
    });
    await gateway.chat(ask("m")).catch(() => {});
    expect(gateway.health()[0]?.state).toBe("cooling");
    const res = await gateway.chat(ask("m"));
    expect(res.gateway.deployment).toBe("a/x");
    expect(gateway.health()[0]).toMatchObject({ state: "healthy", ejections: 0, coolingForMs: 0 });
  });

  it("prefers a fallback to an early probe while the fallback is available", async () => {
    const a = mockProvider({ fail: { status: 503, times: 1 } });
    const b = mockProvider({ reply: "b" });
    const gateway = createGateway({
      providers: { a, b },
      models: { m: { deployments: ["a/x"], fallbacks: ["n"] }, n: "b/y" },
      retry: { retries: 0 },
      cooldown: { failures: 1, durationMs: 60_000 },
    });
    await gateway.chat(ask("m")); // a fails and cools, b serves
    const res = await gateway.chat(ask("m"));
    expect(res.choices[0]?.message.content).toBe("b");
    expect(a.calls).toBe(1);
  });
});

describe("fallbackOn: failures of one deployment alone", () => {
  for (const status of [401, 403, 404]) {
    it(`falls back on a ${status} and cools that deployment long`, async () => {
      const gone = mockProvider({ fail: { status, times: Infinity } });
      const spare = mockProvider({ reply: "spare" });
      const gateway = createGateway({
        providers: { gone, spare },
        models: { m: { deployments: ["gone/x", "spare/y"] } },
        retry: fastRetry,
        cooldown: { maxDurationMs: 600_000 },
      });
      const cooldowns: string[] = [];
      gateway.on("cooldown", (event) => cooldowns.push(`${event.deployment}:${event.reason}`));
      const res = await gateway.chat(ask("m"));
      expect(res.choices[0]?.message.content).toBe("spare");
      expect(gone.calls).toBe(1); // not retried: it would fail the same way
      expect(cooldowns).toEqual(["gone/x:deployment"]);
      const row = gateway.health().find((r) => r.deployment === "gone/x");
      expect(row?.coolingForMs).toBeGreaterThan(500_000);
      await gateway.chat(ask("m"));
      expect(gone.calls).toBe(1); // skipped while cooling
    });
  }

  it("with nowhere to fall back to, a 404 is the caller's error and nothing cools", async () => {
    const gone = mockProvider({ fail: { status: 404, times: 1 } });
    const gateway = createGateway({ providers: { gone }, retry: fastRetry });
    await expect(gateway.chat(ask("gone/typo"))).rejects.toMatchObject({ code: "provider_error", status: 404 });
    expect(gateway.health()).toEqual([]); // direct routes are not declared; check the next call instead
    const res = await gateway.chat(ask("gone/typo"));
    expect(res.gateway.deployment).toBe("gone/typo");
  });

  it("a route's fallbackOn replaces the default", async () => {
    const gone = mockProvider({ fail: { status: 404, times: Infinity } });
    const spare = mockProvider({ reply: "spare" });
    const gateway = createGateway({
      providers: { gone, spare },
      models: { m: { deployments: ["gone/x", "spare/y"], fallbackOn: [401] } },
      retry: fastRetry,
    });
    await expect(gateway.chat(ask("m"))).rejects.toMatchObject({ status: 404 });
    expect(spare.calls).toBe(0);
  });

  it("refuses a fallbackOn that is no 4xx status", () => {
    expect(() =>
      createGateway({ providers: { p: mockProvider() }, models: { m: { deployments: ["p/x"], fallbackOn: [503] } } }),
    ).toThrow(/models\.m\.fallbackOn\[0\]/);
  });
});

describe("timeouts and abort", () => {
  it("times out a slow attempt and moves to the next deployment", async () => {
    const slow = mockProvider({ latencyMs: 5_000 });
    const quick = mockProvider({ reply: "quick" });
    const gateway = createGateway({
      providers: { slow, quick },
      // The short timeout is the slow deployment's own, so a loaded machine cannot time out the quick one.
      models: { m: { deployments: [{ provider: "slow", model: "x", timeoutMs: 50 }, "quick/y"] } },
      retry: { retries: 0 },
    });
    const res = await gateway.chat(ask("m"));
    expect(res.choices[0]?.message.content).toBe("quick");
    expect(res.gateway.attempts[0]?.errorCode).toBe("timeout");
  });

  it("stops every retry at the call's deadline", async () => {
    const slow = mockProvider({ latencyMs: 5_000 });
    const gateway = createGateway({ providers: { slow }, timeoutMs: 60, retry: { retries: 5, minDelayMs: 1, maxDelayMs: 2 } });
    const started = performance.now();
    const error = await gateway.chat(ask("slow/x"), { deadlineMs: 150 }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    // Cut long before the 5 s an attempt would take (generous: the machine may be loaded).
    expect(elapsed).toBeLessThan(4_000);
    expect(slow.calls).toBeLessThanOrEqual(3);
    // Either the deadline cut an attempt (TimeoutError), or the next try could not start
    // before it and no other candidate was left (all_failed, every attempt a timeout): which
    // one depends on how late the machine's timers fire.
    if (error instanceof AllDeploymentsFailedError) {
      expect(error.attempts.map((attempt) => attempt.error.code)).toEqual(error.attempts.map(() => "timeout"));
    } else {
      expect(error).toBeInstanceOf(TimeoutError);
    }
  });

  it("aborts an in-flight call at once and releases it", async () => {
    const slow = mockProvider({ latencyMs: 5_000 });
    const gateway = createGateway({ providers: { slow }, models: { m: "slow/x" } });
    const controller = new AbortController();
    const pending = gateway.chat(ask("m"), { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const started = performance.now();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    // Long before the 5 s the provider would take (generous: the machine may be loaded).
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(gateway.health()[0]?.inFlight).toBe(0);
    expect(slow.calls).toBe(1);
  });

  it("does not retry after the caller aborts during a backoff", async () => {
    const flaky = mockProvider({ fail: { status: 503, times: Infinity } });
    const gateway = createGateway({ providers: { flaky }, retry: { retries: 5, minDelayMs: 200, maxDelayMs: 200 } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await expect(gateway.chat(ask("flaky/x"), { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    expect(flaky.calls).toBe(1);
  });
});

describe("streams", () => {
  it("streams chunks and assembles the final response", async () => {
    const provider = mockProvider({ reply: "one two three" });
    const gateway = createGateway({ providers: { provider } });
    const stream = await gateway.chat({ ...ask("provider/x"), stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("one two three");
    const final = await stream.finalResponse();
    expect(final.choices[0]?.message.content).toBe("one two three");
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
    expect(final.gateway.deployment).toBe("provider/x");
  });

  it("falls back before the first chunk", async () => {
    const a = mockProvider({ fail: { status: 503, times: Infinity } });
    const b = mockProvider({ reply: "from b" });
    const gateway = createGateway({ providers: { a, b }, models: { m: { deployments: ["a/x"], fallbacks: ["b/y"] } }, retry: fastRetry });
    const stream = await gateway.chat({ ...ask("m"), stream: true });
    const final = await stream.finalResponse();
    expect(final.choices[0]?.message.content).toBe("from b");
    expect(final.gateway.route).toBe("b/y");
    expect(a.calls).toBe(3);
  });

  it("surfaces a failure after the first chunk as an error from the iterator, without retrying", async () => {
    const cut = mockProvider({ reply: "a b c d e", fail: { status: 502, afterChunks: 3 } });
    const gateway = createGateway({ providers: { cut }, retry: fastRetry });
    const stream = await gateway.chat({ ...ask("cut/x"), stream: true });
    const received: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? "");
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(received.length).toBe(3);
    expect(cut.calls).toBe(1);
    await expect(stream.finalResponse()).rejects.toBeInstanceOf(ProviderError);
  });

  it("turns a stream that ends without a finish reason into an error", async () => {
    const truncated = {
      name: "truncated",
      chat: () => Promise.reject(new Error("unused")),
      async *stream() {
        yield { id: "1", object: "chat.completion.chunk" as const, created: 0, model: "x", choices: [{ index: 0, delta: { content: "half" }, finish_reason: null }] };
      },
    };
    const gateway = createGateway({ providers: { truncated } });
    const stream = await gateway.chat({ ...ask("truncated/x"), stream: true });
    await expect(stream.finalResponse()).rejects.toMatchObject({ code: "provider_error", type: "stream_truncated" });
  });

  it("aborts the upstream stream when the consumer breaks", async () => {
    let upstreamClosed = false;
    const endless = {
      name: "endless",
      chat: () => Promise.reject(new Error("unused")),
      async *stream() {
        try {
          for (let i = 0; i < 1_000; i++) {
            yield { id: "1", object: "chat.completion.chunk" as const, created: 0, model: "x", choices: [{ index: 0, delta: { content: `${i} ` }, finish_reason: null }] };
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        } finally {
          upstreamClosed = true;
        }
      },
    };
    const gateway = createGateway({ providers: { endless } });
    const stream = await gateway.chat({ ...ask("endless/x"), stream: true });
    let count = 0;
    for await (const _chunk of stream) if (++count === 3) break;
    expect(upstreamClosed).toBe(true);
    expect(gateway.health()).toEqual([]);
  });

  it("fails a stream that goes silent past the idle timeout", async () => {
    const stalls = mockProvider({ reply: "a b c", chunkDelayMs: 10_000 });
    const gateway = createGateway({ providers: { stalls }, streamIdleTimeoutMs: 50 });
    const stream = await gateway.chat({ ...ask("stalls/x"), stream: true });
    const started = performance.now();
    await expect(stream.finalResponse()).rejects.toBeInstanceOf(TimeoutError);
    // Long before the next chunk at 10 s (generous: the machine may be loaded).
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe("close", () => {
  it("rejects calls after close and aborts calls in flight", async () => {
    const slow = mockProvider({ latencyMs: 5_000 });
    const gateway = createGateway({ providers: { slow } });
    const pending = gateway.chat(ask("slow/x")).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await gateway.close();
    expect(await pending).toMatchObject({ code: "gateway_closed" });
    await expect(gateway.chat(ask("slow/x"))).rejects.toMatchObject({ code: "gateway_closed" });
  });
});

describe("events", () => {
  it("a listener that throws never breaks a call", async () => {
    const flaky = mockProvider({ fail: { status: 503 } });
    const gateway = createGateway({ providers: { flaky }, retry: fastRetry });
    gateway.on("retry", () => {
      throw new Error("listener bug");
    });
    const res = await gateway.chat(ask("flaky/x"));
    expect(res.gateway.attempts).toHaveLength(2);
  });
});

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("settling what nobody finishes", () => {
  it("settles a stream nobody reads once it goes idle: in-flight released, spend recorded, a late read fails", async () => {
    const provider = mockProvider({ reply: "never read" });
    const gateway = createGateway({ providers: { provider }, streamIdleTimeoutMs: 40 });
    const stream = await gateway.chat({ ...ask("provider/x"), stream: true });
    expect(gateway.health()).toEqual([]); // direct routes are not declared; check through spend instead
    await new Promise((resolve) => setTimeout(resolve, 120));
    const rows = await gateway.spend.report({ by: "model" });
    expect(rows[0]?.requests).toBe(1);
    await expect(stream.finalResponse()).rejects.toBeInstanceOf(TimeoutError);
  });

  it("releases a declared deployment's in-flight count when a paused stream is closed", async () => {
    const provider = mockProvider({ reply: "a b c d e f" });
    const gateway = createGateway({ providers: { provider }, models: { m: "provider/x" } });
    const stream = await gateway.chat({ ...ask("m"), stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next(); // read one chunk, then pause
    expect(gateway.health()[0]?.inFlight).toBe(1);
    await gateway.close();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(gateway.health()[0]?.inFlight).toBe(0);
    await expect(iterator.next()).rejects.toMatchObject({ code: "gateway_closed" });
  });

  it("reads the usage after a break on the finish reason, so the answer is costed and cached", async () => {
    const provider = mockProvider({ reply: "cached after break" });
    const gateway = createGateway({
      providers: { provider },
      models: { m: "provider/x" },
      prices: { x: { input: 1, output: 2 } },
      cache: { exact: {} },
    });
    const stream = await gateway.chat({ ...ask("m"), stream: true });
    for await (const chunk of stream) if (chunk.choices[0]?.finish_reason) break;
    const final = await stream.finalResponse();
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
    expect(final.gateway.costUsd).toBeGreaterThan(0);
    const again = await gateway.chat(ask("m"));
    expect(again.gateway.cache).toBe("exact");
    expect(provider.calls).toBe(1);
  });
});

describe("what counts against a deployment's health", () => {
  it("cools a deployment whose streams are cut midway", async () => {
    const cut = mockProvider({ reply: "a b c d", fail: { status: 503, afterChunks: 2, times: Infinity } });
    const gateway = createGateway({ providers: { cut }, models: { m: "cut/x" }, cooldown: { failures: 3, durationMs: 5_000 } });
    const cooldowns: string[] = [];
    gateway.on("cooldown", (event) => cooldowns.push(event.deployment));
    for (let i = 0; i < 3; i++) {
      const stream = await gateway.chat({ ...ask("m"), stream: true });
      await stream.finalResponse().catch(() => {});
    }
    expect(gateway.health()[0]?.state).toBe("cooling");
    expect(cooldowns).toEqual(["cut/x"]);
  });

  it("does not cool a deployment for a caller's own short timeout", async () => {
    const steady = mockProvider({ latencyMs: 40 });
    const gateway = createGateway({
      providers: { steady },
      models: { m: "steady/x" },
      retry: { retries: 0 },
      cooldown: { failures: 2, durationMs: 5_000 },
    });
    for (let i = 0; i < 3; i++) await gateway.chat(ask("m"), { timeoutMs: 5 }).catch(() => {});
    expect(gateway.health()[0]).toMatchObject({ state: "healthy", recentFailures: 0 });
    const res = await gateway.chat(ask("m"));
    expect(res.gateway.deployment).toBe("steady/x");
  });

  it("cools a deployment for a long Retry-After even on the last try", async () => {
    const limited = mockProvider({ fail: { status: 429, retryAfterMs: 60_000 } });
    const gateway = createGateway({ providers: { limited }, models: { m: "limited/x" }, retry: { retries: 0 } });
    await gateway.chat(ask("m")).catch(() => {});
    expect(gateway.health()[0]?.state).toBe("cooling");
    await expect(gateway.chat(ask("m"))).rejects.toMatchObject({ code: "all_failed" });
    expect(limited.calls).toBe(1);
  });
});

describe("virtual keys", () => {
  it("rejects an unknown key before anything records it", async () => {
    const gateway = createGateway({ providers: { p: mockProvider() }, keys: { "team-a": {} } });
    const seen: unknown[] = [];
    gateway.on("request", (event) => seen.push(event));
    gateway.on("error", (event) => seen.push(event));
    const error = (await gateway.chat(ask("p/x"), { key: "sk-pasted-secret" }).catch((e: unknown) => e)) as InvalidRequestError;
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.issues[0]?.path).toBe("options.key");
    expect(error.message).not.toContain("sk-pasted-secret");
    expect(seen).toEqual([]);
  });
});

describe("mockProvider", () => {
  it("remembers the latest 1,000 requests and keeps counting past them", async () => {
    const provider = mockProvider();
    const gateway = createGateway({ providers: { provider } });
    for (let i = 0; i < 1_005; i++) await gateway.chat(ask("provider/x", `call ${i}`));
    expect(provider.calls).toBe(1_005);
    expect(provider.requests).toHaveLength(1_000);
    expect(provider.requests[0]?.request.messages[0]).toMatchObject({ content: "call 5" });
  });
});

describe("stream settlement", () => {
  const chunk = (content: string, finish = false): ChatChunk => ({
    id: "c",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta: { content }, finish_reason: finish ? "stop" : null, logprobs: null }],
  });
  async function* source(fail: boolean): AsyncGenerator<ChatChunk> {
    yield chunk("a ");
    yield chunk("b ");
    if (fail) throw new ProviderError("cut", { provider: "p", deployment: "p/x", status: 502, retryable: true });
    yield chunk("c", true);
  }
  /** Three middleware registering inner to outer, as cost, limits, spend do after `await next()`. */
  function settleThree(fail: boolean): { ctx: CallContext; log: string[]; settlements: Settlement[] } {
    const ctx = {
      chunks: source(fail),
      request: { model: "m", messages: [{ role: "user", content: "hi" }] },
      options: {},
      route: { name: "m", deployments: [], fallbacks: [] },
      cache: "miss",
      costUsd: 0,
      savedUsd: 0,
    } as unknown as CallContext;
    const log: string[] = [];
    const settlements: Settlement[] = [];
    for (const name of ["inner", "middle", "outer"]) {
      whenSettled(ctx, (settlement) => {
        log.push(name);
        settlements.push(settlement);
      });
    }
    return { ctx, log, settlements };
  }

  it("taps the stream once and runs every callback once, inner first, for a stream read to the end", async () => {
    const { ctx, log, settlements } = settleThree(false);
    expect(ctx.chunks).toBe(ctx.settlement);
    const seen: string[] = [];
    for await (const c of ctx.chunks!) seen.push(c.choices[0]?.delta.content ?? "");
    expect(seen).toEqual(["a ", "b ", "c"]);
    expect(log).toEqual(["inner", "middle", "outer"]);
    expect(settlements[0]?.abandoned).toBe(false);
    expect(settlements[0]?.error).toBeUndefined();
    expect(settlements[0]?.response?.choices[0]?.message.content).toBe("a b c");
    expect(new Set(settlements).size).toBe(1);
  });

  it("settles each callback once, inner first, for a stream abandoned with break", async () => {
    const { ctx, log, settlements } = settleThree(false);
    for await (const _c of ctx.chunks!) break;
    expect(log).toEqual(["inner", "middle", "outer"]);
    expect(settlements[0]?.abandoned).toBe(true);
    expect(settlements[0]?.response?.choices[0]?.message.content).toBe("a ");
  });

  it("settles each callback once, inner first, for a stream that fails midway", async () => {
    const { ctx, log, settlements } = settleThree(true);
    const seen: string[] = [];
    const error = await (async () => {
      for await (const c of ctx.chunks!) seen.push(c.choices[0]?.delta.content ?? "");
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(seen).toEqual(["a ", "b "]);
    expect(log).toEqual(["inner", "middle", "outer"]);
    expect(settlements[0]?.error).toBe(error);
    expect(settlements[0]?.response?.choices[0]?.message.content).toBe("a b ");
    // A read after the end neither settles again nor reaches the source.
    expect(await ctx.chunks![Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    expect(log).toHaveLength(3);
  });

  it("moves the callbacks to a fresh outermost tap when a middleware replaced the chunks", async () => {
    const { ctx, log } = settleThree(false);
    const inner = ctx.chunks!;
    ctx.chunks = (async function* () {
      for await (const c of inner) yield c; // a wrapping middleware
    })();
    whenSettled(ctx, () => log.push("after replace"));
    expect(ctx.chunks).toBe(ctx.settlement);
    for await (const _c of ctx.chunks!) {
      // drained
    }
    expect(log).toEqual(["inner", "middle", "outer", "after replace"]);
  });

  it("settles spend, cache and in-flight once through the gateway, for an ended, a broken and a failed stream", async () => {
    const provider = mockProvider({ reply: "one two three" });
    const cut = mockProvider({ reply: "a b c d e", fail: { status: 502, afterChunks: 2, times: Infinity } });
    const gateway = createGateway({
      providers: { provider, cut },
      models: { m: "provider/x", c: "cut/x" },
      prices: { x: { input: 1, output: 2 } },
      cache: { exact: {} },
      retry: { retries: 0 },
    });
    const ended = await gateway.chat({ ...ask("m", "ended"), stream: true });
    for await (const _c of ended) {
      // read to the end
    }
    expect((await ended.finalResponse()).gateway.costUsd).toBeGreaterThan(0);
    const broken = await gateway.chat({ ...ask("m", "broken"), stream: true });
    for await (const _c of broken) break;
    const failed = await gateway.chat({ ...ask("c"), stream: true });
    await expect(failed.finalResponse()).rejects.toBeInstanceOf(ProviderError);
    expect(gateway.health().map((h) => h.inFlight)).toEqual([0, 0]);
    const rows = await gateway.spend.report({ by: "model" });
    expect(Object.fromEntries(rows.map((row) => [row.group, row.requests]))).toEqual({ m: 2, c: 1 });
    // Only the stream read to its end was cached.
    expect((await gateway.chat(ask("m", "ended"))).gateway.cache).toBe("exact");
    expect((await gateway.chat(ask("m", "broken"))).gateway.cache).toBe("miss");
    expect(provider.calls).toBe(2 + 1);
  });
});
