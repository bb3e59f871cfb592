import { setMaxListeners } from "node:events";
import type { z } from "zod";
import type { AttemptContext } from "../core/attempt-context.js";
import type { CallContext } from "../core/call-context.js";
import { compose, type Middleware } from "../core/compose.js";
import type { PromptCounter } from "../core/settle.js";
import type { GatewayError } from "../core/errors.js";
import { GatewayEvents } from "../core/events.js";
import { createDeprecationWarnings } from "./deprecation-warnings.js";
import { declaredDeployments, type RouteTable } from "../core/route.js";
import { DEFAULTS } from "../config/defaults.js";
import type { gatewayConfigSchema } from "../config/schema.js";
import { createAlerts, type AlertsReader, type AlertStats, type BudgetsReader } from "../alerts/alerts.js";
import { createCache } from "../cache/cache-middleware.js";
import type { CacheStats } from "../cache/cache-stats.js";
import { sharedCacheTier } from "../cache/shared-cache-tier.js";
import { createAccess } from "../limits/access.js";
import { budgetCounter, keyScopeId, userScopeId } from "../limits/budget-counter.js";
import { periodWindow } from "../limits/budget-period.js";
import { forward } from "../routing/forward.js";
import { HealthTracker } from "../routing/health.js";
import { joinCooldownSharing } from "../routing/join-cooldown-sharing.js";
import { createRouter } from "../routing/router.js";
import { HedgeStats, type HedgeRouteStats } from "../routing/hedge.js";
import type { SpendReporter } from "../spend/spend-ledger.js";
import { createSpend } from "../spend/spend-middleware.js";
import type { SpendConfig } from "../spend/spend-schema.js";
import { memoryStore } from "../stores/memory-store.js";
import type { StateStore, StoreStats } from "../stores/store.js";
import { createAttemptTelemetry } from "../telemetry/attempt-telemetry.js";
import { createTelemetryMiddleware } from "../telemetry/call-telemetry.js";
import { GatewayTelemetry } from "../telemetry/gateway-telemetry.js";
import { readEnvironment } from "../telemetry/read-environment.js";
import { createLimitStack } from "./limit-stack.js";
import { BudgetSeeder } from "./budget-seeder.js";

/** What `gateway.stats()` returns; a section is present when its feature is configured. */
export interface GatewayStats {
  /** Hits, misses, bytes and evictions per cache tier, and calls de-duplicated in flight. */
  cache?: CacheStats;
  /** The state store's own counts, when it keeps any (redisStore: `state`, `pendingSettlements`, `foldedSettlements`). */
  store?: StoreStats;
  /** Per hedged route: calls, hedges started, hedges that answered first, hedges over budget. */
  hedge?: Record<string, HedgeRouteStats>;
  /** Budget alerts and anomalies fired, users evicted from tracking, webhook deliveries. */
  alerts?: AlertStats;
}

/** The validated config, as `gatewayConfigSchema` parses it. */
export type GatewaySettings = z.output<typeof gatewayConfigSchema>;

/**
 * A spend store that is also the gateway's `store` is lent to the ledger without its `close`:
 * the gateway closes the store itself, once, after the ledger's last delivery.
 */
function lendStore(spend: SpendConfig | undefined, store: StateStore | undefined): SpendConfig | undefined {
  const own = spend?.store;
  if (own === undefined || own !== (store as unknown)) return spend;
  return { ...spend, store: { append: (records) => own.append(records), report: (query) => own.report(query) } };
}

/** What the gateway wires from a config: the call pipeline and what it needs to be run and closed. */
export interface Pipeline {
  /** Runs one call through every configured middleware and the router. */
  run(ctx: CallContext): Promise<void>;
  /** The gateway's one prompt counter, set on every call's context. */
  readonly countPrompt: PromptCounter;
  readonly table: RouteTable;
  readonly events: GatewayEvents;
  readonly health: HealthTracker;
  /** The default deadline over a call's retries and fallbacks. */
  readonly deadlineMs: number;
  /** Aborts when the pipeline closes; calls without a signal of their own wait on it. */
  readonly closeSignal: AbortSignal;
  readonly spend: SpendReporter;
  readonly budgets: BudgetsReader;
  readonly alerts: AlertsReader;
  stats(): GatewayStats;
  /** Aborts everything in flight (retries, queues, attempts) with `reason`. */
  abort(reason: GatewayError): void;
  /** Closes every feature and the store; call after `abort`. */
  close(): Promise<void>;
}

/**
 * Wires the middleware a config asks for, outermost first, around the router, and the attempt
 * middleware around `forward`. Each feature registers at its slot; the order is the design.
 */
export function buildPipeline(settings: GatewaySettings, table: RouteTable): Pipeline {
  const closeController = new AbortController();
  // Every call without a signal of its own waits on this one (backoff sleeps, queue waits,
  // single-flight followers), each listener removed when its wait ends: many at once is
  // concurrency, not a leak, so Node's warning past 10 would only be noise.
  setMaxListeners(0, closeController.signal);
  const events = new GatewayEvents();
  const health = new HealthTracker({ ...DEFAULTS.cooldown, ...settings.cooldown });
  const retry = { ...DEFAULTS.retry, ...settings.retry };
  const deadlineMs = settings.deadlineMs ?? DEFAULTS.deadlineMs;

  // Call middleware, outermost first; each has one job (docs/architecture.md). The order matters:
  // telemetry sees everything; spend records cache hits too; access is checked before the
  // cache can answer. None depends on another at the end: the call's outcome (usage, cost,
  // cache, served) is computed once when it settles (core/settle.ts) and handed to each.
  const callMiddleware: Middleware<CallContext>[] = [];
  // Attempt middleware wrap each provider attempt, around forward.
  const attemptMiddleware: Middleware<AttemptContext>[] = [];
  const closers: (() => Promise<void> | void)[] = [];
  // [slot: telemetry]
  const telemetry = new GatewayTelemetry(settings.telemetry, readEnvironment("OTEL_SEMCONV_STABILITY_OPT_IN"));
  callMiddleware.push(createTelemetryMiddleware(telemetry, events));
  attemptMiddleware.push(createAttemptTelemetry(telemetry));
  // [slot: deprecation] the first attempt on a deprecated catalog model warns, once per gateway.
  attemptMiddleware.push(createDeprecationWarnings(events));
  closers.push(telemetry.subscribe(events));
  const controlPlane = settings.controlPlane;
  // Runtime keys of the control plane, after the config's static keys (those win a name).
  const runtimeKey = controlPlane
    ? (name: string) => (settings.keys && Object.hasOwn(settings.keys, name) ? undefined : controlPlane.keys.get(name))
    : undefined;
  // [slot: spend] alerts read each settled record here: off the call path, O(1) per call.
  // Budgets and their alerts read the store's counters (fleet-wide with Redis) once it exists.
  let budgetStore: StateStore | undefined;
  const alerts = createAlerts({
    config: settings.alerts,
    keys: settings.keys,
    users: settings.users,
    events,
    periodWindow,
    shared: {
      store: () => budgetStore,
      alertsFromStore: settings.store !== undefined,
      counterOf: (scope, key, user, budget, now) =>
        budgetCounter(scope === "key" ? keyScopeId(key!) : userScopeId(key, user!), budget, periodWindow(budget.period, now)),
    },
  });
  // With a control plane and no store of the user's own, records go to its durable ledger and
  // reports are SQL over every gateway on the database.
  const spendConfig = controlPlane && !settings.spend?.store ? { ...settings.spend, store: controlPlane.spend } : lendStore(settings.spend, settings.store);
  const spend = createSpend(spendConfig, Date.now, (record) => alerts.observe(record));
  callMiddleware.push(spend.middleware);
  // The control plane is the gateway's, like the store: closed once the ledger handed it every
  // record (in order: the ledger's last delivery goes through it).
  // Alerts close after the ledger's last records reached them, and before the store their
  // budget checks read (the store's closer waits for this).
  let spendAndAlertsClosed: Promise<void> | undefined;
  closers.push(
    () =>
      (spendAndAlertsClosed = (async () => {
        try {
          await spend.close();
        } finally {
          try {
            await alerts.close();
          } finally {
            await controlPlane?.close();
          }
        }
      })()),
  );
  // [slot: access]
  if (settings.keys || runtimeKey) callMiddleware.push(createAccess(settings.keys ?? {}, runtimeKey));
  // [slot: cache]
  // A `store` that can hold answers (redisStore) becomes the shared tier behind the LRU.
  const cacheStore = settings.cache ? sharedCacheTier(settings.cache, settings.store) : undefined;
  let cache: ReturnType<typeof createCache> | undefined;
  try {
    cache = settings.cache ? createCache(settings.cache, { providers: settings.providers, table, events, store: cacheStore }) : undefined;
  } catch (error) {
    // The cache refuses a config it can only judge now (an embedder naming a provider that
    // cannot embed): what was built before it must not keep timers or subscriptions alive.
    for (const close of closers) void Promise.resolve().then(close).catch(() => {});
    throw error;
  }
  if (cache) {
    callMiddleware.push(cache.middleware);
    closers.push(() => cache.close());
  }
  // [slot: limits]
  // The state store (buckets, budgets) is the gateway's: made here, after anything above that
  // may refuse the config, and closed by the gateway alone.
  const store = settings.store ?? memoryStore();
  budgetStore = store;
  // Budgets start from what the ledger says was spent in their period (restarts, new gateways).
  const seeder = controlPlane
    ? new BudgetSeeder({
        controlPlane,
        store,
        staticKeys: settings.keys ?? {},
        users: settings.users,
        timeoutMs: settings.controlPlaneTimeoutMs ?? DEFAULTS.controlPlaneTimeoutMs,
        now: Date.now,
      })
    : undefined;
  const limits = createLimitStack({
    keys: settings.keys,
    users: settings.users,
    onLimit: settings.onLimit,
    store,
    table,
    events,
    runtimeKey,
    budgetSeeding: seeder,
  });
  callMiddleware.push(...limits.callMiddleware);
  attemptMiddleware.push(...limits.attemptMiddleware);
  // [slot: semantic cache] after limits and budgets admitted the call: its lookup embeds, which bills.
  if (cache?.semanticMiddleware) callMiddleware.push(cache.semanticMiddleware);
  // [slot: cooldown sharing] a `store` that relays cooldowns (redisStore) shares ejections.
  const cooldownShare = joinCooldownSharing(settings.store, health, declaredDeployments(table));
  if (cooldownShare) closers.unshift(() => cooldownShare.leave());

  const runAttempt = compose(attemptMiddleware, forward);
  const hedgeStats = new HedgeStats();
  const router = createRouter({
    table,
    health,
    events,
    retries: retry.retries,
    minDelayMs: retry.minDelayMs,
    maxDelayMs: retry.maxDelayMs,
    timeoutMs: settings.timeoutMs ?? DEFAULTS.timeoutMs,
    streamIdleTimeoutMs: settings.streamIdleTimeoutMs ?? DEFAULTS.streamIdleTimeoutMs,
    runAttempt,
    closeSignal: closeController.signal,
    hedgeStats,
  });
  const pipeline = compose(callMiddleware, router);
  // The store is the gateway's: features use it, only the gateway closes it, once, last in line.
  closers.push(async () => {
    await spendAndAlertsClosed?.catch(() => undefined);
    await store.close();
  });

  return {
    run: pipeline,
    countPrompt: limits.countPrompt,
    table,
    events,
    health,
    deadlineMs,
    closeSignal: closeController.signal,
    spend: spend.reporter,
    budgets: alerts.budgets,
    alerts: alerts.alerts,
    stats() {
      const stats: GatewayStats = { alerts: alerts.stats() };
      if (cache) stats.cache = cache.stats();
      if (store.stats) stats.store = store.stats();
      if ([...table.routes.values()].some((route) => route.hedge)) stats.hedge = hedgeStats.snapshot();
      return stats;
    },
    abort(reason) {
      closeController.abort(reason);
    },
    async close() {
      events.clear();
      // Each closer runs even when one before it fails: a throwing spend store must not keep
      // a Redis connection open. The first failure is reported once all have run.
      const results = await Promise.allSettled(closers.map((close) => Promise.resolve().then(close)));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
      if (failed) throw failed.reason;
    },
  };
}

