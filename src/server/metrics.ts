import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Gateway } from "../index.js";

/**
 * Prometheus metrics fed by the gateway's events, in a registry of their own (never
 * prom-client's global one: two handlers in a process must not share or clash). Labels are
 * bounded sets (configured keys, models, deployments, codes); end users are never a label.
 */
export interface ServerMetrics {
  readonly registry: Registry;
  /** Counts one HTTP answer. */
  observeHttp(route: string, status: number): void;
  readonly inFlight: Gauge;
  /** Unsubscribes from the gateway. */
  stop(): void;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createServerMetrics(gateway: Gateway): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const label = (value: string | undefined): string => value ?? "";

  const http = new Counter({ name: "modelgate_http_requests_total", help: "HTTP requests answered, by route and status", labelNames: ["route", "status"], registers });
  const inFlight = new Gauge({ name: "modelgate_http_in_flight", help: "HTTP requests being served (streams included)", registers });
  const requests = new Counter({ name: "modelgate_requests_total", help: "Gateway calls started", labelNames: ["model", "key"], registers });
  const responses = new Counter({
    name: "modelgate_responses_total",
    help: "Gateway calls answered, by model, key, provider, deployment and cache outcome",
    labelNames: ["model", "key", "provider", "deployment", "cache"],
    registers,
  });
  const duration = new Histogram({
    name: "modelgate_request_duration_seconds",
    help: "Gateway call latency to the full answer",
    labelNames: ["model", "provider"],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const tokens = new Counter({ name: "modelgate_tokens_total", help: "Tokens used, by direction", labelNames: ["model", "key", "direction"], registers });
  const cost = new Counter({ name: "modelgate_cost_usd_total", help: "Spend in USD", labelNames: ["model", "key", "provider"], registers });
  const errors = new Counter({ name: "modelgate_errors_total", help: "Gateway calls failed, by error code", labelNames: ["model", "key", "code"], registers });
  const retries = new Counter({ name: "modelgate_retries_total", help: "Attempts retried", labelNames: ["deployment"], registers });
  const fallbacks = new Counter({ name: "modelgate_fallbacks_total", help: "Fallbacks to another model", labelNames: ["from", "to"], registers });
  const cooldowns = new Counter({ name: "modelgate_cooldowns_total", help: "Deployments ejected", labelNames: ["deployment", "reason"], registers });
  const cache = new Counter({ name: "modelgate_cache_total", help: "Cache outcomes", labelNames: ["model", "outcome"], registers });
  const saved = new Counter({ name: "modelgate_cache_saved_usd_total", help: "USD not spent thanks to cache hits", labelNames: ["model"], registers });
  const limits = new Counter({ name: "modelgate_limit_events_total", help: "Rate limit and budget decisions", labelNames: ["scope", "kind", "action"], registers });

  const unsubscribe = [
    gateway.on("request", (event) => requests.inc({ model: event.model, key: label(event.key) })),
    gateway.on("response", (event) => {
      const base = { model: event.model, key: label(event.key) };
      responses.inc({ ...base, provider: event.provider, deployment: event.deployment, cache: event.cache });
      duration.observe({ model: event.model, provider: event.provider }, event.latencyMs / 1000);
      if (event.inputTokens) tokens.inc({ ...base, direction: "input" }, event.inputTokens);
      if (event.outputTokens) tokens.inc({ ...base, direction: "output" }, event.outputTokens);
      if (event.costUsd > 0) cost.inc({ ...base, provider: event.provider }, event.costUsd);
    }),
    gateway.on("error", (event) => errors.inc({ model: event.model, key: label(event.key), code: event.error.code })),
    gateway.on("retry", (event) => retries.inc({ deployment: event.deployment })),
    gateway.on("fallback", (event) => fallbacks.inc({ from: event.from, to: event.to })),
    gateway.on("cooldown", (event) => cooldowns.inc({ deployment: event.deployment, reason: event.reason })),
    gateway.on("cache", (event) => {
      cache.inc({ model: event.model, outcome: event.outcome });
      if (event.savedUsd > 0) saved.inc({ model: event.model }, event.savedUsd);
    }),
    gateway.on("limit", (event) => limits.inc({ scope: event.scope, kind: event.kind, action: event.action })),
  ];

  return {
    registry,
    inFlight,
    observeHttp: (route, status) => http.inc({ route, status: String(status) }),
    stop: () => {
      for (const off of unsubscribe) off();
    },
  };
}
