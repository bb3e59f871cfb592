import { setMaxListeners } from "node:events";
import type { ChatRequest } from "./contract/chat-request.js";
import { chatRequestSchema } from "./contract/chat-request.js";
import { chatOptionsSchema } from "./contract/chat-options.js";
import type { GatewayChatResponse, GatewayInfo } from "./contract/chat-response.js";
import { ChatStream } from "./chat-stream.js";
import { DEFAULTS } from "./config/defaults.js";
import { toIssues } from "./config/issues.js";
import { checkKeyModels } from "./config/check-key-models.js";
import { checkBudgetPrices } from "./config/check-budget-prices.js";
import { buildRouteTable, declaredDeployments, type ModelFactsLookup, type RouteTable } from "./config/resolve-routes.js";
import { gatewayConfigSchema, type GatewayConfigInput } from "./config/schema.js";
import { AbortError, ConfigError, GatewayClosedError, GatewayError, InvalidRequestError, type Issue } from "./errors.js";
import { GatewayEvents, type GatewayEventListener, type GatewayEventName } from "./events.js";
import { createRouter } from "./middleware/router.js";
import { createAccess } from "./middleware/access.js";
import { createSpend } from "./middleware/spend.js";
import { createLimitStack } from "./limits/limit-stack.js";
import { createPriceBook, type PriceBook } from "./cost/model-catalog.js";
import type { SpendReporter } from "./spend/spend-ledger.js";
import { createTelemetryMiddleware } from "./middleware/telemetry.js";
import { createAttemptTelemetry } from "./middleware/attempt-telemetry.js";
import { GatewayTelemetry } from "./telemetry/gateway-telemetry.js";
import { readEnvironment } from "./telemetry/read-environment.js";
import { createCache } from "./middleware/cache.js";
import { sharedCacheTier } from "./cache/shared-cache-tier.js";
import { joinCooldownSharing } from "./routing/join-cooldown-sharing.js";
import type { CacheStats } from "./cache/cache-stats.js";
import type { AttemptContext } from "./pipeline/attempt-context.js";
import { compose, type Middleware } from "./pipeline/compose.js";
import { settlementAccumulatorOf, whenSettled } from "./pipeline/settle.js";
import type { CallContext, ChatOptions } from "./pipeline/context.js";
import { forward } from "./routing/forward.js";
import { HealthTracker, type DeploymentHealth } from "./routing/health.js";

/** The config `createGateway` takes; see the README's config reference. */
export type GatewayConfig = GatewayConfigInput;

/** A request body: the OpenAI chat-completions request. */
export type ChatBody = ChatRequest;

export interface Gateway {
  /**
   * Serves an OpenAI chat-completions request through routing, retries, fallbacks, limits,
   * cache and telemetry. Resolves to a `ChatCompletion` with `.gateway`, or a `ChatStream`
   * when `stream: true`.
   */
  chat(body: ChatBody & { stream: true }, options?: ChatOptions): Promise<ChatStream>;
  chat(body: ChatBody & { stream?: false | undefined }, options?: ChatOptions): Promise<GatewayChatResponse>;
  chat(body: ChatBody, options?: ChatOptions): Promise<GatewayChatResponse | ChatStream>;
  /** Health of every declared deployment: state, recent failures, latency EWMA, in flight. */
  health(): DeploymentHealth[];
  /** Subscribes to an event; returns a function that unsubscribes. */
  on<Name extends GatewayEventName>(name: Name, listener: GatewayEventListener<Name>): () => void;
  off<Name extends GatewayEventName>(name: Name, listener: GatewayEventListener<Name>): void;
  /** Aborts calls in flight, releases timers and stores. Further calls throw `GatewayClosedError`. */
  close(): Promise<void>;
  /** Who spent what: `gateway.spend.report({ by: "user", since })`, costliest first. */
  spend: SpendReporter;
  /** Counters since `createGateway`, one section per configured feature. */
  stats(): GatewayStats;
}

/** What `gateway.stats()` returns; a section is present when its feature is configured. */
export interface GatewayStats {
  /** Hits, misses, bytes and evictions per cache tier, and calls de-duplicated in flight. */
  cache?: CacheStats;
}

/**
 * Builds a gateway from a config, validated at once: a bad config throws `ConfigError`
 * listing every bad path.
 *
 * @example
 * const gateway = createGateway({ providers: { openai: openai() }, models: { fast: "openai/gpt-4o-mini" } });
 * const res = await gateway.chat({ model: "fast", messages: [{ role: "user", content: "Hi" }] });
 */
export function createGateway(config: GatewayConfig): Gateway {
  const parsed = gatewayConfigSchema.safeParse(config);
  if (!parsed.success) throw new ConfigError(toIssues(parsed.error));
  const settings = parsed.data;
  const issues: Issue[] = [];
  const table: RouteTable = buildRouteTable(settings.providers, settings.models ?? {}, factsFrom(createPriceBook(settings.prices)), issues);
  checkKeyModels(settings.keys, table, issues);
  const budgetsConfigured =
    settings.users?.budget !== undefined || Object.values(settings.keys ?? {}).some((key) => key.budget !== undefined);
  checkBudgetPrices(budgetsConfigured, table, issues);
  if (issues.length > 0) throw new ConfigError(issues);

  const closeController = new AbortController();
  // Every call without a signal of its own waits on this one (backoff sleeps, queue waits,
  // single-flight followers), each listener removed when its wait ends: many at once is
  // concurrency, not a leak, so Node's warning past 10 would only be noise.
  setMaxListeners(0, closeController.signal);
  const events = new GatewayEvents();
  const health = new HealthTracker({ ...DEFAULTS.cooldown, ...settings.cooldown });
  const retry = { ...DEFAULTS.retry, ...settings.retry };
  const deadlineMs = settings.deadlineMs ?? DEFAULTS.deadlineMs;

  // Call middleware, outermost first; each has one job (README: Architecture). The order matters:
  // telemetry sees everything; spend records cache hits too; access is checked before the
  // cache can answer; cost is settled innermost, so the cache can store what an answer cost.
  const callMiddleware: Middleware<CallContext>[] = [];
  // Attempt middleware wrap each provider attempt, around forward.
  const attemptMiddleware: Middleware<AttemptContext>[] = [];
  const closers: (() => Promise<void> | void)[] = [];
  // [slot: telemetry]
  const telemetry = new GatewayTelemetry(settings.telemetry, readEnvironment("OTEL_SEMCONV_STABILITY_OPT_IN"));
  callMiddleware.push(createTelemetryMiddleware(telemetry, events));
  attemptMiddleware.push(createAttemptTelemetry(telemetry));
  closers.push(telemetry.subscribe(events));
  // [slot: spend]
  const spend = createSpend(settings.spend);
  callMiddleware.push(spend.middleware);
  closers.push(() => spend.close());
  // [slot: access]
  if (settings.keys) callMiddleware.push(createAccess(settings.keys));
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
  const limits = createLimitStack({ keys: settings.keys, users: settings.users, onLimit: settings.onLimit, store: settings.store, table, events });
  callMiddleware.push(...limits.callMiddleware);
  attemptMiddleware.push(...limits.attemptMiddleware);
  closers.push(() => limits.close());
  // [slot: cooldown sharing] a `store` that relays cooldowns (redisStore) shares ejections.
  const cooldownShare = joinCooldownSharing(settings.store, health, events, declaredDeployments(table));
  if (cooldownShare) closers.unshift(() => cooldownShare.leave());

  const runAttempt = compose(attemptMiddleware, forward);
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
  });
  const pipeline = compose(callMiddleware, router);

  function gatewayInfo(ctx: CallContext): GatewayInfo {
    const served = ctx.served;
    return {
      provider: served?.deployment.provider ?? "",
      deployment: served?.deployment.id ?? "",
      model: served?.deployment.model ?? "",
      route: served?.route.name ?? ctx.route.name,
      attempts: ctx.attempts,
      cache: ctx.cache,
      costUsd: ctx.costUsd,
      savedUsd: ctx.savedUsd,
      latencyMs: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
    };
  }

  /** Calls that carry a caller's signal, so `close()` reaches them without a listener each. */
  const linkedCalls = new Set<AbortController>();

  async function chat(body: ChatBody, options?: ChatOptions): Promise<GatewayChatResponse | ChatStream> {
    if (closeController.signal.aborted) throw new GatewayClosedError();
    const startedAt = performance.now();
    const request = parseRequest(body);
    const callOptions = options === undefined ? NO_OPTIONS : parseOptions(options);
    const route = table.resolve(request.model);
    if (!route) throw unknownModel(request.model, table, Object.keys(settings.providers));
    // Before anything records the key (spans, events): an unknown one may be a pasted secret.
    if (settings.keys && callOptions.key !== undefined && !Object.hasOwn(settings.keys, callOptions.key)) throw unknownKey();

    // Not AbortSignal.any: on Node 20 each one stays attached to the long-lived close signal
    // (nodejs/node#55351), a leak per call. One controller per call that has a signal instead.
    let signal = closeController.signal;
    let unlink: (() => void) | undefined;
    const callerSignal = callOptions.signal;
    if (callerSignal) {
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(callerSignal.reason instanceof GatewayError ? callerSignal.reason : new AbortError());
      if (callerSignal.aborted) onAbort();
      else callerSignal.addEventListener("abort", onAbort, { once: true });
      linkedCalls.add(controller);
      unlink = () => {
        callerSignal.removeEventListener("abort", onAbort);
        linkedCalls.delete(controller);
      };
      signal = controller.signal;
    }
    const ctx: CallContext = {
      request,
      options: callOptions,
      route,
      stream: request.stream === true,
      signal,
      startedAt,
      deadline: startedAt + (callOptions.deadlineMs ?? deadlineMs),
      attempts: [],
      cache: "miss",
      costUsd: 0,
      savedUsd: 0,
    };
    try {
      await pipeline(ctx);
    } catch (error) {
      unlink?.();
      throw error;
    }
    if (ctx.chunks) {
      if (unlink) whenSettled(ctx, unlink);
      const chunks = ctx.chunks!;
      // The call's settlement tap already assembles every chunk the stream hands out: reuse it.
      const stream = new ChatStream(chunks[Symbol.asyncIterator](), () => gatewayInfo(ctx), settlementAccumulatorOf(chunks));
      ctx.abandonStream = (reason) => void stream.abort(reason);
      return stream;
    }
    unlink?.();
    if (!ctx.response) throw new Error("modelgate: the pipeline finished without a response (a middleware bug)");
    return { ...ctx.response, gateway: gatewayInfo(ctx) };
  }

  return {
    chat: chat as Gateway["chat"],
    health: () => health.report(declaredDeployments(table)),
    spend: spend.reporter,
    stats() {
      const stats: GatewayStats = {};
      if (cache) stats.cache = cache.stats();
      return stats;
    },
    on: (name, listener) => events.on(name, listener),
    off: (name, listener) => events.off(name, listener),
    async close() {
      if (closeController.signal.aborted) return;
      const closed = new GatewayClosedError();
      closeController.abort(closed);
      for (const controller of linkedCalls) controller.abort(closed);
      events.clear();
      // Each closer runs even when one before it fails: a throwing spend store must not keep
      // a Redis connection open. The first failure is reported once all have run.
      const results = await Promise.allSettled(closers.map((close) => Promise.resolve().then(close)));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
      if (failed) throw failed.reason;
    },
  };
}

/** A call without options: parsed once, shared by every such call. */
const NO_OPTIONS: ChatOptions = Object.freeze({});

function unknownKey(): InvalidRequestError {
  return new InvalidRequestError(
    [{ path: "options.key", message: "is not a configured key (see `keys` in the gateway config)" }],
    "Invalid chat options:",
  );
}

function parseRequest(body: unknown): ChatRequest {
  const parsed = chatRequestSchema.safeParse(body);
  if (!parsed.success) throw new InvalidRequestError(toIssues(parsed.error));
  return parsed.data;
}

function parseOptions(options: unknown): ChatOptions {
  const parsed = chatOptionsSchema.safeParse(options);
  if (!parsed.success) throw new InvalidRequestError(toIssues(parsed.error, ["options"]), "Invalid chat options:");
  return parsed.data;
}

function unknownModel(model: string, table: RouteTable, providers: string[]): InvalidRequestError {
  const declared = [...table.routes.keys()];
  return new InvalidRequestError([
    {
      path: "model",
      message: `'${model}' is not a declared model (have: ${declared.join(", ") || "none"}) nor 'provider/model' with a configured provider (have: ${providers.join(", ")})`,
    },
  ]);
}

/** Catalog facts with the config's `prices` on top, for the route table. */
function factsFrom(prices: PriceBook): ModelFactsLookup {
  return (provider, model) => prices.factsOf(model, provider);
}
