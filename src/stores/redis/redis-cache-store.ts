import type { SharedCacheStore } from "../cache-store.js";
import type { RedisKeys } from "./redis-keys.js";
import type { AfterCallBatch } from "./after-call-batch.js";
import type { RedisLink } from "./redis-link.js";

/** GET and PTTL in one round trip: a tier in front then keeps a copy no longer than Redis does. */
const GET_WITH_TTL = `
local value = redis.call("GET", KEYS[1])
if not value then return false end
return { value, redis.call("PTTL", KEYS[1]) }
`;

/**
 * The answer cache in Redis: string values with a PX TTL under the store's prefix, stored with
 * the other work of the calls that end in the same turn (`AfterCallBatch`). It never
 * fails a call: while Redis is unreachable (or the link is paused after a failure) `get`
 * misses at once and `set` is skipped. Values larger than `maxValueBytes` are not stored.
 * Redis itself bounds the total: run it with `maxmemory` and an eviction policy
 * (`volatile-lru`), as every entry has a TTL.
 */
export function redisCacheStore(link: RedisLink, keys: RedisKeys, maxValueBytes: number, afterCalls: AfterCallBatch): SharedCacheStore {
  const getWithTtl = link.defineScript("cache_get", GET_WITH_TTL);

  async function getEntry(key: string): Promise<{ value: string; ttlMs: number } | undefined> {
    if (!(await link.usable())) return undefined;
    try {
      const reply = await link.run(() => getWithTtl(1, keys.cache(key)));
      if (!Array.isArray(reply) || typeof reply[0] !== "string") return undefined;
      const ttlMs = Number(reply[1]);
      // PTTL is -1 for a key without expiry (set by someone else): treat as just expired.
      return ttlMs > 0 ? { value: reply[0], ttlMs } : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    getEntry,
    async get(key) {
      return (await getEntry(key))?.value;
    },
    async set(key, value, ttlMs) {
      const bytes = Buffer.byteLength(value);
      if (bytes > maxValueBytes) return;
      // With the refunds and settlements of the calls that end in this turn (answers are stored
      // as a call ends); a missed store costs a future hit, never this call.
      await afterCalls.storeAnswer(key, value, ttlMs, bytes);
    },
    async delete(key) {
      if (!(await link.usable())) return;
      try {
        await link.run(() => link.client.del(keys.cache(key)));
      } catch {
        // Expires on its own.
      }
    },
    // The connection belongs to the store as a whole; `redisStore().close()` releases it.
    async close() {},
  };
}
