import type { RouteTable } from "../core/route.js";
import { CACHE_DEFAULTS, type CacheConfig } from "./cache-config.js";
import { CacheKeyMaker, scopePrefix } from "./cache-key.js";
import { hitRate, type CacheStats } from "./cache-stats.js";
import type { CacheStore } from "../stores/cache-store.js";
import { isStorable, parseAnswer, serializeAnswer, type CachedAnswer } from "./cached-answer.js";
import { createEmbedder, type Embedder } from "./embedder.js";
import { memoryCacheStore } from "./memory-cache-store.js";
import { SemanticIndex } from "./semantic-index.js";
import { semanticTextOf } from "./semantic-text.js";
import { SingleFlight, type FlightResult } from "./single-flight.js";
import { replayChunks, responseToChunks } from "./stream-replay.js";
import { AllDeploymentsFailedError, InvalidRequestError, ProviderError, RateLimitError, TimeoutError } from "../core/errors.js";
import type { GatewayEvents } from "../core/events.js";
import type { ProviderAdapter } from "../core/provider-adapter.js";
import type { Middleware } from "../core/compose.js";
import type { CallContext, Served } from "../core/call-context.js";
import { deadlineExceeded } from "../core/deadline.js";
import { withIdentity } from "../core/identity.js";
import { report } from "../core/report.js";
import { whenSettled } from "../core/settle.js";
import { abortReason } from "../core/abortable.js";
import { addUsd } from "../core/cost.js";
import { embeddingCacheKey, embeddingCacheStep } from "./embedding-cache.js";

/** One call's passage from the exact tier to the semantic tier (which runs after limits). */
interface CallCacheState {
  readonly partition: string | undefined;
  readonly semanticText: string | undefined;
  readonly mode: "default" | "refresh";
  /** What the semantic lookup's embedding cost this call. */
  embedCostUsd: number;
  embedding?: Float32Array;
  /** The stored answer's text when the semantic tier served the call. */
  semanticHit?: string;
}

/** A follower whose leader failed for its own reasons follows at most this many flights, then calls alone. */
const MAX_FOLLOW_ROUNDS = 3;

export interface CacheDependencies {
  providers: Readonly<Record<string, ProviderAdapter>>;
  table: RouteTable;
  events: GatewayEvents;
  /** The answer store; the in-process LRU when absent. */
  store?: CacheStore;
}

/** The cache as the gateway holds it: its middleware, its counters, its closer. */
export interface CacheLayer {
  /** The exact tier and single-flight: outside limits, so an exact hit spends no rate limit or budget. */
  readonly middleware: Middleware<CallContext>;
  /**
   * The semantic tier: inside limits and budgets, since its lookup calls an embedding model
   * that bills; budgets reserve the embedding's bound (`reserveExtraUsd`, set by the exact tier)
   * and its actual cost joins the call's (`extraCostUsd`), hit or miss. Undefined without a
   * semantic tier: a step that only calls `next()` still costs every call an async frame.
   */
  readonly semanticMiddleware: Middleware<CallContext> | undefined;
  stats(): CacheStats;
  close(): Promise<void>;
}

interface SemanticTier {
  embedder: Embedder;
  index: SemanticIndex;
  threshold: number;
  /** Floor for a call's own `semanticThreshold`. */
  minThreshold: number;
  maxMessages: number;
}

/**
 * Builds the cache middleware: exact lookup, single-flight, semantic lookup, then the rest of
 * the pipeline; the answer is stored when the call settles (for a stream, when it ended
 * whole). It sits outside limits and the router, so a hit spends no rate limit or budget, and
 * inside spend and telemetry, which see hits too. Throws `ConfigError` when `semantic.embed`
 * names a provider that is missing or cannot embed.
 */
export function createCache(config: CacheConfig, dependencies: CacheDependencies): CacheLayer {
  const { table, events } = dependencies;
  const ttlMs = config.exact?.ttlMs ?? CACHE_DEFAULTS.ttlMs;
  const maxBytes = config.exact?.maxBytes ?? CACHE_DEFAULTS.maxBytes;
  const scope = config.scope ?? CACHE_DEFAULTS.scope;
  const semantic: SemanticTier | undefined = config.semantic && {
    embedder: createEmbedder(config.semantic.embed, dependencies.providers, config.semantic.embedTimeoutMs ?? CACHE_DEFAULTS.embedTimeoutMs, table),
    index: new SemanticIndex(config.semantic.maxEntries ?? CACHE_DEFAULTS.maxEntries, config.semantic.ttlMs ?? ttlMs),
    threshold: config.semantic.threshold,
    minThreshold: config.semantic.minThreshold ?? config.semantic.threshold,
    maxMessages: config.semantic.maxMessages ?? CACHE_DEFAULTS.maxMessages,
  };
  const store = dependencies.store ?? memoryCacheStore({ maxBytes, ttlMs });
  const flights = new SingleFlight();
  const keyMaker = new CacheKeyMaker();
  /** What the exact tier hands the semantic tier for one call, and what the semantic tier found. */
  const calls = new WeakMap<CallContext, CallCacheState>();
  const counts = { exactHits: 0, exactMisses: 0, semanticHits: 0, semanticMisses: 0 };
  let closed = false;

  /** A store that cannot answer (a shared tier down) is a miss, never a failed call. */
  function read(key: string): Promise<string | undefined> {
    return store.get(key).catch(() => undefined);
  }

  /** The deployment that first served a stored answer, so `res.gateway` names it on a hit. */
  function servedBy(answer: CachedAnswer): Served | undefined {
    const route = table.resolve(answer.route);
    const deployment = route?.deployments.find((candidate) => candidate.id === answer.deployment);
    return route && deployment ? { route, deployment } : undefined;
  }

  function serve(ctx: CallContext, answer: CachedAnswer, outcome: "exact" | "semantic", served: Served | undefined): void {
    if (ctx.stream) ctx.chunks = replayChunks(responseToChunks(answer.response));
    else ctx.response = answer.response;
    ctx.cache = outcome;
    // Nothing was generated; what the semantic lookup's embedding cost was still spent.
    ctx.costUsd = ctx.extraCostUsd ?? 0;
    ctx.savedUsd = answer.costUsd;
    if (served) ctx.served = served;
    report(events, ctx, "cache", () => withIdentity(ctx, { outcome, savedUsd: answer.costUsd }));
  }

  /**
   * Waits on an identical call in flight, if any; true when one answered this call. The check
   * for a live flight and the caller's `lead()` after a false must happen in the same tick, or
   * concurrent calls would all see no flight and all lead: hence no `await` before the check.
   */
  function follow(ctx: CallContext, key: string): Promise<boolean> | false {
    const flight = flights.current(key, performance.now());
    if (!flight) return false;
    return flights
      .follow(
        flight,
        ctx.signal,
        ctx.deadline - performance.now(),
        () => deadlineExceeded(ctx),
        () => abortReason(ctx.signal),
      )
      .then((result) => {
        if (result.kind === "error") throw result.error;
        const answer = result.kind === "answer" ? parseAnswer(result.text) : undefined;
        if (result.kind !== "answer" || !answer) return false;
        serve(ctx, answer, result.outcome, result.served);
        return true;
      });
  }

  const middleware: Middleware<CallContext> = async function cache(ctx, next) {
    const mode = ctx.options.cache ?? "default";
    if (mode === "bypass" || !ctx.route.cache) {
      ctx.cache = "bypass";
      return next();
    }
    if (ctx.embedding) {
      const key = embeddingCacheKey(ctx.embedding, ctx.route.name, scopePrefix(scope, ctx.options.key, ctx.options.user));
      return embeddingCacheStep(ctx, ctx.embedding, key, mode === "default", next, {
        store,
        ttlMs,
        table,
        events,
        count: (hit) => (hit ? counts.exactHits++ : counts.exactMisses++),
      });
    }
    const semanticText = semantic ? semanticTextOf(ctx.request, semantic.maxMessages) : undefined;
    const keys = keyMaker.keysFor(ctx.request, ctx.route.name, { scope, key: ctx.options.key, user: ctx.options.user }, semanticText !== undefined);

    if (mode === "default") {
      const stored = await read(keys.exact);
      const answer = stored === undefined ? undefined : parseAnswer(stored);
      if (answer) {
        counts.exactHits++;
        serve(ctx, answer, "exact", servedBy(answer));
        return;
      }
      counts.exactMisses++;
      for (let round = 0; round < MAX_FOLLOW_ROUNDS; round++) {
        const followed = follow(ctx, keys.exact);
        if (followed === false) break;
        if (await followed) return;
      }
    }

    // Lead a flight unless one is live (a refresh, or a follower out of rounds, calls alone).
    // A stream leads none: its flight would land only when its consumer reads it to the end,
    // and a consumer that awaits two identical streams before reading either would deadlock.
    const flight =
      ctx.stream || flights.current(keys.exact, performance.now()) ? undefined : flights.lead(keys.exact, ctx.deadline);
    const state: CallCacheState = { partition: keys.partition, semanticText, mode, embedCostUsd: 0 };
    // Only the semantic tier reads it (a WeakMap entry is an ephemeron the GC must trace).
    if (semantic) calls.set(ctx, state);
    // The semantic tier will embed this text inside the limits: budgets reserve its cost up front.
    if (semantic && semanticText !== undefined && keys.partition !== undefined) {
      ctx.reserveExtraUsd = addUsd(ctx.reserveExtraUsd ?? 0, semantic.embedder.maxCostUsd(semanticText));
    }
    try {
      await next();
    } catch (error) {
      if (flight) flights.land(flight, failureForFollowers(error));
      throw error;
    }
    if (state.semanticHit !== undefined) {
      // The semantic tier answered (after limits admitted the call): followers get that answer.
      if (flight) flights.land(flight, { kind: "answer", text: state.semanticHit, outcome: "semantic", served: ctx.served });
      return;
    }

    whenSettled(ctx, (settlement) => {
      const response = settlement.error === undefined && !settlement.abandoned ? settlement.response : undefined;
      if (!response) {
        // No whole answer (a failed call, or a stream that broke or was abandoned): nothing to
        // store; followers, if any, have received nothing and try again.
        if (flight) flights.land(flight, { kind: "rerun" });
        return;
      }
      const served = settlement.served;
      const text = serializeAnswer({
        response,
        // What the answer cost, without the lookup's embedding: a later hit saves the answer, not the lookup.
        costUsd: Math.max(0, addUsd(settlement.costUsd, -state.embedCostUsd)),
        route: served?.route.name ?? ctx.route.name,
        deployment: served?.deployment.id ?? "",
      });
      const embedding = state.embedding;
      if (isStorable(response, ctx.request.n ?? 1)) {
        const stored = store.set(keys.exact, text, ttlMs);
        const partition = keys.partition;
        if (semantic && embedding && partition !== undefined) {
          stored.then(() => {
            // Indexed only once stored, so a match never points at an answer not there yet.
            if (!closed) semantic.index.add(partition, keys.exact, embedding);
          }, ignoreStoreFailure);
        } else {
          // Without a vector to index, no callback of its own per call.
          stored.catch(ignoreStoreFailure);
        }
      }
      // Followers get the answer even when it is not stored (cut by `length`): they asked the same.
      if (flight) flights.land(flight, { kind: "answer", text, outcome: "exact", served });
    });
  };

  const semanticMiddleware: Middleware<CallContext> = async function semanticCache(ctx, next) {
    const state = calls.get(ctx);
    if (!semantic || !state || state.semanticText === undefined || state.partition === undefined) return next();
    const embedded = await semantic.embedder.embed(state.semanticText, ctx.signal);
    if (embedded && embedded.costUsd > 0) {
      // Billed whether or not it finds a match: the call's record and budget carry it.
      state.embedCostUsd = embedded.costUsd;
      ctx.extraCostUsd = addUsd(ctx.extraCostUsd ?? 0, embedded.costUsd);
    }
    state.embedding = embedded?.vector;
    if (embedded && state.mode === "default") {
      const hit = await semanticLookup(semantic, state.partition, embedded.vector, ctx.options.semanticThreshold);
      if (hit) {
        counts.semanticHits++;
        serve(ctx, hit.answer, "semantic", servedBy(hit.answer));
        state.semanticHit = hit.text;
        return;
      }
      counts.semanticMisses++;
    }
    return next();
  };

  async function semanticLookup(
    tier: SemanticTier,
    partition: string,
    embedding: Float32Array,
    requested: number | undefined,
  ): Promise<{ answer: CachedAnswer; text: string } | undefined> {
    // A call may be stricter than the config, or looser down to the configured floor, never below.
    const threshold = Math.max(tier.minThreshold, requested ?? tier.threshold);
    const match = tier.index.search(partition, embedding, threshold);
    if (!match) return undefined;
    const text = await read(match.id);
    const answer = text === undefined ? undefined : parseAnswer(text);
    if (text === undefined || !answer) {
      // The answer expired or was evicted from the store: the vector is useless now.
      tier.index.delete(match.id);
      return undefined;
    }
    return { answer, text };
  }

  return {
    middleware,
    semanticMiddleware: semantic ? semanticMiddleware : undefined,
    stats() {
      const usage = store.usage?.() ?? { bytes: 0, entries: 0, evictions: 0 };
      const stats: CacheStats = {
        exact: { hits: counts.exactHits, misses: counts.exactMisses, hitRate: hitRate(counts.exactHits, counts.exactMisses), ...usage },
        inflightDeduplicated: flights.deduplicated,
      };
      if (semantic) {
        stats.semantic = {
          hits: counts.semanticHits,
          misses: counts.semanticMisses,
          hitRate: hitRate(counts.semanticHits, counts.semanticMisses),
          entries: semantic.index.size,
          embedFailures: semantic.embedder.failures,
        };
      }
      return stats;
    },
    async close() {
      closed = true;
      flights.clear();
      semantic?.index.clear();
      await store.close();
    },
  };
}

/** A store that cannot take an answer costs a future hit, never the call that had it. */
function ignoreStoreFailure(): void {}

/**
 * What followers of a failed leader get. When the providers failed (after the router's
 * retries and fallbacks), another try now would fail the same way: followers get the error.
 * When the leader failed for its own reasons (its abort or deadline, its key's or user's
 * limits, the gateway closing), followers try again, one of them leading.
 */
function failureForFollowers(error: unknown): FlightResult {
  const shared =
    error instanceof ProviderError ||
    error instanceof AllDeploymentsFailedError ||
    error instanceof InvalidRequestError ||
    (error instanceof RateLimitError && error.scope === "deployment");
  return shared ? { kind: "error", error } : { kind: "rerun" };
}

