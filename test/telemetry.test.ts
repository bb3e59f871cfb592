import { readFileSync } from "node:fs";
import { AsyncLocalStorage } from "node:async_hooks";
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  type Attributes,
  type Context,
  type ContextManager,
  type Link,
} from "@opentelemetry/api";
import { MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SamplingDecision,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
  type SamplingResult,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { AllDeploymentsFailedError, BudgetExceededError, ProviderError, RateLimitError, createGateway, type ChatBody, type GatewayConfig } from "../src/index.js";
import { mockProvider, type MockProviderOptions } from "../src/testing.js";
import type { ProviderAdapter } from "../src/core/provider-adapter.js";
import { INSTRUMENTATION_VERSION } from "../src/telemetry/instrumentation-scope.js";
import { redactSecrets } from "../src/telemetry/redact-secrets.js";

// ---- harness: an isolated OpenTelemetry SDK per test, passed through config -------------------

/** A reader collected on demand: no export timers in tests. */
class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** Samples everything and remembers what each span offered the sampler at its start. */
class RecordingSampler implements Sampler {
  readonly startAttributes = new Map<string, Attributes[]>();
  shouldSample(_context: Context, _traceId: string, name: string, _kind: SpanKind, attributes: Attributes, _links: Link[]): SamplingResult {
    const seen = this.startAttributes.get(name) ?? [];
    seen.push({ ...attributes });
    this.startAttributes.set(name, seen);
    return { decision: SamplingDecision.RECORD_AND_SAMPLED };
  }
  toString(): string {
    return "RecordingSampler";
  }
}

function otelHarness() {
  const exporter = new InMemorySpanExporter();
  const sampler = new RecordingSampler();
  const tracerProvider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracer: tracerProvider.getTracer("test"),
    meter: meterProvider.getMeter("test"),
    sampler,
    spans: (): ReadableSpan[] => exporter.getFinishedSpans(),
    async metrics(): Promise<MetricData[]> {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
    },
  };
}
type Harness = ReturnType<typeof otelHarness>;

function gatewayWith(harness: Harness, config: GatewayConfig, captureContent = false, semconv?: "latest" | "v1.36") {
  return createGateway({ ...config, telemetry: { tracer: harness.tracer, meter: harness.meter, captureContent, semconv } });
}

function spanNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((span) => span.name === name);
  if (found.length !== 1) throw new Error(`expected one span '${name}', found ${found.length} among: ${spans.map((s) => s.name).join(", ")}`);
  return found[0]!;
}

function childrenOf(spans: readonly ReadableSpan[], parent: ReadableSpan): ReadableSpan[] {
  return spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);
}

function histogram(metrics: readonly MetricData[], name: string): DataPoint<Histogram>[] {
  return (metrics.find((metric) => metric.descriptor.name === name)?.dataPoints ?? []) as DataPoint<Histogram>[];
}

function counter(metrics: readonly MetricData[], name: string): DataPoint<number>[] {
  return (metrics.find((metric) => metric.descriptor.name === name)?.dataPoints ?? []) as DataPoint<number>[];
}

const ask = (model: string, extra: Partial<ChatBody> = {}): Omit<ChatBody, "stream"> => ({
  model,
  messages: [{ role: "user", content: "hello there" }],
  ...extra,
});
const fastRetry = { retries: 1, minDelayMs: 1, maxDelayMs: 5 };
const usage = { prompt_tokens: 11, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 4 } };

/** Sets OTEL_SEMCONV_STABILITY_OPT_IN for one test; the gateway reads it at createGateway. */
function optIn(value: string | undefined): void {
  if (value === undefined) delete process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
  else process.env.OTEL_SEMCONV_STABILITY_OPT_IN = value;
}
afterEach(() => optIn(undefined));

// ---- spans ---------------------------------------------------------------------------------

describe("spans of a plain call", () => {
  it("nests one CLIENT attempt span under one INTERNAL call span, with the GenAI attributes", async () => {
    const otel = otelHarness();
    const provider = mockProvider({ name: "openai", reply: "hi", usage });
    const gateway = gatewayWith(otel, { providers: { oa: provider }, models: { smart: "oa/gpt-4o" } });
    const res = await gateway.chat(ask("smart", { temperature: 0.2, top_p: 0.9, max_tokens: 64 }), { key: "team-a", user: "u42" });

    const spans = otel.spans();
    expect(spans).toHaveLength(2);
    const call = spanNamed(spans, "chat smart");
    const attempt = spanNamed(spans, "chat gpt-4o");
    expect(call.kind).toBe(SpanKind.INTERNAL);
    expect(call.parentSpanContext).toBeUndefined();
    expect(attempt.kind).toBe(SpanKind.CLIENT);
    expect(childrenOf(spans, call)).toEqual([attempt]);
    expect(attempt.spanContext().traceId).toBe(call.spanContext().traceId);

    expect(attempt.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.request.temperature": 0.2,
      "gen_ai.request.top_p": 0.9,
      "gen_ai.request.max_tokens": 64,
      "gen_ai.request.stream": false,
      "gen_ai.response.model": "gpt-4o",
      "gen_ai.response.id": res.id,
      "gen_ai.response.finish_reasons": ["stop"],
      "gen_ai.usage.input_tokens": 11,
      "gen_ai.usage.output_tokens": 7,
      "gen_ai.usage.cache_read.input_tokens": 4,
      "modelgate.deployment": "oa/gpt-4o",
      "modelgate.route": "smart",
      "modelgate.attempt": 1,
    });
    // Unknown counts are left out, not reported as 0.
    expect(attempt.attributes["gen_ai.usage.reasoning.output_tokens"]).toBeUndefined();
    expect(attempt.attributes["gen_ai.usage.cache_creation.input_tokens"]).toBeUndefined();
    expect(attempt.status.code).toBe(SpanStatusCode.UNSET);

    expect(call.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "smart",
      "gen_ai.provider.name": "openai",
      "gen_ai.response.model": "gpt-4o",
      "gen_ai.request.temperature": 0.2,
      "modelgate.key": "team-a",
      "modelgate.user": "u42",
      "modelgate.route": "smart",
      "modelgate.deployment": "oa/gpt-4o",
      "modelgate.cache": "miss",
      "modelgate.attempts": 1,
      "modelgate.fallback": false,
      "modelgate.cost_usd": res.gateway.costUsd,
    });
    expect(res.gateway.costUsd).toBeGreaterThan(0);
    // Token usage lives on the attempt only: a backend summing over the trace must not count it twice.
    expect(call.attributes["gen_ai.usage.input_tokens"]).toBeUndefined();
    // The default is the latest conventions: no gen_ai.system.
    expect(call.attributes["gen_ai.system"]).toBeUndefined();
    expect(attempt.attributes["gen_ai.system"]).toBeUndefined();
  });

  it("offers the sampling-relevant attributes at span start", async () => {
    const otel = otelHarness();
    const provider = Object.assign(mockProvider({ name: "anthropic" }), { serverAddress: "api.anthropic.com" });
    const gateway = gatewayWith(otel, { providers: { an: provider }, models: { smart: "an/claude-x" } });
    await gateway.chat(ask("smart"), { key: "team-a", user: "u1" });
    expect(otel.sampler.startAttributes.get("chat smart")?.[0]).toEqual({
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "smart",
      "modelgate.key": "team-a",
      "modelgate.user": "u1",
    });
    expect(otel.sampler.startAttributes.get("chat claude-x")?.[0]).toEqual({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "anthropic",
      "gen_ai.request.model": "claude-x",
      "server.address": "api.anthropic.com",
      "modelgate.deployment": "an/claude-x",
    });
  });

  /** The provider attribute each span and `gen_ai.client.*` metric point carries, and asserts the other is absent. */
  async function providerAttributes(otel: Harness, present: string, absent: string): Promise<void> {
    const spans = otel.spans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.attributes[present]).toBe("openai");
      expect(span.attributes[absent]).toBeUndefined();
    }
    const metrics = await otel.metrics();
    const points = [...histogram(metrics, "gen_ai.client.operation.duration"), ...histogram(metrics, "gen_ai.client.token.usage")];
    expect(points).toHaveLength(3);
    for (const point of points) {
      expect(point.attributes[present]).toBe("openai");
      expect(point.attributes[absent]).toBeUndefined();
    }
  }

  it("emits gen_ai.provider.name and not gen_ai.system by default", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, { providers: { oa: mockProvider({ name: "openai", usage }) } });
    await gateway.chat(ask("oa/gpt-4o"));
    await providerAttributes(otel, "gen_ai.provider.name", "gen_ai.system");
  });

  it("emits gen_ai.system and not gen_ai.provider.name under telemetry.semconv 'v1.36', unless the env opts in to the latest", async () => {
    optIn("http");
    const old = otelHarness();
    await gatewayWith(old, { providers: { oa: mockProvider({ name: "openai", usage }) } }, false, "v1.36").chat(ask("oa/gpt-4o"));
    await providerAttributes(old, "gen_ai.system", "gen_ai.provider.name");

    // OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental wins over the config, as the spec defines it.
    optIn("http, gen_ai_latest_experimental");
    const latest = otelHarness();
    await gatewayWith(latest, { providers: { oa: mockProvider({ name: "openai", usage }) } }, false, "v1.36").chat(ask("oa/gpt-4o"));
    await providerAttributes(latest, "gen_ai.provider.name", "gen_ai.system");
  });

  it("rejects a telemetry.semconv it does not know", () => {
    expect(() => createGateway({ providers: { p: mockProvider() }, telemetry: { semconv: "v1.37" as never } })).toThrow(
      /telemetry\.semconv.*expected "latest".*"v1\.36"/s,
    );
  });

  it("nests spans the provider's own instrumentation opens under the attempt span", async () => {
    // The context manager an SDK setup registers (AsyncLocalStorage based), installed for this test only.
    const storage = new AsyncLocalStorage<Context>();
    const manager: ContextManager = {
      active: () => storage.getStore() ?? ROOT_CONTEXT,
      with: (ctx, fn, thisArg, ...args) => storage.run(ctx, () => fn.call(thisArg, ...args)),
      bind: (_ctx, target) => target,
      enable() {
        return this;
      },
      disable() {
        return this;
      },
    };
    context.setGlobalContextManager(manager);
    try {
      const otel = otelHarness();
      const inner = mockProvider({ name: "openai" });
      const instrumented: ProviderAdapter = {
        name: "openai",
        chat: (request, ctx) => otel.tracer.startActiveSpan("POST /v1/chat/completions", async (http) => {
          try {
            return await inner.chat(request, ctx);
          } finally {
            http.end();
          }
        }),
        stream: (request, ctx) => inner.stream(request, ctx),
      };
      const gateway = gatewayWith(otel, { providers: { oa: instrumented } });
      await otel.tracer.startActiveSpan("GET /checkout", async (server) => {
        await gateway.chat(ask("oa/gpt-4o"));
        server.end();
      });
      const spans = otel.spans();
      const server = spanNamed(spans, "GET /checkout");
      const call = spanNamed(spans, "chat oa/gpt-4o");
      const attempt = spanNamed(spans, "chat gpt-4o");
      const http = spanNamed(spans, "POST /v1/chat/completions");
      expect(childrenOf(spans, server)).toEqual([call]);
      expect(childrenOf(spans, call)).toEqual([attempt]);
      expect(childrenOf(spans, attempt)).toEqual([http]);
    } finally {
      context.disable();
    }
  });
});

describe("spans of retries and fallbacks", () => {
  it("gives each retry its own attempt span with its error, and leaves the recovered call's status unset", async () => {
    const otel = otelHarness();
    const provider = mockProvider({ name: "openai", fail: { status: 503 } });
    const gateway = gatewayWith(otel, { providers: { oa: provider }, retry: fastRetry });
    const res = await gateway.chat(ask("oa/gpt-4o"));
    expect(res.gateway.attempts).toHaveLength(2);

    const spans = otel.spans();
    const call = spanNamed(spans, "chat oa/gpt-4o");
    const attempts = childrenOf(spans, call).sort((a, b) => Number(a.attributes["modelgate.attempt"]) - Number(b.attributes["modelgate.attempt"]));
    expect(attempts.map((span) => span.name)).toEqual(["chat gpt-4o", "chat gpt-4o"]);
    expect(attempts[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempts[0]!.attributes["error.type"]).toBe("503");
    expect(attempts[0]!.events.map((event) => event.name)).toContain("exception");
    expect(attempts[1]!.status.code).toBe(SpanStatusCode.UNSET);
    expect(attempts[1]!.attributes["error.type"]).toBeUndefined();

    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    expect(call.attributes["error.type"]).toBeUndefined();
    expect(call.attributes["modelgate.attempts"]).toBe(2);
    const retry = call.events.find((event) => event.name === "modelgate.retry");
    expect(retry?.attributes).toMatchObject({ "modelgate.deployment": "oa/gpt-4o", "modelgate.attempt": 1, "error.type": "503" });
  });

  it("shows a fallback: the failed route's attempts, then the fallback's, with a fallback event", async () => {
    const otel = otelHarness();
    const primary = mockProvider({ name: "openai", fail: { status: 503, times: Number.POSITIVE_INFINITY } });
    const backup = mockProvider({ name: "anthropic" });
    const gateway = gatewayWith(otel, {
      providers: { primary, backup },
      models: { smart: { deployments: ["primary/gpt-4o"], fallbacks: ["cheap"] }, cheap: "backup/claude-haiku" },
      retry: fastRetry,
    });
    const res = await gateway.chat(ask("smart"));
    expect(res.gateway.route).toBe("cheap");

    const spans = otel.spans();
    const call = spanNamed(spans, "chat smart");
    const children = childrenOf(spans, call);
    expect(children.map((span) => [span.name, span.attributes["modelgate.route"], span.status.code])).toEqual([
      ["chat gpt-4o", "smart", SpanStatusCode.ERROR],
      ["chat gpt-4o", "smart", SpanStatusCode.ERROR],
      ["chat claude-haiku", "cheap", SpanStatusCode.UNSET],
    ]);
    expect(children[2]!.attributes["gen_ai.provider.name"]).toBe("anthropic");
    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    expect(call.attributes).toMatchObject({ "modelgate.fallback": true, "modelgate.route": "cheap", "gen_ai.provider.name": "anthropic", "modelgate.attempts": 3 });
    const fallback = call.events.find((event) => event.name === "modelgate.fallback");
    expect(fallback?.attributes).toEqual({ "modelgate.fallback.from": "smart", "modelgate.fallback.to": "cheap" });
  });

  it("marks a cooldown on the call span and counts it", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, {
      providers: { a: mockProvider({ fail: { status: 500, times: 5 } }), b: mockProvider() },
      models: { m: { deployments: ["a/x", "b/y"] } },
      retry: { retries: 0 },
      cooldown: { failures: 1 },
    });
    await gateway.chat(ask("m"));
    const call = spanNamed(otel.spans(), "chat m");
    const cooldown = call.events.find((event) => event.name === "modelgate.cooldown");
    expect(cooldown?.attributes).toMatchObject({ "modelgate.deployment": "a/x", "modelgate.cooldown.reason": "failures" });
    const points = counter(await otel.metrics(), "modelgate.cooldowns");
    expect(points.map((point) => [point.attributes, point.value])).toEqual([
      [{ "modelgate.deployment": "a/x", "modelgate.cooldown.reason": "failures" }, 1],
    ]);
  });

  it("sets the call span's error status and error.type when nothing recovers", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, {
      providers: { p: mockProvider({ fail: { status: 503, times: Number.POSITIVE_INFINITY } }) },
      retry: fastRetry,
    });
    const error = await gateway.chat(ask("p/x")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllDeploymentsFailedError);
    const call = spanNamed(otel.spans(), "chat p/x");
    expect(call.status.code).toBe(SpanStatusCode.ERROR);
    expect(call.attributes["error.type"]).toBe("all_failed");
    expect(childrenOf(otel.spans(), call).every((span) => span.status.code === SpanStatusCode.ERROR)).toBe(true);
  });

  it("uses the provider's own error type as error.type, and rejects at once when not retryable", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, { providers: { p: mockProvider({ fail: { status: 429, type: "insufficient_quota" } }) } });
    const error = await gateway.chat(ask("p/x")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    const call = spanNamed(otel.spans(), "chat p/x");
    expect(call.attributes["error.type"]).toBe("insufficient_quota");
    expect(spanNamed(otel.spans(), "chat x").attributes["error.type"]).toBe("insufficient_quota");
  });
});

describe("spans of a cache hit", () => {
  it("has no attempt span, marks the hit, and records no token usage", async () => {
    const otel = otelHarness();
    const provider = mockProvider({ usage });
    const gateway = gatewayWith(otel, { providers: { p: provider }, cache: { exact: {} } });
    await gateway.chat(ask("p/x"));
    const hit = await gateway.chat(ask("p/x"));
    expect(hit.gateway.cache).toBe("exact");
    expect(provider.calls).toBe(1);

    const calls = otel.spans().filter((span) => span.name === "chat p/x");
    expect(calls).toHaveLength(2);
    const second = calls[1]!;
    expect(childrenOf(otel.spans(), second)).toEqual([]);
    expect(second.attributes).toMatchObject({ "modelgate.cache": "exact", "modelgate.attempts": 0 });
    expect(second.events.filter((event) => event.name === "modelgate.cache_hit")).toHaveLength(1);
    expect(second.attributes["gen_ai.usage.input_tokens"]).toBeUndefined();

    const metrics = await otel.metrics();
    // One provider call, so one input and one output token record.
    expect(histogram(metrics, "gen_ai.client.token.usage").map((point) => point.value.count)).toEqual([1, 1]);
    expect(counter(metrics, "modelgate.cache.hits").map((point) => [point.attributes["modelgate.cache"], point.value])).toEqual([["exact", 1]]);
    const outcomes = Object.fromEntries(counter(metrics, "modelgate.requests").map((point) => [point.attributes["modelgate.outcome"], point.value]));
    expect(outcomes).toEqual({ success: 1, cache_hit: 1 });
  });
});

describe("spans of limits", () => {
  it("shows a key's rate-limit rejection: error status, one reject event, no attempt, counted by scope", async () => {
    const otel = otelHarness();
    const provider = mockProvider();
    const gateway = gatewayWith(otel, { providers: { p: provider }, keys: { "team-a": { rpm: 1 } } });
    await gateway.chat(ask("p/x"), { key: "team-a" });
    const error = await gateway.chat(ask("p/x"), { key: "team-a" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(provider.calls).toBe(1);

    const calls = otel.spans().filter((span) => span.name === "chat p/x");
    expect(calls).toHaveLength(2);
    const rejected = calls[1]!;
    expect(childrenOf(otel.spans(), rejected)).toEqual([]);
    expect(rejected.status.code).toBe(SpanStatusCode.ERROR);
    expect(rejected.attributes).toMatchObject({ "error.type": "rate_limited", "modelgate.key": "team-a", "modelgate.attempts": 0 });
    const rejects = rejected.events.filter((event) => event.name === "modelgate.rate_limit.reject");
    expect(rejects).toHaveLength(1);
    expect(rejects[0]!.attributes).toMatchObject({ "modelgate.limit.scope": "key", "modelgate.limit.kind": "rpm" });

    const metrics = await otel.metrics();
    expect(counter(metrics, "modelgate.rate_limit.rejections").map((point) => [point.attributes, point.value])).toEqual([
      [{ "modelgate.limit.scope": "key" }, 1],
    ]);
    const outcomes = counter(metrics, "modelgate.requests").map((point) => [point.attributes["modelgate.outcome"], point.attributes["error.type"]]);
    expect(outcomes).toEqual([["success", undefined], ["error", "rate_limited"]]);
  });

  it("shows a throttle wait in queue mode as a throttle event on a call that then succeeds", async () => {
    const otel = otelHarness();
    // 120 rpm: a burst of 120, then one request per 500 ms; the call after the burst waits.
    const gateway = gatewayWith(otel, { providers: { p: mockProvider() }, keys: { k: { rpm: 120 } }, onLimit: { queue: { maxWaitMs: 2_000 } } });
    let waited: ReadableSpan | undefined;
    for (let i = 0; i < 200 && !waited; i++) {
      await gateway.chat(ask("p/x"), { key: "k" });
      const last = otel.spans().at(-1)!;
      if (last.events.some((event) => event.name === "modelgate.throttle")) waited = last;
    }
    expect(waited?.name).toBe("chat p/x");
    expect(waited?.status.code).toBe(SpanStatusCode.UNSET);
    expect(waited?.attributes["modelgate.cache"]).toBe("miss");
    const throttle = waited?.events.find((event) => event.name === "modelgate.throttle");
    expect(throttle?.attributes).toMatchObject({ "modelgate.limit.scope": "key", "modelgate.limit.kind": "rpm" });
    expect(throttle?.attributes?.["modelgate.limit.wait_ms"]).toBeGreaterThan(0);
  });

  it("shows a budget rejection as a budget event", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, {
      providers: { p: mockProvider() },
      models: { m: { deployments: [{ provider: "p", model: "x", price: { input: 1_000_000, output: 1_000_000 } }] } },
      keys: { "team-a": { budget: { usd: 0.5, period: "day" } } },
    });
    const error = await gateway.chat(ask("m"), { key: "team-a" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BudgetExceededError);
    const call = spanNamed(otel.spans(), "chat m");
    expect(call.attributes["error.type"]).toBe("budget_exceeded");
    expect(call.events.filter((event) => event.name === "modelgate.budget.reject")).toHaveLength(1);
  });

  it("shows a deployment skipped at its own RPM as a skipped attempt span, then the next deployment", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, {
      providers: { a: mockProvider(), b: mockProvider() },
      models: { m: { deployments: [{ provider: "a", model: "x", rpm: 1 }, "b/y"] } },
    });
    await gateway.chat(ask("m"));
    const res = await gateway.chat(ask("m"));
    expect(res.gateway.deployment).toBe("b/y");
    const second = otel.spans().filter((span) => span.name === "chat m")[1]!;
    const children = childrenOf(otel.spans(), second);
    expect(children.map((span) => [span.name, span.attributes["modelgate.skipped"], span.status.code])).toEqual([
      ["chat x", "capacity", SpanStatusCode.UNSET],
      ["chat y", undefined, SpanStatusCode.UNSET],
    ]);
    expect(second.events.find((event) => event.name === "modelgate.limit.skip")?.attributes).toMatchObject({ "modelgate.deployment": "a/x" });
    // A skipped attempt asked no provider: it is not an operation to measure.
    expect(histogram(await otel.metrics(), "gen_ai.client.operation.duration").reduce((sum, point) => sum + point.value.count, 0)).toBe(2);
  });
});

describe("spans of a rate-limited provider", () => {
  it("records a provider 429 on the attempt span and retries it", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, { providers: { p: mockProvider({ fail: { status: 429, retryAfterMs: 2 } }) }, retry: fastRetry });
    await gateway.chat(ask("p/x"));
    const call = spanNamed(otel.spans(), "chat p/x");
    const [limited, served] = childrenOf(otel.spans(), call);
    expect(limited!.attributes["error.type"]).toBe("429");
    expect(served!.status.code).toBe(SpanStatusCode.UNSET);
    expect(call.events.find((event) => event.name === "modelgate.retry")?.attributes?.["modelgate.retry.delay_ms"]).toBe(2);
  });
});

describe("spans of a stream", () => {
  it("ends both spans when the stream ends and records time to first chunk", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, { providers: { p: mockProvider({ name: "openai", reply: "one two three", chunkDelayMs: 15, usage }) } });
    const stream = await gateway.chat({ ...ask("p/x"), stream: true });
    expect(otel.spans()).toHaveLength(0);
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("one two three");

    const spans = otel.spans();
    const call = spanNamed(spans, "chat p/x");
    const attempt = spanNamed(spans, "chat x");
    expect(childrenOf(spans, call)).toEqual([attempt]);
    expect(attempt.attributes).toMatchObject({ "gen_ai.request.stream": true, "gen_ai.usage.input_tokens": 11, "gen_ai.usage.output_tokens": 7, "gen_ai.response.finish_reasons": ["stop"] });
    const firstChunk = attempt.attributes["gen_ai.response.time_to_first_chunk"] as number;
    expect(firstChunk).toBeGreaterThan(0);
    expect(call.attributes["gen_ai.response.time_to_first_chunk"]).toBeGreaterThanOrEqual(firstChunk);
    // Three chunk gaps of 15 ms after the first: the spans lasted the whole stream.
    const durationSeconds = (span: ReadableSpan): number => span.duration[0] + span.duration[1] / 1e9;
    expect(durationSeconds(attempt)).toBeGreaterThan(firstChunk + 0.03);

    const metrics = await otel.metrics();
    const ttfc = histogram(metrics, "gen_ai.client.operation.time_to_first_chunk");
    expect(ttfc).toHaveLength(1);
    expect(ttfc[0]!.value.count).toBe(1);
    expect(ttfc[0]!.value.sum).toBeCloseTo(firstChunk, 6);
    expect(histogram(metrics, "gen_ai.client.operation.duration")[0]!.value.sum).toBeGreaterThan(firstChunk + 0.03);
  });

  it("ends the spans of an abandoned stream, marked abandoned, status unset", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, { providers: { p: mockProvider({ reply: "a b c d e f" }) } });
    const stream = await gateway.chat({ ...ask("p/x"), stream: true });
    for await (const _chunk of stream) break;
    const spans = otel.spans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.attributes["modelgate.abandoned"]).toBe(true);
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
    }
    const outcomes = counter(await otel.metrics(), "modelgate.requests").map((point) => point.attributes["modelgate.outcome"]);
    expect(outcomes).toEqual(["abandoned"]);
  });

  it("fails both spans when the stream breaks after its first chunk", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, { providers: { p: mockProvider({ reply: "a b c d", fail: { status: 502, afterChunks: 2 } }) } });
    const stream = await gateway.chat({ ...ask("p/x"), stream: true });
    const error = await (async () => {
      for await (const _chunk of stream) {
        // reading until it breaks
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    const spans = otel.spans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes["error.type"]).toBe("502");
    }
  });
});

// ---- metrics -------------------------------------------------------------------------------

describe("metrics", () => {
  it("records duration with the spec's buckets, error.type only on failures, and billable tokens by type", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, {
      providers: { p: mockProvider({ name: "openai", fail: { status: 503 }, usage }) },
      retry: fastRetry,
    });
    await gateway.chat(ask("p/gpt-4o"));
    const metrics = await otel.metrics();

    const duration = histogram(metrics, "gen_ai.client.operation.duration");
    expect(metrics.find((metric) => metric.descriptor.name === "gen_ai.client.operation.duration")?.descriptor.unit).toBe("s");
    expect(duration).toHaveLength(2);
    const failed = duration.find((point) => point.attributes["error.type"] !== undefined)!;
    const succeeded = duration.find((point) => point.attributes["error.type"] === undefined)!;
    expect(failed.attributes).toEqual({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o",
      "error.type": "503",
    });
    expect(succeeded.attributes).toEqual({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o",
      "gen_ai.response.model": "gpt-4o",
    });
    expect(succeeded.value.buckets.boundaries).toEqual([0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]);

    const tokens = histogram(metrics, "gen_ai.client.token.usage");
    const byType = Object.fromEntries(tokens.map((point) => [point.attributes["gen_ai.token.type"], point.value.sum]));
    expect(byType).toEqual({ input: 11, output: 7 });
    expect(tokens[0]!.value.buckets.boundaries.slice(0, 4)).toEqual([1, 4, 16, 64]);
    // A plain call is not streamed: no time-to-first-chunk.
    expect(histogram(metrics, "gen_ai.client.operation.time_to_first_chunk")).toEqual([]);
    const requests = counter(metrics, "modelgate.requests");
    expect(requests.map((point) => [point.attributes, point.value])).toEqual([
      [{ "modelgate.outcome": "success", "gen_ai.request.model": "p/gpt-4o" }, 1],
    ]);
  });

  it("adds each served call's cost in USD", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, {
      providers: { p: mockProvider({ name: "openai", usage }) },
      models: { m: { deployments: [{ provider: "p", model: "x", price: { input: 2, output: 10 } }] } },
    });
    const first = await gateway.chat(ask("m"));
    const second = await gateway.chat(ask("m"));
    const cost = counter(await otel.metrics(), "modelgate.cost");
    expect(cost).toHaveLength(1);
    expect(cost[0]!.attributes).toEqual({ "gen_ai.provider.name": "openai", "gen_ai.request.model": "x" });
    expect(cost[0]!.value).toBeCloseTo(first.gateway.costUsd + second.gateway.costUsd, 12);
    expect(first.gateway.costUsd).toBeGreaterThan(0);
  });

  it("never records token usage when the provider reports none", async () => {
    const otel = otelHarness();
    const noUsage: ProviderAdapter = {
      name: "custom",
      async chat(_request, ctx) {
        return { id: "r1", object: "chat.completion", created: 0, model: ctx.model, choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop", logprobs: null }] };
      },
      async *stream() {},
    };
    const gateway = gatewayWith(otel, { providers: { c: noUsage } });
    await gateway.chat(ask("c/m"));
    const metrics = await otel.metrics();
    expect(histogram(metrics, "gen_ai.client.token.usage")).toEqual([]);
    expect(histogram(metrics, "gen_ai.client.operation.duration")).toHaveLength(1);
    expect(spanNamed(otel.spans(), "chat m").attributes["gen_ai.usage.input_tokens"]).toBeUndefined();
  });

  it("counts failed calls by error.type", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, { providers: { p: mockProvider({ fail: { status: 400 } }) } });
    await gateway.chat(ask("p/x")).catch(() => undefined);
    const requests = counter(await otel.metrics(), "modelgate.requests");
    expect(requests.map((point) => point.attributes)).toEqual([
      { "modelgate.outcome": "error", "gen_ai.request.model": "p/x", "error.type": "400" },
    ]);
  });
});

// ---- content capture and secrets -------------------------------------------------------------

describe("content capture", () => {
  const contentKeys = ["gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.prompt", "gen_ai.completion", "gen_ai.content."];
  const everything = (spans: readonly ReadableSpan[]): string =>
    JSON.stringify(spans.map((span) => ({ attributes: span.attributes, events: span.events })));

  it("records no prompt or completion by default, in either conventions mode", async () => {
    for (const semconv of [undefined, "v1.36"] as const) {
      const otel = otelHarness();
      const gateway = gatewayWith(otel, { providers: { p: mockProvider({ reply: "the secret recipe" }) } }, false, semconv);
      await gateway.chat(ask("p/x", { messages: [{ role: "user", content: "my private question" }] }));
      const recorded = everything(otel.spans());
      expect(recorded).not.toContain("my private question");
      expect(recorded).not.toContain("the secret recipe");
      for (const key of contentKeys) expect(recorded).not.toContain(key);
    }
  });

  it("records gen_ai.input.messages / gen_ai.output.messages in the parts format under the default (latest) conventions", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, { providers: { p: mockProvider({ reply: "Paris" }) } }, true);
    await gateway.chat(ask("p/x", { messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Capital of France?" }] }));
    const attempt = spanNamed(otel.spans(), "chat x");
    expect(JSON.parse(attempt.attributes["gen_ai.input.messages"] as string)).toEqual([
      { role: "system", parts: [{ type: "text", content: "Be brief." }] },
      { role: "user", parts: [{ type: "text", content: "Capital of France?" }] },
    ]);
    expect(JSON.parse(attempt.attributes["gen_ai.output.messages"] as string)).toEqual([
      { role: "assistant", parts: [{ type: "text", content: "Paris" }], finish_reason: "stop" },
    ]);
    expect(attempt.events.map((event) => event.name)).not.toContain("gen_ai.content.prompt");
  });

  it("puts tool calls in the parts format, and a cache hit's content on the call span", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(
      otel,
      { providers: { p: mockProvider({ reply: { toolCalls: [{ name: "weather", arguments: '{"city":"Paris"}' }] } }) }, cache: { exact: {} } },
      true,
    );
    const body = ask("p/x", {
      messages: [
        { role: "user", content: "Weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "weather", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c1", content: "rainy" },
      ],
    });
    await gateway.chat(body);
    await gateway.chat(body);
    const [served, hit] = otel.spans().filter((span) => span.name === "chat p/x");
    const attempt = childrenOf(otel.spans(), served!)[0]!;
    expect(JSON.parse(attempt.attributes["gen_ai.input.messages"] as string)).toEqual([
      { role: "user", parts: [{ type: "text", content: "Weather?" }] },
      { role: "assistant", parts: [{ type: "tool_call", id: "c1", name: "weather", arguments: {} }] },
      { role: "tool", parts: [{ type: "tool_call_response", id: "c1", response: "rainy" }] },
    ]);
    const output = [{ role: "assistant", parts: [{ type: "tool_call", id: "call_0", name: "weather", arguments: { city: "Paris" } }], finish_reason: "tool_call" }];
    expect(JSON.parse(attempt.attributes["gen_ai.output.messages"] as string)).toEqual(output);
    // No attempt served the hit, so the call span carries its content; the first call's does not.
    expect(served!.attributes["gen_ai.output.messages"]).toBeUndefined();
    expect(hit!.attributes["modelgate.cache"]).toBe("exact");
    expect(JSON.parse(hit!.attributes["gen_ai.output.messages"] as string)).toEqual(output);
    expect(hit!.attributes["gen_ai.input.messages"]).toBe(attempt.attributes["gen_ai.input.messages"]);
  });

  it("records gen_ai.content.prompt / completion span events under telemetry.semconv 'v1.36'", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(otel, { providers: { p: mockProvider({ reply: "Paris" }) } }, true, "v1.36");
    await gateway.chat(ask("p/x", { messages: [{ role: "user", content: "Capital of France?" }] }));
    const attempt = spanNamed(otel.spans(), "chat x");
    const prompt = attempt.events.find((event) => event.name === "gen_ai.content.prompt");
    const completion = attempt.events.find((event) => event.name === "gen_ai.content.completion");
    expect(JSON.parse(prompt?.attributes?.["gen_ai.prompt"] as string)).toEqual([{ role: "user", content: "Capital of France?" }]);
    expect(JSON.parse(completion?.attributes?.["gen_ai.completion"] as string)).toEqual([{ role: "assistant", content: "Paris" }]);
    expect(attempt.attributes["gen_ai.input.messages"]).toBeUndefined();
    expect(attempt.attributes["gen_ai.output.messages"]).toBeUndefined();
  });

  it("records the latest content attributes under telemetry.semconv 'v1.36' when the env opts in to the latest", async () => {
    optIn("gen_ai_latest_experimental");
    const otel = otelHarness();
    const gateway = gatewayWith(otel, { providers: { p: mockProvider({ reply: "Paris" }) } }, true, "v1.36");
    await gateway.chat(ask("p/x", { messages: [{ role: "user", content: "Capital of France?" }] }));
    const attempt = spanNamed(otel.spans(), "chat x");
    expect(JSON.parse(attempt.attributes["gen_ai.output.messages"] as string)).toEqual([
      { role: "assistant", parts: [{ type: "text", content: "Paris" }], finish_reason: "stop" },
    ]);
    expect(attempt.events.map((event) => event.name)).not.toContain("gen_ai.content.completion");
  });
});

describe("secrets", () => {
  const SECRET = "sk-live-7f3c9a2bZZsecretZZ41d8";

  /** An adapter that holds credentials the way real ones do: key, headers, a client config. */
  function adapterWithSecrets(options: MockProviderOptions): ProviderAdapter {
    const inner = mockProvider({ name: "openai", ...options });
    return Object.assign(inner, {
      apiKey: SECRET,
      headers: { Authorization: `Bearer ${SECRET}`, "x-api-key": SECRET },
      clientOptions: { apiKey: SECRET, baseURL: "https://api.openai.com/v1" },
    });
  }

  it("appear in no span, span event, metric point, event payload, error or res.gateway", async () => {
    const otel = otelHarness();
    const gateway = gatewayWith(
      otel,
      {
        providers: { primary: adapterWithSecrets({ fail: { status: 503, times: Number.POSITIVE_INFINITY } }), backup: adapterWithSecrets({ usage }) },
        models: { smart: { deployments: ["primary/gpt-4o"], fallbacks: ["cheap"] }, cheap: "backup/gpt-4o-mini", broken: "primary/gpt-4o" },
        retry: fastRetry,
      },
      true,
    );
    const payloads: unknown[] = [];
    for (const name of ["request", "response", "retry", "fallback", "cooldown", "cache", "limit", "error"] as const) {
      gateway.on(name, (event) => payloads.push(event));
    }
    const res = await gateway.chat(ask("smart"), { key: "team-a", user: "u1" });
    const stream = await gateway.chat({ ...ask("smart"), stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    const error = await gateway.chat(ask("broken")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllDeploymentsFailedError);

    const scanned = [
      JSON.stringify(otel.spans().map((span) => ({ name: span.name, attributes: span.attributes, events: span.events, status: span.status }))),
      JSON.stringify(await otel.metrics()),
      JSON.stringify(payloads, (_key, value: unknown) => (value instanceof Error ? { ...value, message: value.message, stack: value.stack } : value)),
      JSON.stringify(res.gateway),
      String((error as Error).message),
      String((error as Error).stack),
      JSON.stringify(error),
    ];
    expect(payloads.length).toBeGreaterThan(5);
    expect(otel.spans().length).toBeGreaterThan(5);
    for (const text of scanned) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain("Bearer");
    }
  });

  it("are masked out of error messages that telemetry copies, when a provider echoes them", async () => {
    const otel = otelHarness();
    const leaky = mockProvider({
      fail: { status: 401, message: `Incorrect API key provided: ${SECRET}. Sent Authorization: Bearer ${SECRET}` },
    });
    const gateway = gatewayWith(otel, { providers: { p: leaky } });
    await gateway.chat(ask("p/x")).catch(() => undefined);
    const recorded = JSON.stringify(otel.spans().map((span) => ({ attributes: span.attributes, events: span.events, status: span.status })));
    expect(recorded).toContain("Incorrect API key provided");
    expect(recorded).not.toContain(SECRET);
    expect(recorded).not.toContain("Bearer");
    expect(recorded).not.toContain("ZZsecretZZ");
  });

  it("masks the usual credential shapes", () => {
    expect(redactSecrets("auth failed: Authorization: Bearer abc.def-123")).not.toMatch(/abc\.def|Bearer/);
    expect(redactSecrets('{"x-api-key":"sk-ant-api03-abcdefgh"}')).not.toContain("abcdefgh");
    expect(redactSecrets("GET /v1beta/models?key=AIzaSyA1234567890abcdefghijkl&alt=sse")).not.toContain("AIzaSy");
    expect(redactSecrets("api_key=hunter2hunter2 rest")).toBe("api_key=[redacted] rest");
    expect(redactSecrets("x".repeat(10_000)).length).toBeLessThanOrEqual(501);
  });
});

describe("the default tracer and meter", () => {
  it("serve calls through the global no-op API when no SDK is registered", async () => {
    const gateway = createGateway({ providers: { p: mockProvider({ reply: "ok" }) } });
    expect((await gateway.chat(ask("p/x"))).choices[0]?.message.content).toBe("ok");
    const stream = await gateway.chat({ ...ask("p/x"), stream: true });
    expect((await stream.finalResponse()).choices[0]?.message.content).toBe("ok");
  });

  it("are named after modelgate at the package's version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    expect(INSTRUMENTATION_VERSION).toBe(pkg.version);
  });

  it("rejects a tracer or meter that is not one", () => {
    expect(() => createGateway({ providers: { p: mockProvider() }, telemetry: { tracer: {} as never } })).toThrow(/telemetry\.tracer/);
    expect(() => createGateway({ providers: { p: mockProvider() }, telemetry: { meter: 42 as never } })).toThrow(/telemetry\.meter/);
  });
});
