import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BudgetExceededError,
  createGateway,
  type BudgetConfig,
  type ChatBody,
  type GatewayConfig,
  type LimitEvent,
  type Usage,
} from "../src/index.js";
import { mockProvider, type MockProviderOptions } from "../src/testing.js";
import { serveUntilRejected } from "./fakes/serve-until-rejected.js";

/** `max_tokens: 10` caps each call's output, so its worst case is known exactly. */
const ask = (model = "p/x", extra: Partial<ChatBody> = {}): Omit<ChatBody, "stream"> => ({
  model,
  messages: [{ role: "user", content: "hello" }],
  max_tokens: 10,
  ...extra,
});

/**
 * Output at $1 per 1M tokens, input free: a call costs its output tokens in micro-dollars, so
 * its reservation (the prompt at its upper bound, the output at `max_tokens`) equals its cost.
 */
const prices = { x: { input: 0, output: 1 } };

/** A Wednesday noon, UTC. */
const T0 = Date.UTC(2025, 5, 4, 12, 0, 0);

afterEach(() => {
  vi.useRealTimers();
});

function useFakeDate(at: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

/** The worst case (= actual cost, since the mock reports 10 output tokens) of one `ask()` call, in USD. */
async function unitCost(): Promise<number> {
  const probe = createGateway({ providers: { p: mockProvider({ usage: { completion_tokens: 10 } }) }, prices });
  const res = await probe.chat(ask());
  await probe.close();
  return res.gateway.costUsd;
}

function budgetGateway(budget: BudgetConfig, provider: MockProviderOptions = {}, extra: Partial<GatewayConfig> = {}) {
  return createGateway({
    providers: { p: mockProvider({ usage: { completion_tokens: 10 }, ...provider }) },
    keys: { app: { budget } },
    prices,
    ...extra,
  });
}

describe("budget reservations", () => {
  it("never overspends: 200 concurrent calls against a budget that fits 50", async () => {
    const unit = await unitCost();
    expect(unit).toBeGreaterThan(0);
    const gateway = budgetGateway({ usd: 50 * unit, period: "month" }, { latencyMs: 20 });
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => gateway.chat(ask(), { key: "app" })));
    const served = results.filter((result) => result.status === "fulfilled");
    const refused = results.filter((result): result is PromiseRejectedResult => result.status === "rejected");
    expect(served).toHaveLength(50);
    expect(refused.every((result) => result.reason instanceof BudgetExceededError)).toBe(true);

    const [row] = await gateway.spend.report({ by: "key" });
    expect(row).toMatchObject({ group: "app", requests: 50 });
    expect(row!.costUsd).toBeLessThanOrEqual(50 * unit + 1e-12);
    // Spent to the limit: nothing more fits, even one at a time.
    await expect(gateway.chat(ask(), { key: "app" })).rejects.toBeInstanceOf(BudgetExceededError);
    await gateway.close();
  });

  it("says which budget refused, its limit, and what is spent or held", async () => {
    const unit = await unitCost();
    const gateway = budgetGateway({ usd: 2 * unit, period: "day" });
    const events: LimitEvent[] = [];
    gateway.on("limit", (event) => events.push(event));
    const { served, error } = await serveUntilRejected(() => gateway.chat(ask(), { key: "app" }), 10);
    expect(served).toBe(2);
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error).toMatchObject({ code: "budget_exceeded", scope: "key", limitUsd: 2 * unit });
    expect((error as BudgetExceededError).spentUsd).toBeCloseTo(2 * unit, 9);
    expect(events).toEqual([expect.objectContaining({ scope: "key", kind: "budget", action: "rejected", key: "app" })]);
    await gateway.close();
  });

  it("applies the users default per end user, without naming the user in the error", async () => {
    const unit = await unitCost();
    const gateway = createGateway({
      providers: { p: mockProvider({ usage: { completion_tokens: 10 } }) },
      users: { budget: { usd: unit, period: "day" } },
      prices,
    });
    await gateway.chat(ask(), { user: "alice@example.com" });
    const error = (await gateway.chat(ask(), { user: "alice@example.com" }).catch((e: unknown) => e)) as BudgetExceededError;
    expect(error).toMatchObject({ scope: "user", limitUsd: unit });
    expect(error.message).not.toContain("alice");
    await expect(gateway.chat(ask(), { user: "bob" })).resolves.toBeDefined();
    await gateway.close();
  });

  it("reserves the worst case over the route's fallbacks too", async () => {
    const provider = mockProvider({ usage: { completion_tokens: 10 } });
    const config = (fallbacks: string[]): GatewayConfig => ({
      providers: { openai: provider },
      models: { cheap: { deployments: ["openai/gpt-4o-mini"], fallbacks }, smart: "openai/gpt-4o" },
      keys: { app: { budget: { usd: 0.005, period: "day" } } },
    });
    const body = ask("cheap", { max_tokens: 1_000 });
    // gpt-4o-mini: 1,000 output tokens at $0.60/M = $0.0006, fits; gpt-4o: $0.01, does not.
    const alone = createGateway(config([]));
    await expect(alone.chat(body, { key: "app" })).resolves.toBeDefined();
    const withFallback = createGateway(config(["smart"]));
    await expect(withFallback.chat(body, { key: "app" })).rejects.toBeInstanceOf(BudgetExceededError);
    await alone.close();
    await withFallback.close();
  });

  it("refuses a config whose budgets could not price a declared deployment, and says how to fix it", () => {
    const config = { providers: { p: mockProvider() }, models: { local: "p/llama-local" }, keys: { app: { budget: { usd: 1, period: "day" as const } } } };
    expect(() => createGateway(config)).toThrow(/'p\/llama-local' has no price .*prices: \{ "llama-local"/);
    // A free local model says so; without budgets nothing needs a price.
    expect(() => createGateway({ ...config, prices: { "llama-local": { input: 0, output: 0 } } })).not.toThrow();
    expect(() => createGateway({ providers: config.providers, models: config.models })).not.toThrow();
  });

  it("refuses a model without a price rather than reserving nothing for it", async () => {
    const gateway = createGateway({ providers: { p: mockProvider() }, keys: { app: { budget: { usd: 0.000001, period: "day" } } } });
    await expect(gateway.chat(ask("p/unpriced"), { key: "app" })).rejects.toMatchObject({ code: "model_unpriced" });
    await gateway.close();
  });
});

describe("a reservation is always released", () => {
  // The budget fits two worst cases: a hold left behind would let at most one more call through.
  const cases: [string, MockProviderOptions, (gateway: ReturnType<typeof budgetGateway>) => Promise<unknown>][] = [
    ["a provider error", { fail: { status: 400 } }, (gateway) => gateway.chat(ask(), { key: "app" })],
    [
      "an abort",
      { latencyMs: 40 },
      (gateway) => gateway.chat(ask(), { key: "app", signal: AbortSignal.timeout(5) }),
    ],
    ["a timeout", { latencyMs: 40 }, (gateway) => gateway.chat(ask(), { key: "app", timeoutMs: 5 })],
  ];

  it.each(cases)("after %s", async (_name, provider, failing) => {
    const unit = await unitCost();
    const gateway = budgetGateway({ usd: 2 * unit, period: "day" }, provider, { retry: { retries: 0 } });
    await expect(failing(gateway)).rejects.toBeDefined();
    const { served, error } = await serveUntilRejected(() => gateway.chat(ask(), { key: "app" }), 5);
    expect(served).toBe(2);
    expect(error).toBeInstanceOf(BudgetExceededError);
    await gateway.close();
  });

  // For streams: worst case 8 + 100 tokens, while an early end bills ~10. A budget of 2.5 worst
  // cases then serves two more calls when the hold was released, one when it leaked.
  const streamBody = ask("p/x", { max_tokens: 100 });
  const streamGateway = async (provider: MockProviderOptions) => {
    const probe = createGateway({ providers: { p: mockProvider({ usage: { completion_tokens: 100 } }) }, prices });
    const unit = (await probe.chat(streamBody)).gateway.costUsd;
    await probe.close();
    const gateway = createGateway({
      providers: { p: mockProvider({ usage: { completion_tokens: 100 }, ...provider }) },
      keys: { app: { budget: { usd: 2.5 * unit, period: "day" } } },
      prices,
      retry: { retries: 0 },
    });
    return { unit, gateway };
  };

  it("after a stream the consumer abandons, charging what was delivered", async () => {
    const { unit, gateway } = await streamGateway({ reply: "one two three four five six", chunkDelayMs: 5 });
    const stream = await gateway.chat({ ...streamBody, stream: true }, { key: "app" });
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) break; // one piece of text, then walk away
    }
    const { served, error } = await serveUntilRejected(() => gateway.chat(streamBody, { key: "app" }), 5);
    expect(served).toBe(2);
    expect(error).toBeInstanceOf(BudgetExceededError);
    const [row] = await gateway.spend.report({ by: "key" });
    const abandonedCost = row!.costUsd - 2 * unit;
    expect(abandonedCost).toBeGreaterThan(0); // what was delivered is billed
    expect(abandonedCost).toBeLessThan(0.2 * unit);
    await gateway.close();
  });

  it("after a stream that fails midway", async () => {
    const { gateway } = await streamGateway({ fail: { status: 500, afterChunks: 2 } });
    const stream = await gateway.chat({ ...streamBody, stream: true }, { key: "app" });
    await expect(stream.finalResponse()).rejects.toBeDefined();
    const { served } = await serveUntilRejected(() => gateway.chat(streamBody, { key: "app" }), 5);
    expect(served).toBe(2);
    await gateway.close();
  });
});

describe("budget periods (UTC calendar)", () => {
  const periods: [BudgetConfig["period"], number, number][] = [
    // period, last instant of T0's period, first instant of the next
    ["day", Date.UTC(2025, 5, 4, 23, 59, 59, 999), Date.UTC(2025, 5, 5)],
    ["week", Date.UTC(2025, 5, 8, 23, 59, 59, 999), Date.UTC(2025, 5, 9)], // Sunday night -> Monday
    ["month", Date.UTC(2025, 5, 30, 23, 59, 59, 999), Date.UTC(2025, 6, 1)],
  ];

  it.each(periods)("a %s budget rolls over at the period's end, not before", async (period, lastInstant, nextPeriod) => {
    useFakeDate(T0);
    const unit = await unitCost();
    const gateway = budgetGateway({ usd: 2 * unit, period });
    const call = () => gateway.chat(ask(), { key: "app" });
    expect((await serveUntilRejected(call, 5)).served).toBe(2);
    vi.setSystemTime(lastInstant);
    await expect(call()).rejects.toBeInstanceOf(BudgetExceededError);
    vi.setSystemTime(nextPeriod);
    expect((await serveUntilRejected(call, 5)).served).toBe(2);
    await gateway.close();
  });

  it("a total budget never rolls over", async () => {
    useFakeDate(T0);
    const unit = await unitCost();
    const gateway = budgetGateway({ usd: 2 * unit, period: "total" });
    const call = () => gateway.chat(ask(), { key: "app" });
    expect((await serveUntilRejected(call, 5)).served).toBe(2);
    vi.setSystemTime(Date.UTC(2027, 0, 1));
    await expect(call()).rejects.toBeInstanceOf(BudgetExceededError);
    await gateway.close();
  });
});

describe("cost per provider usage shape", () => {
  /** Usage as each adapter maps its provider's counts into OpenAI's shape. */
  const shapes: [string, string, Usage, number][] = [
    [
      "OpenAI, with cached prompt tokens",
      "openai/gpt-4o",
      { prompt_tokens: 10_000, completion_tokens: 500, total_tokens: 10_500, prompt_tokens_details: { cached_tokens: 4_000 } },
      (6_000 * 2.5 + 4_000 * 1.25 + 500 * 10) / 1e6,
    ],
    [
      "OpenAI o3, reasoning billed as output",
      "openai/o3",
      { prompt_tokens: 1_000, completion_tokens: 3_000, total_tokens: 4_000, completion_tokens_details: { reasoning_tokens: 2_500 } },
      (1_000 * 2 + 3_000 * 8) / 1e6,
    ],
    [
      // Anthropic: input_tokens 2,000 + cache_read 8,000 + cache_creation 1,000; output 400.
      "Anthropic, with cache reads and writes",
      "anthropic/claude-sonnet-4-6",
      { prompt_tokens: 11_000, completion_tokens: 400, total_tokens: 11_400, prompt_tokens_details: { cached_tokens: 8_000, cache_creation_tokens: 1_000 } },
      (2_000 * 3 + 8_000 * 0.3 + 1_000 * 3.75 + 400 * 15) / 1e6,
    ],
    [
      // Gemini: promptTokenCount 5,000 (3,000 cached); candidates 200 + thoughts 800.
      "Gemini, with cached content and thoughts",
      "google/gemini-2.5-flash",
      { prompt_tokens: 5_000, completion_tokens: 1_000, total_tokens: 6_000, prompt_tokens_details: { cached_tokens: 3_000 }, completion_tokens_details: { reasoning_tokens: 800 } },
      (2_000 * 0.3 + 3_000 * 0.03 + 1_000 * 2.5) / 1e6,
    ],
  ];

  it.each(shapes)("%s", async (_name, model, usage, expectedUsd) => {
    const provider = mockProvider({ usage: () => usage });
    const gateway = createGateway({ providers: { openai: provider, anthropic: provider, google: provider } });
    const res = await gateway.chat(ask(model));
    expect(res.gateway.costUsd).toBeCloseTo(expectedUsd, 10);
    const stream = await gateway.chat({ ...ask(model), stream: true });
    expect((await stream.finalResponse()).gateway.costUsd).toBeCloseTo(expectedUsd, 10);
    await gateway.close();
  });

  it("config prices override the catalog", async () => {
    const usage: Usage = { prompt_tokens: 10_000, completion_tokens: 500, total_tokens: 10_500, prompt_tokens_details: { cached_tokens: 4_000 } };
    const gateway = createGateway({
      providers: { openai: mockProvider({ usage: () => usage }) },
      prices: { "gpt-4o": { input: 1, output: 2 } },
    });
    const res = await gateway.chat(ask("openai/gpt-4o-2024-08-06"));
    // No cachedInput in the override: cached tokens are billed at input.
    expect(res.gateway.costUsd).toBeCloseTo((10_000 * 1 + 500 * 2) / 1e6, 10);
    await gateway.close();
  });
});
