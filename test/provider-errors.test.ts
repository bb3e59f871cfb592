import Anthropic from "@anthropic-ai/sdk";
import { ApiError } from "@google/genai";
import { GoogleGenerativeAIAbortError, GoogleGenerativeAIFetchError } from "@google/generative-ai";
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { describe, expect, it } from "vitest";
import { AbortError, GatewayError, ProviderError, TimeoutError } from "../src/core/errors.js";
import { fromAnthropicError } from "../src/providers/anthropic/anthropic-errors.js";
import { fromGoogleError } from "../src/providers/google/google-errors.js";
import { fromOpenAIError } from "../src/providers/openai/openai-errors.js";
import {
  mapProviderError,
  type ProviderErrorContext,
  type ProviderErrorRules,
} from "../src/providers/shared/map-provider-error.js";
import { MAX_RETRY_AFTER_MS } from "../src/providers/shared/retry-after.js";

// The skeleton every adapter maps failures through (providers/shared/map-provider-error.ts):
// the same SDK error classes, thrown by each provider's real SDK, must come out with the same
// GatewayError fields whoever threw them.

const SECRET = "sk-test-secret-value-1234";

/** How one provider's SDK throws each kind of failure, and its mapper. */
interface ProviderCase {
  name: string;
  map(error: unknown, context: ProviderErrorContext): GatewayError;
  /** An HTTP error with the provider's usual body for that status; `hintSeconds` as its wait hint. */
  http(status: number, message: string, hintSeconds?: number): Error;
  connection(): Error;
  timeout: (() => Error) | undefined;
  abort(): Error;
}

/** The error type each provider sends with a status, so the provider's own refinements agree. */
const ANTHROPIC_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  429: "rate_limit_error",
  500: "api_error",
  503: "overloaded_error",
};
const GOOGLE_STATUS: Record<number, string> = { 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE" };

const retryInfo = (seconds: number) => [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${seconds}s` }];
const hintHeaders = (seconds?: number) => new Headers(seconds === undefined ? {} : { "retry-after": String(seconds) });

const providers: ProviderCase[] = [
  {
    name: "openai",
    map: fromOpenAIError,
    http: (status, message, hint) => APIError.generate(status, { error: { message, type: "server_error" } }, undefined, hintHeaders(hint)),
    connection: () => new APIConnectionError({ message: "Connection error.", cause: new Error("connect ECONNREFUSED") }),
    timeout: () => new APIConnectionTimeoutError(),
    abort: () => new APIUserAbortError(),
  },
  {
    name: "anthropic",
    map: fromAnthropicError,
    http: (status, message, hint) =>
      Anthropic.APIError.generate(status, { type: "error", error: { type: ANTHROPIC_TYPES[status], message } }, undefined, hintHeaders(hint)),
    connection: () => new Anthropic.APIConnectionError({ message: "Connection error.", cause: new Error("connect ECONNREFUSED") }),
    timeout: () => new Anthropic.APIConnectionTimeoutError(),
    abort: () => new Anthropic.APIUserAbortError(),
  },
  {
    name: "gcp.gemini (@google/genai)",
    map: fromGoogleError,
    http: (status, message, hint) =>
      new ApiError({
        status,
        message: JSON.stringify({ error: { code: status, message, status: GOOGLE_STATUS[status], details: hint === undefined ? [] : retryInfo(hint) } }),
      }),
    // Google's SDKs have no connection class of their own: fetch's TypeError comes through.
    connection: () => new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED") }),
    timeout: undefined,
    abort: () => Object.assign(new Error("This operation was aborted"), { name: "AbortError" }),
  },
  {
    name: "gcp.gemini (@google/generative-ai)",
    map: fromGoogleError,
    http: (status, message, hint) =>
      new GoogleGenerativeAIFetchError(
        `[GoogleGenerativeAI Error]: Error fetching from https://generativelanguage.googleapis.com: [${status}] ${message}`,
        status,
        "status text",
        hint === undefined ? undefined : retryInfo(hint),
      ),
    connection: () => new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED") }),
    timeout: undefined,
    abort: () => new GoogleGenerativeAIAbortError("Request aborted"),
  },
];

const live = (): ProviderErrorContext & { signal: AbortSignal } => ({ provider: "p", signal: new AbortController().signal, secrets: [SECRET] });

function providerError(error: GatewayError): ProviderError {
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

/** Whether a later try may succeed, for any GatewayError (only ProviderError says yes). */
function retryable(error: GatewayError): boolean {
  return error instanceof ProviderError && error.retryable;
}

describe.each(providers)("$name: the shared error mapping", (provider) => {
  it.each([
    [429, 2, { status: 429, retryable: true, retryAfterMs: 2_000 }],
    [503, undefined, { status: 503, retryable: true, retryAfterMs: undefined }],
    [500, undefined, { status: 500, retryable: true, retryAfterMs: undefined }],
    [400, undefined, { status: 400, retryable: false, retryAfterMs: undefined }],
    [401, undefined, { status: 401, retryable: false, retryAfterMs: undefined }],
  ] as const)("HTTP %i (hint %s s): status, retryable, retryAfterMs, provider", (status, hint, expected) => {
    const error = providerError(provider.map(provider.http(status, "upstream said no", hint), live()));
    expect(error).toMatchObject({ code: "provider_error", provider: "p", ...expected });
    expect(error.message).toContain("upstream said no");
  });

  it("a wait hint of a day is capped like every provider's", () => {
    const error = providerError(provider.map(provider.http(429, "slow down", 86_400), live()));
    expect(error.retryAfterMs).toBe(MAX_RETRY_AFTER_MS);
  });

  it("a connection failure: retryable, no status", () => {
    const error = providerError(provider.map(provider.connection(), live()));
    expect(error).toMatchObject({ provider: "p", status: undefined, retryable: true });
    expect(error.type).toMatch(/connection_error|network_error/);
  });

  it("the SDK's timeout: retryable, no status", () => {
    if (!provider.timeout) return; // this SDK has no timeout of its own: the gateway's signal times calls out
    expect(providerError(provider.map(provider.timeout(), live()))).toMatchObject({ status: undefined, retryable: true, type: "timeout" });
  });

  it("anything else escaping the SDK: the transport failing, retryable", () => {
    const error = providerError(provider.map(new Error("other side closed"), live()));
    expect(error).toMatchObject({ provider: "p", status: undefined, retryable: true });
    expect(error.message).toContain("other side closed");
  });

  it("a GatewayError passes as it is", () => {
    const own = new ProviderError("missing key", { provider: "p", status: 401, retryable: false, type: "missing_api_key" });
    expect(provider.map(own, live())).toBe(own);
  });

  it("an aborted signal wins over whatever the SDK threw, and is never retryable", () => {
    const controller = new AbortController();
    controller.abort(new TimeoutError(5_000));
    const error = provider.map(provider.http(503, "overloaded"), { provider: "p", signal: controller.signal });
    expect(retryable(error)).toBe(false);
    expect(error).not.toMatchObject({ status: 503 });
  });

  it("the SDK's own abort error is an abort, not retryable", () => {
    const error = provider.map(provider.abort(), live());
    expect(retryable(error)).toBe(false);
    expect([error.code, (error as ProviderError).type]).toContain("aborted");
  });

  it("scrubs the key from messages and caps their length", () => {
    const echoed = providerError(provider.map(provider.http(401, `Incorrect API key provided: ${SECRET}`), live()));
    expect(echoed.message).not.toContain(SECRET);
    expect(echoed.message).toContain("[redacted]");
    expect(JSON.stringify(echoed.cause ?? null)).not.toContain(SECRET);
    const long = providerError(provider.map(provider.http(500, "x".repeat(5_000)), live()));
    expect(long.message.length).toBeLessThanOrEqual(301);
  });
});

describe("mapProviderError: the skeleton itself", () => {
  class SdkAbort extends Error {}
  class SdkTimeout extends Error {}
  class SdkConnection extends Error {}
  class SdkHttp extends Error {
    constructor(
      readonly status: number | undefined,
      readonly headers?: Headers,
    ) {
      super(`HTTP ${status}`);
    }
  }
  class SdkOddity extends Error {}
  /** The least a provider can plug in: its classes, no refinements. */
  const rules: ProviderErrorRules = {
    isAbort: (error) => error instanceof SdkAbort,
    timeout: (error) => (error instanceof SdkTimeout ? { message: "timed out" } : undefined),
    connection: (error) => (error instanceof SdkConnection ? { message: `unreachable: ${error.message}`, cause: error } : undefined),
    apiFailure: (error) =>
      error instanceof SdkHttp
        ? { status: error.status, type: "t", message: `said ${error.message}`, headers: error.headers, requestId: "req_1", cause: error }
        : undefined,
    classify: (error) => (error instanceof SdkOddity ? { message: "odd", retryable: false, type: "oddity" } : undefined),
    unknown: (error) => ({ message: `failed: ${String(error)}`, type: "network_error" }),
  };
  const map = (error: unknown, context: ProviderErrorContext = { provider: "p" }) => mapProviderError(error, context, rules);

  it("decides retryability by status unless the provider refines it", () => {
    expect(map(new SdkHttp(429))).toMatchObject({ status: 429, retryable: true });
    expect(map(new SdkHttp(408))).toMatchObject({ retryable: true });
    expect(map(new SdkHttp(500))).toMatchObject({ retryable: true });
    expect(map(new SdkHttp(400))).toMatchObject({ retryable: false });
    expect(map(new SdkHttp(404))).toMatchObject({ retryable: false });
    const refined = mapProviderError(new SdkHttp(429), { provider: "p" }, { ...rules, retryable: (_failure, byStatus) => !byStatus });
    expect(refined).toMatchObject({ status: 429, retryable: false });
  });

  it("reads the wait hint from the headers of an error with a status only, capped", () => {
    expect(map(new SdkHttp(429, new Headers({ "retry-after": "3" })))).toMatchObject({ retryAfterMs: 3_000 });
    expect(map(new SdkHttp(429, new Headers({ "retry-after": "86400" })))).toMatchObject({ retryAfterMs: MAX_RETRY_AFTER_MS });
    expect(map(new SdkHttp(undefined, new Headers({ "retry-after": "3" })))).toMatchObject({ status: undefined, retryAfterMs: undefined });
  });

  it("keeps the order: abort signal, GatewayError, SDK abort, timeout, connection, HTTP, provider classes, anything else", () => {
    const aborted = new AbortController();
    aborted.abort(new TimeoutError(1_000));
    const own = new ProviderError("own", { provider: "p", retryable: false });
    expect(map(own, { provider: "p", signal: aborted.signal })).toBe(aborted.signal.reason);
    expect(map(own)).toBe(own);
    expect(map(new SdkAbort())).toBeInstanceOf(AbortError);
    expect(map(new SdkTimeout())).toMatchObject({ type: "timeout", retryable: true, message: "timed out" });
    expect(map(new SdkConnection("ECONNREFUSED"))).toMatchObject({ type: "connection_error", retryable: true, message: "unreachable: ECONNREFUSED" });
    expect(map(new SdkHttp(502))).toMatchObject({ type: "t", status: 502, message: "said HTTP 502 (request req_1)" });
    expect(map(new SdkOddity())).toMatchObject({ type: "oddity", retryable: false });
    expect(map("a string")).toMatchObject({ type: "network_error", retryable: true, message: "failed: a string" });
  });

  it("scrubs and caps every message, and drops a cause that holds a secret", () => {
    const context = { provider: "p", secrets: [SECRET] };
    const leaky = new SdkConnection(`refused for ${SECRET}`);
    const error = providerError(map(leaky, context));
    expect(error.message).toBe("unreachable: refused for [redacted]");
    expect(error.cause).toBeUndefined();
    const clean = providerError(map(new SdkConnection("refused"), context));
    expect(clean.cause).toBeInstanceOf(SdkConnection);
    expect(providerError(map(new SdkConnection("y".repeat(2_000)))).message.length).toBeLessThanOrEqual(301);
  });
});
