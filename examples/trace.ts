/**
 * One call that retries, then falls back, printed as the span tree an OpenTelemetry backend
 * would show. Offline: two mock providers, spans kept in memory.
 *
 *   npx tsx examples/trace.ts
 */
import { SpanStatusCode, type AttributeValue } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { createGateway } from "../src/index.js";
import { mockProvider } from "../src/testing.js";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

const gateway = createGateway({
  providers: {
    // The primary is down: every call answers 503.
    openai: mockProvider({ name: "openai", latencyMs: 20, fail: { status: 503, times: Number.POSITIVE_INFINITY } }),
    anthropic: mockProvider({ name: "anthropic", latencyMs: 35, reply: "Paris." }),
  },
  models: {
    smart: { deployments: ["openai/gpt-5.4"], fallbacks: ["backup"] },
    backup: "anthropic/claude-sonnet-5-5",
  },
  retry: { retries: 1, minDelayMs: 50, maxDelayMs: 200 },
  telemetry: { tracer: provider.getTracer("example") },
});

const res = await gateway.chat(
  { model: "smart", messages: [{ role: "user", content: "Capital of France?" }], temperature: 0 },
  { key: "team-a", user: "u42" },
);
console.log(`answer: ${res.choices[0]?.message.content}  (served by ${res.gateway.deployment} after ${res.gateway.attempts.length} attempts)\n`);

/** Attributes worth a glance; the rest are in the exporter. */
const SHOWN = [
  "gen_ai.system",
  "gen_ai.provider.name",
  "gen_ai.request.model",
  "gen_ai.response.model",
  "gen_ai.usage.input_tokens",
  "gen_ai.usage.output_tokens",
  "error.type",
  "modelgate.route",
  "modelgate.attempt",
  "modelgate.attempts",
  "modelgate.fallback",
  "modelgate.key",
];

const spans = exporter.getFinishedSpans();
const byParent = new Map<string | undefined, ReadableSpan[]>();
for (const span of spans) {
  const parent = span.parentSpanContext?.spanId;
  byParent.set(parent, [...(byParent.get(parent) ?? []), span]);
}
const startOf = (span: ReadableSpan): number => span.startTime[0] * 1e3 + span.startTime[1] / 1e6;
const root = byParent.get(undefined)?.[0];
const origin = root ? startOf(root) : 0;

function print(span: ReadableSpan, depth: number): void {
  const indent = "  ".repeat(depth);
  const durationMs = span.duration[0] * 1e3 + span.duration[1] / 1e6;
  const status = span.status.code === SpanStatusCode.ERROR ? "  ERROR" : "";
  console.log(`${indent}${span.name}  [+${(startOf(span) - origin).toFixed(1)} ms, ${durationMs.toFixed(1)} ms]${status}`);
  const shown = SHOWN.filter((key) => span.attributes[key] !== undefined).map((key) => `${key}=${format(span.attributes[key])}`);
  if (shown.length > 0) console.log(`${indent}  ${shown.join("  ")}`);
  for (const event of span.events) {
    if (event.name === "exception") continue;
    const attributes = Object.entries(event.attributes ?? {}).map(([key, value]) => `${key}=${format(value)}`);
    console.log(`${indent}  * ${event.name} ${attributes.join("  ")}`);
  }
  const children = (byParent.get(span.spanContext().spanId) ?? []).sort((a, b) => startOf(a) - startOf(b));
  for (const child of children) print(child, depth + 1);
}

function format(value: AttributeValue | undefined): string {
  return Array.isArray(value) ? `[${value.join(",")}]` : String(value);
}

if (root) print(root, 0);
await gateway.close();
