import type { Meter, Tracer } from "@opentelemetry/api";
import { z } from "zod";

const tracerSchema = z.custom<Tracer>(
  (value) => typeof value === "object" && value !== null && typeof (value as Tracer).startSpan === "function",
  "expected an OpenTelemetry Tracer, e.g. trace.getTracer('my-app') or provider.getTracer('my-app')",
);

const meterSchema = z.custom<Meter>(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    typeof (value as Meter).createHistogram === "function" &&
    typeof (value as Meter).createCounter === "function",
  "expected an OpenTelemetry Meter, e.g. metrics.getMeter('my-app') or provider.getMeter('my-app')",
);

/**
 * `telemetry` in the gateway config. Telemetry is always on: with no OpenTelemetry SDK
 * registered the API is a no-op costing well under a microsecond per call.
 *
 * @example
 * createGateway({ providers, telemetry: { tracer: provider.getTracer("app"), captureContent: false } });
 */
export const telemetryConfigSchema = z
  .object({
    /** Defaults to `trace.getTracer("modelgate", version)` from the global API at `createGateway`. */
    tracer: tracerSchema.optional(),
    /**
     * Defaults to `metrics.getMeter("modelgate", version)` from the global API at `createGateway`:
     * register the global MeterProvider before creating the gateway (the metrics API, unlike
     * the trace API, does not forward to a provider registered later).
     */
    meter: meterSchema.optional(),
    /**
     * Records prompts and completions on spans: span attributes `gen_ai.input.messages` /
     * `gen_ai.output.messages` under the latest conventions (the default), or span events
     * `gen_ai.content.prompt` / `gen_ai.content.completion` under `semconv: "v1.36"`. Off by
     * default: content is often personal data and large.
     */
    captureContent: z.boolean().optional(),
    /**
     * Which OpenTelemetry GenAI semantic conventions to emit. `"latest"` (the default): the
     * v1.41 names, `gen_ai.provider.name` and content as `gen_ai.input.messages` /
     * `gen_ai.output.messages`. `"v1.36"`: the old names, `gen_ai.system` and content as
     * `gen_ai.content.*` span events, for dashboards built on them. The env var
     * `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental` wins over `"v1.36"`, as the
     * spec defines it.
     */
    semconv: z
      .enum(["latest", "v1.36"], {
        error: 'expected "latest" (the v1.41 GenAI conventions, the default) or "v1.36" (gen_ai.system and gen_ai.content.* events, for dashboards built on them)',
      })
      .optional(),
  })
  .strict();

/** The `telemetry` section of the gateway config. */
export type TelemetryConfig = z.input<typeof telemetryConfigSchema>;
