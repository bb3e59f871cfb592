/**
 * Budgets hold an upper bound of what a provider can bill, and refuse what they cannot price:
 * driven through the official `openai` SDK against a fake OpenAI server that bills the most a
 * byte-level tokenizer can (one prompt token per UTF-8 byte).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BudgetExceededError, createGateway, UnpricedModelError, type GatewayChatResponse } from "../src/index.js";
import { openai } from "../src/openai.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";

let fake: FakeOpenAI;

/** Prompt tokens billed as the UTF-8 bytes of every message's text; output as `max_tokens`. */
function billBytes(body: Record<string, unknown>) {
  const messages = body.messages as { content: string }[];
  const promptTokens = messages.reduce((sum, message) => sum + Buffer.byteLength(message.content, "utf8"), 0);
  return { delayMs: 30, usage: { promptTokens, completionTokens: Number(body.max_tokens ?? 10) } };
}

beforeAll(async () => {
  fake = await startFakeOpenAI({ default: billBytes });
});

afterAll(async () => {
  await fake.close();
});

describe("budget reservations are an upper bound of what can be billed", () => {
  it("100 concurrent calls with dense base64 prompts on a $1 budget never settle more than $1", async () => {
    const gateway = createGateway({
      providers: { openai: openai({ baseURL: fake.url, apiKey: "test" }) },
      models: { dense: "openai/dense-model" },
      prices: { "dense-model": { input: 1, output: 1 } },
      keys: { app: { budget: { usd: 1, period: "day" } } },
      retry: { retries: 0 },
    });
    // ~40 KB of base64 each: about $0.04 a call as billed; the quick estimate sees half that.
    const prompts = Array.from({ length: 100 }, () => randomBytes(30_000).toString("base64"));
    const results = await Promise.allSettled(
      prompts.map((content) => gateway.chat({ model: "dense", messages: [{ role: "user", content }], max_tokens: 10 }, { key: "app" })),
    );
    const served = results.filter((result): result is PromiseFulfilledResult<GatewayChatResponse> => result.status === "fulfilled");
    const refused = results.filter((result) => result.status === "rejected");
    const settled = served.reduce((sum, result) => sum + result.value.gateway.costUsd, 0);
    expect(served.length).toBeGreaterThan(0);
    expect(refused.every((result) => (result as PromiseRejectedResult).reason instanceof BudgetExceededError)).toBe(true);
    expect(settled).toBeLessThanOrEqual(1);
    const [row] = await gateway.spend.report({ by: "key" });
    expect(row!.costUsd).toBeLessThanOrEqual(1);
    await gateway.close();
  });

  it("holds a multi-byte prompt at its bytes, not its characters", async () => {
    // 3 bytes per character: billed 30,000 tokens ($0.03) though 10,000 characters long.
    const content = "語".repeat(10_000);
    const gateway = createGateway({
      providers: { openai: openai({ baseURL: fake.url, apiKey: "test" }) },
      prices: { "cjk-model": { input: 1, output: 1 } },
      keys: { app: { budget: { usd: 0.1, period: "day" } } },
      retry: { retries: 0 },
    });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => gateway.chat({ model: "openai/cjk-model", messages: [{ role: "user", content }], max_tokens: 10 }, { key: "app" })),
    );
    const settled = results.reduce((sum, result) => sum + (result.status === "fulfilled" ? result.value.gateway.costUsd : 0), 0);
    expect(settled).toBeGreaterThan(0);
    expect(settled).toBeLessThanOrEqual(0.1);
    await gateway.close();
  });
});

describe("with a budget in force, a call that could reach an unpriced deployment", () => {
  it("is refused before any provider is called, naming the model and how to price it", async () => {
    const gateway = createGateway({
      providers: { openai: openai({ baseURL: fake.url, apiKey: "test" }) },
      keys: { app: { budget: { usd: 1, period: "day" } } },
    });
    const before = fake.requestCount;
    for (let index = 0; index < 20; index++) {
      const error = await gateway
        .chat({ model: "openai/llama-local", messages: [{ role: "user", content: "hi" }] }, { key: "app" })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UnpricedModelError);
      expect(error).toMatchObject({ code: "model_unpriced", deployments: ["openai/llama-local"] });
      expect((error as Error).message).toMatch(/'openai\/llama-local' has no price.*prices: \{ "llama-local": \{ input, output \} \}/);
    }
    expect(fake.requestCount).toBe(before);
    // Without a key that has a budget, nothing needs a price.
    await expect(gateway.chat({ model: "openai/llama-local", messages: [{ role: "user", content: "hi" }] })).resolves.toBeDefined();
    await gateway.close();
  });

  it("is refused when only a fallback is unpriced; a free local model opts out with a zero price", async () => {
    const config = {
      providers: { openai: openai({ baseURL: fake.url, apiKey: "test" }) },
      models: { main: { deployments: ["openai/gpt-4o-mini"], fallbacks: ["openai/llama-local"] } },
      keys: { app: { budget: { usd: 1, period: "day" as const } } },
    };
    const unpriced = createGateway(config);
    await expect(unpriced.chat({ model: "main", messages: [{ role: "user", content: "hi" }] }, { key: "app" })).rejects.toBeInstanceOf(UnpricedModelError);
    const free = createGateway({ ...config, prices: { "llama-local": { input: 0, output: 0 } } });
    await expect(free.chat({ model: "openai/llama-local", messages: [{ role: "user", content: "hi" }] }, { key: "app" })).resolves.toMatchObject({
      gateway: { costUsd: 0 },
    });
    await expect(free.chat({ model: "main", messages: [{ role: "user", content: "hi" }] }, { key: "app" })).resolves.toBeDefined();
    await unpriced.close();
    await free.close();
  });
});
