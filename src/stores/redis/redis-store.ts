import { Redis } from "ioredis";
import type { SharedCacheStore } from "../cache-store.js";
import { toIssues } from "../../core/config-issues.js";
import { ConfigError } from "../../core/errors.js";
import type { CooldownSharing } from "../cooldown-sharing.js";
import type { BudgetSeed, StateStore } from "../store.js";
import { AfterCallBatch } from "./after-call-batch.js";
import { AFTER_CALLS } from "./after-call-scripts.js";
import { LocalFallback } from "./local-fallback.js";
import { redisCacheStore } from "./redis-cache-store.js";
import { RedisCooldowns } from "./redis-cooldowns.js";
import { redisKeys } from "./redis-keys.js";
import { RedisLink, type RedisLinkState } from "./redis-link.js";
import { redisStateStore, ttlOf, type FailurePolicies, type SettlementCounts } from "./redis-state-store.js";
import {
  REDIS_STORE_DEFAULTS,
  redisConnectionSchema,
  redisStoreOptionsSchema,
  type RedisConnection,
  type RedisStoreOptions,
} from "./redis-store-options.js";

/**
 * A fleet's shared state in one object: a `StateStore` (RPM/TPM buckets, budget reservations),
 * the shared tier of the answer cache, and a relay for cooldowns. Give it to every gateway of
 * the fleet as `store`.
 */
export interface RedisStore extends StateStore, SharedCacheStore, CooldownSharing {
  readonly prefix: string;
  /** `up` while commands reach Redis; `down` while the failure policy applies. */
  readonly state: RedisLinkState;
  /** Budget settlements waiting for Redis to come back. */
  readonly pendingSettlements: number;
  /** The link and its settlement backlog, also in `gateway.stats().store`. */
  stats(): RedisStoreStats;
  seedBudgets(seeds: readonly BudgetSeed[], now: number): Promise<void>;
  readonly scope: "shared";
  readonly budgetFailurePolicy: "open" | "closed";
  /** Delivers waiting settlements once more, then closes the connections it opened (never your client). */
  close(): Promise<void>;
}

/** What `redisStore(...).stats()` (and `gateway.stats().store`) reports. */
export type RedisStoreStats = SettlementCounts & { readonly state: RedisLinkState };

/**
 * Shares limits, budgets, the answer cache and cooldowns between the processes of a fleet
 * through Redis (ioredis). Every limit or budget operation is one Lua script, atomic over all
 * the buckets or counters it names, timed by the server's clock; every key has a TTL (except
 * the counters of `period: "total"` budgets, which are meant to last).
 *
 * Failure policy (`onError`, per concern):
 * - `"open"` (default): while Redis is unreachable, limits and budgets are counted in this
 *   process: each process admits up to the full limit (a fleet of N up to N times it) and each
 *   budget up to what is left of it after the shared total this process last saw. Never zero,
 *   never unlimited. Costs settled meanwhile reach Redis when it is back.
 * - `"closed"`: calls are refused with `StoreUnavailableError` (code `store_unavailable`).
 * - The cache misses (get) and skips (set). Cooldowns stay local.
 * No call waits on Redis longer than `commandTimeoutMs` (100 ms); after a failure Redis is not
 * asked for `pauseAfterFailureMs` (1 s), so an outage costs calls nothing after the first. The
 * connection reconnects with backoff (up to 2 s apart) and sharing resumes by itself.
 *
 * @example
 * import { createGateway } from "modelgate";
 * import { redisStore } from "modelgate/redis";
 * const gateway = createGateway({ providers, keys: { app: { rpm: 600 } }, store: redisStore({ url: process.env.REDIS_URL! }) });
 */
export function redisStore(connection: RedisConnection, options: RedisStoreOptions = {}): RedisStore {
  const parsedConnection = redisConnectionSchema.safeParse(connection);
  const parsedOptions = redisStoreOptionsSchema.safeParse(options);
  const issues = [
    ...(parsedConnection.success ? [] : toIssues(parsedConnection.error, ["connection"])),
    ...(parsedOptions.success ? [] : toIssues(parsedOptions.error, ["options"])),
  ];
  if (issues.length > 0) throw new ConfigError(issues);

  const prefix = options.prefix ?? REDIS_STORE_DEFAULTS.prefix;
  const commandTimeoutMs = options.commandTimeoutMs ?? REDIS_STORE_DEFAULTS.commandTimeoutMs;
  const policies = failurePolicies(options.onError);
  const keys = redisKeys(prefix);
  const fallback = new LocalFallback();
  const onStateChange = options.onStateChange;

  const owned = connection.client === undefined;
  const client = connection.client ?? openClient(connection.url);
  // Set once the state store exists; the link tells it when Redis answers again.
  let replayNow = (): void => undefined;
  const link = new RedisLink(client, owned, {
    commandTimeoutMs,
    firstConnectTimeoutMs: options.firstConnectTimeoutMs ?? REDIS_STORE_DEFAULTS.firstConnectTimeoutMs,
    pauseAfterFailureMs: options.pauseAfterFailureMs ?? REDIS_STORE_DEFAULTS.pauseAfterFailureMs,
    onStateChange(state, error) {
      if (state === "down") fallback.restart();
      else replayNow();
      try {
        onStateChange?.(state, error);
      } catch {
        // A logging hook that throws must not break a call.
      }
    },
  });
  // Connection errors of our own client mark the link down at once; without a listener
  // ioredis would also print each one.
  if (owned) client.on("error", (error: unknown) => link.failed(error));

  const onOverflow = options.onOverflow;
  // What calls send once they are over (refunds, settlements, answers to cache), per turn: one script.
  const afterCalls = new AfterCallBatch(link, keys, link.defineScript("after_calls", AFTER_CALLS), ttlOf);
  const state = redisStateStore(link, keys, policies, fallback, afterCalls, (counter) => {
    try {
      onOverflow?.({ counter });
    } catch {
      // A logging hook that throws must not break a call.
    }
  });
  replayNow = state.replayNow;
  // A connection made again (after a restart of Redis) replays at once, not at the next retry.
  client.on("ready", state.replayNow);
  const cache = redisCacheStore(link, keys, options.maxCacheValueBytes ?? REDIS_STORE_DEFAULTS.maxCacheValueBytes, afterCalls);
  const cooldowns = new RedisCooldowns(link, keys.cooldownChannel);
  let closing: Promise<void> | undefined;

  return {
    prefix,
    get state() {
      return link.isDown ? "down" : "up";
    },
    get pendingSettlements() {
      return state.pendingSettlements;
    },
    stats() {
      return { state: link.isDown ? "down" : "up", ...state.counts() };
    },
    consumeTokens: state.consumeTokens,
    peekTokens: state.peekTokens,
    refundTokens: state.refundTokens,
    reserveBudget: state.reserveBudget,
    settleBudget: state.settleBudget,
    seedBudgets: state.seedBudgets,
    readBudgets: state.readBudgets,
    claimOnce: state.claimOnce,
    scope: "shared",
    budgetFailurePolicy: policies.budgets,
    get: cache.get,
    getEntry: cache.getEntry,
    set: cache.set,
    delete: cache.delete,
    shareCooldowns: (apply) => cooldowns.shareCooldowns(apply),
    // Idempotent: a gateway closes its store from the limits and the cache alike.
    close() {
      closing ??= (async () => {
        cooldowns.close();
        client.off("ready", state.replayNow);
        // Refunds, settlements and answers of calls that just ended: sent now, not after the link closed.
        afterCalls.flush();
        await state.close();
        link.close();
      })();
      return closing;
    },
  };
}

function failurePolicies(onError: RedisStoreOptions["onError"]): FailurePolicies {
  const fallback = REDIS_STORE_DEFAULTS.onError;
  if (typeof onError === "string") return { limits: onError, budgets: onError };
  return { limits: onError?.limits ?? fallback, budgets: onError?.budgets ?? fallback };
}

/**
 * Our own connection, tuned so Redis can never hold a call for long: commands fail at once
 * while disconnected (no offline queue); the link times each out after `commandTimeoutMs`
 * (itself, lag-aware, rather than with ioredis's `commandTimeout`); nothing is re-sent after a
 * reconnect (a take re-sent after we gave up on it would count twice); reconnects back off up
 * to 2 s, with jitter so a fleet does not reconnect in lockstep.
 */
function openClient(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    connectTimeout: REDIS_STORE_DEFAULTS.connectTimeoutMs,
    retryStrategy: (attempt: number) =>
      Math.round(Math.min(REDIS_STORE_DEFAULTS.maxReconnectDelayMs, 50 * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2)),
  });
}
