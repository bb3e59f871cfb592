import { describe, expect, it } from "vitest";
import {
  AllDeploymentsFailedError,
  createGateway,
  type ChatBody,
  type ErrorEvent,
  type FallbackEvent,
  type RequestEvent,
  type ResponseEvent,
  type RetryEvent,
} from "../src/index.js";
import { mockProvider } from "../src/testing.js";

const ask = (model: string): Omit<ChatBody, "stream"> => ({ model, messages: [{ role: "user", content: "hello there" }] });
const fastRetry = { retries: 1, minDelayMs: 1, maxDelayMs: 5 };
const usage = { prompt_tokens: 11, completion_tokens: 7 };

describe("request and response events", () => {
  it("reports the call at its start and its outcome at its end, with tokens, cost and latency", async () => {
    const gateway = createGateway({ providers: { p: mockProvider({ usage, latencyMs: 5 }) }, models: { smart: "p/x" } });
    const seen: string[] = [];
    const requests: RequestEvent[] = [];
    const responses: ResponseEvent[] = [];
    gateway.on("request", (event) => {
      seen.push("request");
      requests.push(event);
    });
    gateway.on("response", (event) => {
      seen.push("response");
      responses.push(event);
    });
    const res = await gateway.chat(ask("smart"), { key: "team-a", user: "u42", tags: ["checkout"] });

    expect(seen).toEqual(["request", "response"]);
    expect(requests[0]).toEqual({ model: "smart", key: "team-a", user: "u42", tags: ["checkout"], stream: false });
    expect(responses[0]).toMatchObject({
      model: "smart",
      key: "team-a",
      user: "u42",
      tags: ["checkout"],
      stream: false,
      provider: "p",
      deployment: "p/x",
      route: "smart",
      attempts: 1,
      cache: "miss",
      costUsd: res.gateway.costUsd,
      inputTokens: 11,
      outputTokens: 7,
    });
    expect(responses[0]!.latencyMs).toBeGreaterThanOrEqual(4);
  });

  it("reports a stream's response at stream end, not when the first chunk arrives", async () => {
    const gateway = createGateway({ providers: { p: mockProvider({ reply: "one two three", chunkDelayMs: 5, usage }) } });
    const responses: ResponseEvent[] = [];
    gateway.on("response", (event) => responses.push(event));
    const stream = await gateway.chat({ ...ask("p/x"), stream: true });
    expect(responses).toEqual([]);
    for await (const _chunk of stream) {
      // drain
    }
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject({ stream: true, inputTokens: 11, outputTokens: 7, attempts: 1 });
    expect(responses[0]!.latencyMs).toBeGreaterThanOrEqual(10);
  });

  it("reports a failed call once, as an error event with its typed error and no response", async () => {
    const gateway = createGateway({ providers: { p: mockProvider({ fail: { status: 503, times: Number.POSITIVE_INFINITY } }) }, retry: fastRetry });
    const errors: ErrorEvent[] = [];
    let responses = 0;
    gateway.on("error", (event) => errors.push(event));
    gateway.on("response", () => responses++);
    const thrown = await gateway.chat(ask("p/x"), { key: "k" }).catch((e: unknown) => e);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error).toBe(thrown);
    expect(errors[0]!.error).toBeInstanceOf(AllDeploymentsFailedError);
    expect(errors[0]).toMatchObject({ model: "p/x", key: "k", stream: false });
    expect(errors[0]!.latencyMs).toBeGreaterThan(0);
    expect(responses).toBe(0);
  });

  it("reports a stream that breaks midway as an error at the break", async () => {
    const gateway = createGateway({ providers: { p: mockProvider({ reply: "a b c d", fail: { status: 502, afterChunks: 2 } }) } });
    const errors: ErrorEvent[] = [];
    gateway.on("error", (event) => errors.push(event));
    const stream = await gateway.chat({ ...ask("p/x"), stream: true });
    expect(errors).toEqual([]);
    await (async () => {
      for await (const _chunk of stream) {
        // until it breaks
      }
    })().catch(() => undefined);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error.code).toBe("provider_error");
  });
});

describe("retry and fallback events", () => {
  it("are emitted by the router with who the call was for", async () => {
    const gateway = createGateway({
      providers: { a: mockProvider({ fail: { status: 503, times: Number.POSITIVE_INFINITY } }), b: mockProvider() },
      models: { smart: { deployments: ["a/x"], fallbacks: ["cheap"] }, cheap: "b/y" },
      retry: fastRetry,
    });
    const retries: RetryEvent[] = [];
    const fallbacks: FallbackEvent[] = [];
    gateway.on("retry", (event) => retries.push(event));
    gateway.on("fallback", (event) => fallbacks.push(event));
    await gateway.chat(ask("smart"), { user: "u1" });
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ model: "smart", user: "u1", deployment: "a/x", attempt: 1 });
    expect(retries[0]!.error.code).toBe("provider_error");
    expect(fallbacks).toEqual([{ model: "smart", key: undefined, user: "u1", tags: [], stream: false, from: "smart", to: "cheap" }]);
  });
});

describe("listeners", () => {
  it("that throw never break a call, and the other listeners still hear it", async () => {
    const gateway = createGateway({ providers: { p: mockProvider({ reply: "fine", fail: { status: 503 } }) }, retry: fastRetry });
    const heard: string[] = [];
    for (const name of ["request", "response", "retry"] as const) {
      gateway.on(name, () => {
        throw new Error(`listener for ${name} broke`);
      });
      gateway.on(name, () => heard.push(name));
    }
    const res = await gateway.chat(ask("p/x"));
    expect(res.choices[0]?.message.content).toBe("fine");
    expect(heard).toEqual(["request", "retry", "response"]);

    const stream = await gateway.chat({ ...ask("p/x"), stream: true });
    expect((await stream.finalResponse()).choices[0]?.message.content).toBe("fine");
  });

  it("that throw on error events leave the caller the original error", async () => {
    const gateway = createGateway({ providers: { p: mockProvider({ fail: { status: 400 } }) } });
    gateway.on("error", () => {
      throw new TypeError("listener bug");
    });
    const error = (await gateway.chat(ask("p/x")).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe("ProviderError");
  });

  it("can unsubscribe", async () => {
    const gateway = createGateway({ providers: { p: mockProvider() } });
    let count = 0;
    const off = gateway.on("response", () => count++);
    await gateway.chat(ask("p/x"));
    off();
    await gateway.chat(ask("p/x"));
    expect(count).toBe(1);
  });
});
