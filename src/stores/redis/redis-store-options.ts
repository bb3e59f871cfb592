import type { Redis } from "ioredis";
import { z } from "zod";
import type { RedisLinkState } from "./redis-link.js";
import type { FailurePolicy } from "./redis-state-store.js";

/** Where the store connects: a URL (the store opens and closes its connections) or your client. */
export type RedisConnection =
  | {
      /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. */
      url: string;
      client?: undefined;
    }
  | {
      /**
       * An ioredis client you own: the store never closes it (it does close the subscriber
       * connection it duplicates from it). The store times its commands out itself
       * (`commandTimeoutMs`); for the same guarantees as with `url`, create it with
       * `enableOfflineQueue: false`, `maxRetriesPerRequest: 1`, `autoResendUnfulfilledCommands: false`.
       */
      client: Redis;
      url?: undefined;
    };

/** Options of `redisStore`. */
export interface RedisStoreOptions {
  /** Put before every key and channel; one per gateway config sharing a Redis (default `modelgate:`). */
  prefix?: string;
  /**
   * What limits and budgets do while Redis cannot be reached (default `"open"`, for both):
   * `"open"` admits and counts in this process, `"closed"` refuses calls with
   * `StoreUnavailableError`. Per concern: `{ limits: "open", budgets: "closed" }`.
   * The cache always just misses.
   */
  onError?: FailurePolicy | { limits?: FailurePolicy; budgets?: FailurePolicy };
  /** Longest a call waits on Redis for one command, in ms (default 100). */
  commandTimeoutMs?: number;
  /**
   * Longest calls wait for the first connection after start, in ms (default 5,000): until
   * then the process has no shared count, and the failure policy would count from zero.
   */
  firstConnectTimeoutMs?: number;
  /** After a failed command, how long Redis is not asked (the policy applies at once), in ms (default 1,000). */
  pauseAfterFailureMs?: number;
  /** Answers larger than this are not stored in Redis, in bytes (default 1 MiB). */
  maxCacheValueBytes?: number;
  /** Told when Redis becomes unreachable (with the error) and when it is back: log or alert on it. */
  onStateChange?: (state: RedisLinkState, error?: unknown) => void;
  /**
   * Told when a budget settlement finds the backlog kept for Redis full (200,000 entries, after
   * a long outage under load): its cost is folded into its counter's total, never dropped, but
   * its hold is left to lapse. Counted in `stats().foldedSettlements`.
   */
  onOverflow?: (info: { counter: string }) => void;
}

/** Defaults, in one place so README and code agree. */
export const REDIS_STORE_DEFAULTS = {
  prefix: "modelgate:",
  onError: "open",
  commandTimeoutMs: 100,
  firstConnectTimeoutMs: 5_000,
  pauseAfterFailureMs: 1_000,
  maxCacheValueBytes: 2 ** 20,
  connectTimeoutMs: 2_000,
  maxReconnectDelayMs: 2_000,
} as const;

const policy = z.enum(["open", "closed"]);
const positiveInt = z.number().int().positive();

const ioredisClient = z.custom<Redis>(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    typeof (value as Redis).defineCommand === "function" &&
    typeof (value as Redis).duplicate === "function",
  "expected an ioredis client (new Redis(...) from 'ioredis')",
);

export const redisConnectionSchema = z.union(
  [z.object({ url: z.string().regex(/^rediss?:\/\//, "expected redis://... or rediss://...") }).strict(), z.object({ client: ioredisClient }).strict()],
  { error: "expected { url: 'redis://host:port' } or { client } with an ioredis client" },
);

export const redisStoreOptionsSchema = z
  .object({
    prefix: z.string().min(1).max(200).optional(),
    onError: z.union([policy, z.object({ limits: policy.optional(), budgets: policy.optional() }).strict()]).optional(),
    commandTimeoutMs: positiveInt.max(60_000).optional(),
    firstConnectTimeoutMs: positiveInt.max(600_000).optional(),
    pauseAfterFailureMs: positiveInt.max(600_000).optional(),
    maxCacheValueBytes: positiveInt.optional(),
    onOverflow: z.custom<(info: { counter: string }) => void>((value) => typeof value === "function", "expected a function ({ counter }) => void").optional(),
    onStateChange: z.custom<(state: RedisLinkState, error?: unknown) => void>((value) => typeof value === "function", "expected a function (state, error) => void").optional(),
  })
  .strict();
