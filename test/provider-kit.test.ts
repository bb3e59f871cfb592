import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { anthropic } from "../src/anthropic.js";
import type { ChatRequest } from "../src/core/chat-request.js";
import { ProviderError } from "../src/core/errors.js";
import type { AdapterContext, ProviderAdapter } from "../src/core/provider-adapter.js";
import { google } from "../src/google.js";
import { openai } from "../src/openai.js";
import { hostOf } from "../src/providers/shared/host.js";
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from "../src/providers/shared/retry-after.js";
import { isSdkError } from "../src/providers/shared/sdk-error.js";
import { startFakeAnthropic, type FakeAnthropic } from "./fakes/anthropic-server.js";
import { startFakeGemini, type FakeGemini } from "./fakes/gemini-server.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";

// What every adapter must do the same way, through the real SDKs against the fakes.

const request: ChatRequest = { model: "m", messages: [{ role: "user", content: "Hi" }] };
const context = (model: string): AdapterContext => ({ model, signal: new AbortController().signal, timeoutMs: 10_000 });
const A_DAY_SECONDS = "86400";

let fakeOpenAI: FakeOpenAI;
let fakeAnthropic: FakeAnthropic;
let fakeGemini: FakeGemini;

beforeAll(async () => {
  [fakeOpenAI, fakeAnthropic, fakeGemini] = await Promise.all([startFakeOpenAI(), startFakeAnthropic(), startFakeGemini()]);
});
afterAll(async () => {
  await Promise.all([fakeOpenAI.close(), fakeAnthropic.close(), fakeGemini.close()]);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error("expected the call to fail");
}

describe("Retry-After is capped the same for every provider", () => {
  it("OpenAI: a day's retry-after becomes the cap", async () => {
    fakeOpenAI.enqueue({ fail: { status: 429, headers: { "retry-after": A_DAY_SECONDS } } });
    const error = await failure(openai({ apiKey: "sk-test", baseURL: fakeOpenAI.url }).chat(request, context("gpt-4o-mini")));
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: MAX_RETRY_AFTER_MS });
  });

  it("Anthropic: a day's retry-after becomes the cap", async () => {
    fakeAnthropic.enqueue({ kind: "fail", status: 429, type: "rate_limit_error", headers: { "retry-after": A_DAY_SECONDS } });
    const adapter = anthropic({ apiKey: "sk-ant-test", baseURL: fakeAnthropic.url });
    const error = await failure(adapter.chat(request, context("claude-sonnet-4-6")));
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: MAX_RETRY_AFTER_MS });
  });

  it("Gemini: a day's RetryInfo delay becomes the cap", async () => {
    fakeGemini.enqueue({
      type: "fail",
      status: 429,
      message: "Resource has been exhausted",
      details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${A_DAY_SECONDS}s` }],
    });
    const adapter = google({ apiKey: "gm-test", baseURL: fakeGemini.url });
    const error = await failure(adapter.chat(request, context("gemini-2.5-flash")));
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: MAX_RETRY_AFTER_MS });
  });

  it("is ten minutes, and keeps shorter hints as they are", () => {
    expect(MAX_RETRY_AFTER_MS).toBe(600_000);
    const headers = (values: Record<string, string>) => new Headers(values);
    expect(parseRetryAfter(headers({ "retry-after": "599" }))).toBe(599_000);
    expect(parseRetryAfter(headers({ "retry-after-ms": "700000" }))).toBe(MAX_RETRY_AFTER_MS);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter(headers({ "retry-after": "Fri, 02 Jan 2026 00:00:00 GMT" }), now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter(headers({ "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" }), now)).toBe(30_000);
  });
});

describe("a missing API key has one shape", () => {
  const keyless: [string, () => ProviderAdapter, string, string[]][] = [
    ["openai", () => openai({ baseURL: fakeOpenAI.url }), "gpt-4o-mini", ["OPENAI_API_KEY"]],
    ["anthropic", () => anthropic({ baseURL: fakeAnthropic.url }), "claude-sonnet-4-6", ["ANTHROPIC_API_KEY"]],
    ["google", () => google({ baseURL: fakeGemini.url }), "gemini-2.5-flash", ["GEMINI_API_KEY", "GOOGLE_API_KEY"]],
  ];

  it.each(keyless)("%s: non-retryable ProviderError, status 401, naming the variable, read lazily", async (_name, make, model, variables) => {
    for (const variable of variables) vi.stubEnv(variable, "");
    const adapter = make(); // built without a key: no throw
    const error = await failure(adapter.chat(request, context(model)));
    expect(error).toMatchObject({ status: 401, retryable: false, type: "missing_api_key" });
    for (const variable of variables) expect(error.message).toContain(variable);

    // Set after construction: the same adapter picks it up on its next call.
    vi.stubEnv(variables[0]!, "key-from-env-later");
    const next = adapter.chat(request, context(model));
    await next.catch((later: unknown) => {
      // Whatever the fake answers, it is no longer the missing-key error.
      expect(later).not.toMatchObject({ type: "missing_api_key" });
    });
  });
});

describe("shared helpers", () => {
  it("hostOf gives the host only, or undefined", () => {
    expect(hostOf("https://user:secret@api.example.com:8443/v1?key=x")).toBe("api.example.com");
    expect(hostOf("not a url")).toBeUndefined();
    expect(hostOf("file:///tmp/x")).toBeUndefined();
  });

  it("isSdkError recognises a class of the same name from another copy of the SDK", () => {
    class APIError extends Error {}
    const OtherCopy = class APIError extends Error {};
    class RateLimitError extends OtherCopy {}
    expect(isSdkError(new APIError(), "APIError")).toBe(true);
    expect(isSdkError(new RateLimitError(), "APIError")).toBe(true);
    expect(isSdkError(new Error("plain"), "APIError")).toBe(false);
    expect(isSdkError("APIError", "APIError")).toBe(false);
  });
});
