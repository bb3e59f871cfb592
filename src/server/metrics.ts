import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Gateway } from "../index.js";
import type { ClusterExposition } from "./cluster/cluster-metrics.js";
import { createTally, type Tally } from "./metric-tally.js";

/**
 * Prometheus metrics fed by the gateway's events, in a registry of their own (never
 * prom-client's global one: two handlers in a process must not share or clash). Labels are
 * bounded sets (configured keys, models, deployments, codes); end users are never a label.
 */
export interface ServerMetrics {
  readonly registry: Registry;
  /** The Prometheus text a scrape gets: this registry's, or the whole cluster's under `--workers`. */
  exposition(): Promise<string>;
  /** Counts one HTTP answer. */
  observeHttp(route: string, status: number): void;
  /** Unsubscribes from the gateway. */
  stop(): void;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * `inFlightNow` is read when the registry is scraped (the handler already counts its calls):
 * a gauge moved up and down on every request cost a label hash each way, for a value only a
 * scrape looks at.
 */
export function createServerMetrics(gateway: Gateway, inFlightNow: () => number, cluster?: ClusterExposition): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const label = (value: string | undefined): string => value ?? "";

  /** A counter whose per-request increments are summed in a tally until a scrape. */
  const tallied = (name: string, help: string, labelNames: string[]): Tally => {
    const tally = createTally(labelNames);
    new Counter({ name, help, labelNames, registers, collect() { tally.flush(this); } });
    return tally;
  };
  const http = tallied("modelgate_http_requests_total", "HTTP requests answered, by route and status", ["route", "status"]);
  new Gauge({
    name: "modelgate_http_in_flight",
    help: "HTTP requests being served (streams included)",
    registers,
    collect() {
      this.set(inFlightNow());
    },
  });
  const requests = tallied("modelgate_requests_total", "Gateway calls started", ["model", "key"]);
  const responses = tallied("modelgate_responses_total", "Gateway calls answered, by model, key, provider, deployment and cache outcome", [
    "model",
    "key",
    "provider",
    "deployment",
    "cache",
  ]);
  const duration = new Histogram({
    name: "modelgate_request_duration_seconds",
    help: "Gateway call latency to the full answer",
    labelNames: ["model", "provider"],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const tokens = tallied("modelgate_tokens_total", "Tokens used, by direction", ["model", "key", "direction"]);
  const cost = tallied("modelgate_cost_usd_total", "Spend in USD", ["model", "key", "provider"]);
  const errors = new Counter({ name: "modelgate_errors_total", help: "Gateway calls failed, by error code", labelNames: ["model", "key", "code"], registers });
  const retries = new Counter({ name: "modelgate_retries_total", help: "Attempts retried", labelNames: ["deployment"], registers });
  const fallbacks = new Counter({ name: "modelgate_fallbacks_total", help: "Fallbacks to another model", labelNames: ["from", "to"], registers });
  const cooldowns = new Counter({ name: "modelgate_cooldowns_total", help: "Deployments ejected", labelNames: ["deployment", "reason"], registers });
  const cache = tallied("modelgate_cache_total", "Cache outcomes", ["model", "outcome"]);
  const saved = new Counter({ name: "modelgate_cache_saved_usd_total", help: "USD not spent thanks to cache hits", labelNames: ["model"], registers });
  const limits = new Counter({ name: "modelgate_limit_events_total", help: "Rate limit and budget decisions", labelNames: ["scope", "kind", "action"], registers });

  const unsubscribe = [
    gateway.on("request", (event) => requests.add([event.model, label(event.key)], 1)),
    gateway.on("response", (event) => {
      const key = label(event.key);
      responses.add([event.model, key, event.provider, event.deployment, event.cache], 1);
      duration.observe({ model: event.model, provider: event.provider }, event.latencyMs / 1000);
      if (event.inputTokens) tokens.add([event.model, key, "input"], event.inputTokens);
      if (event.outputTokens) tokens.add([event.model, key, "output"], event.outputTokens);
      if (event.costUsd > 0) cost.add([event.model, key, event.provider], event.costUsd);
    }),
    gateway.on("error", (event) => errors.inc({ model: event.model, key: label(event.key), code: event.error.code })),
    gateway.on("retry", (event) => retries.inc({ deployment: event.deployment })),
    gateway.on("fallback", (event) => fallbacks.inc({ from: event.from, to: event.to })),
    gateway.on("cooldown", (event) => cooldowns.inc({ deployment: event.deployment, reason: event.reason })),
    gateway.on("cache", (event) => {
      cache.add([event.model, event.outcome], 1);
      if (event.savedUsd > 0) saved.inc({ model: event.model }, event.savedUsd);
    }),
    gateway.on("limit", (event) => limits.inc({ scope: event.scope, kind: event.kind, action: event.action })),
  ];

  return {
    registry,
    exposition: cluster ? cluster(registry) : () => registry.metrics(),
    observeHttp: (route, status) => http.add([route, String(status)], 1),
    stop: () => {
      for (const off of unsubscribe) off();
    },
  };
}
