import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AbortError, AllDeploymentsFailedError, ProviderError, createGateway } from "../src/index.js";
import { openai } from "../src/openai.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";

/** The gateway end to end over the real `openai` SDK and a fake OpenAI server on loopback. */
let primary: FakeOpenAI;
let backup: FakeOpenAI;
const SECRET = "sk-test-0123456789abcdefSECRET";

beforeAll(async () => {
  [primary, backup] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
});
afterAll(async () => {
  await Promise.all([primary.close(), backup.close()]);
});
beforeEach(() => {
  primary.reset();
  backup.reset();
  primary.setDefault({});
  backup.setDefault({});
});

const messages = [{ role: "user" as const, content: "Hello there" }];

function twoProviders(extra: Record<string, unknown> = {}) {
  return createGateway({
    providers: {
      openai: openai({ baseURL: primary.url, apiKey: SECRET }),
      backup: openai({ baseURL: backup.url, apiKey: SECRET, name: "vllm" }),
    },
    models: { smart: { deployments: ["openai/gpt-4o"], fallbacks: ["cheap"] }, cheap: "backup/llama" },
    retry: { retries: 2, minDelayMs: 1, maxDelayMs: 50 },
    ...extra,
  });
}

describe("gateway over the real openai SDK", () => {
  it("serves a call and reports usage and the deployment", async () => {
    primary.enqueue({ reply: "Hi!", usage: { promptTokens: 12, completionTokens: 3, cachedTokens: 4 } });
    const res = await twoProviders().chat({ model: "smart", messages });
    expect(res.choices[0]?.message.content).toBe("Hi!");
    expect(res.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 4 } });
    expect(res.gateway.deployment).toBe("openai/gpt-4o");
    expect(primary.lastRequest?.body.model).toBe("gpt-4o");
  });

  it("sends a 500 to the server exactly once when gateway retries are 0 (the SDK's own retries are off)", async () => {
    primary.setDefault({ fail: { status: 500 } });
    const gateway = createGateway({ providers: { openai: openai({ baseURL: primary.url, apiKey: SECRET }) }, retry: { retries: 0 } });
    await expect(gateway.chat({ model: "openai/gpt-4o", messages })).rejects.toBeInstanceOf(AllDeploymentsFailedError);
    expect(primary.requestCount).toBe(1);
  });

  it("retries a 503, then succeeds", async () => {
    primary.enqueue({ fail: { status: 503 } }, { fail: { status: 503 } }, { reply: "third time" });
    const res = await twoProviders().chat({ model: "smart", messages });
    expect(res.choices[0]?.message.content).toBe("third time");
    expect(res.gateway.attempts.map((attempt) => attempt.status ?? 200)).toEqual([503, 503, 200]);
    expect(primary.requestCount).toBe(3);
  });

  it("honours Retry-After from the server", async () => {
    primary.enqueue({ fail: { status: 429, headers: { "retry-after-ms": "120" } } });
    const started = performance.now();
    const res = await twoProviders({ retry: { retries: 2, minDelayMs: 1, maxDelayMs: 1_000 } }).chat({ model: "smart", messages });
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    expect(res.gateway.deployment).toBe("openai/gpt-4o");
    expect(primary.requestCount).toBe(2);
  });

  it("neither retries nor falls back on a 400", async () => {
    primary.setDefault({ fail: { status: 400, message: "bad request" } });
    const error = await twoProviders().chat({ model: "smart", messages }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "provider_error", status: 400, retryable: false });
    expect([primary.requestCount, backup.requestCount]).toEqual([1, 0]);
  });

  it("falls back, without retrying, on a 401 (a revoked key) and a 404 model_not_found (a retired model)", async () => {
    for (const fail of [
      { status: 401, message: "bad key" },
      { status: 404, message: "The model does not exist", type: "invalid_request_error", code: "model_not_found" },
    ]) {
      primary.reset();
      backup.reset();
      primary.setDefault({ fail });
      backup.enqueue({ reply: "from backup" });
      const gateway = twoProviders();
      const res = await gateway.chat({ model: "smart", messages });
      expect(res.choices[0]?.message.content).toBe("from backup");
      expect(res.gateway.attempts.map((attempt) => attempt.status ?? "ok")).toEqual([fail.status, "ok"]);
      expect(primary.requestCount).toBe(1);
      expect(gateway.health().find((row) => row.provider === "openai")?.state).toBe("cooling");
    }
  });

  it("falls back to another provider when the first is down", async () => {
    primary.setDefault({ fail: { status: 503 } });
    backup.enqueue({ reply: "from backup" });
    const res = await twoProviders().chat({ model: "smart", messages });
    expect(res.choices[0]?.message.content).toBe("from backup");
    expect(res.gateway).toMatchObject({ route: "cheap", provider: "backup" });
  });

  it("times out a hanging server and moves on", async () => {
    primary.setDefault({ hang: true });
    backup.enqueue({ reply: "patient" });
    // The short timeout is the hanging deployment's own: the backup keeps the default 60 s,
    // so on a loaded machine a slow but healthy answer is never mistaken for a hang.
    const gateway = twoProviders({
      models: { smart: { deployments: [{ provider: "openai", model: "gpt-4o", timeoutMs: 100 }], fallbacks: ["cheap"] }, cheap: "backup/llama" },
      retry: { retries: 0 },
    });
    const res = await gateway.chat({ model: "smart", messages });
    expect(res.choices[0]?.message.content).toBe("patient");
    expect(res.gateway.attempts[0]?.errorCode).toBe("timeout");
    await primary.waitForClientAbort(2_000);
  });

  it("aborts the in-flight HTTP request when the caller aborts", async () => {
    primary.setDefault({ hang: true });
    const gateway = twoProviders();
    const controller = new AbortController();
    const pending = gateway.chat({ model: "smart", messages }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    expect((await primary.waitForClientAbort(2_000)).closedEarly).toBe(true);
    expect(gateway.health().every((row) => row.inFlight === 0)).toBe(true);
    expect(backup.requestCount).toBe(0);
  });

  it("streams, falling back before the first chunk", async () => {
    primary.setDefault({ fail: { status: 503 } });
    backup.enqueue({ reply: "streamed from backup" });
    const stream = await twoProviders().chat({ model: "smart", messages, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("streamed from backup");
    const final = await stream.finalResponse();
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
    expect(final.gateway.provider).toBe("backup");
    expect(backup.lastRequest?.body.stream_options).toEqual({ include_usage: true });
  });

  it("surfaces a connection dropped mid-stream as an error from the iterator", async () => {
    primary.enqueue({ reply: "one two three four five six", dropAfterChunks: 3 });
    const stream = await twoProviders().chat({ model: "smart", messages, stream: true });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? "");
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(seen.length).toBeGreaterThan(0);
    expect(primary.requestCount).toBe(1); // no retry after the first chunk
  });

  it("treats a stream without a finish reason as truncated", async () => {
    primary.enqueue({ reply: "cut short", omitFinishReason: true, omitDone: true });
    const stream = await twoProviders().chat({ model: "smart", messages, stream: true });
    await expect(stream.finalResponse()).rejects.toMatchObject({ code: "provider_error" });
  });

  it("aborts the upstream request when the consumer breaks", async () => {
    primary.enqueue({ reply: Array.from({ length: 200 }, (_, i) => `w${i}`).join(" "), chunkDelayMs: 5 });
    const gateway = twoProviders();
    const stream = await gateway.chat({ model: "smart", messages, stream: true });
    let count = 0;
    for await (const _chunk of stream) if (++count === 3) break;
    expect((await primary.waitForClientAbort(2_000)).closedEarly).toBe(true);
    expect(gateway.health().every((row) => row.inFlight === 0)).toBe(true);
  });

  it("never puts the API key in an error", async () => {
    primary.setDefault({ fail: { status: 503, message: `upstream said ${SECRET}` } });
    backup.setDefault({ fail: { status: 500, message: `Bearer ${SECRET}` } });
    const error = (await twoProviders().chat({ model: "smart", messages }).catch((e: unknown) => e)) as AllDeploymentsFailedError;
    const text = `${error.message} ${JSON.stringify(error)} ${error.attempts.map((attempt) => attempt.error.message).join(" ")}`;
    expect(text).not.toContain(SECRET);
    expect(error.attempts.length).toBeGreaterThan(0);
  });
});
