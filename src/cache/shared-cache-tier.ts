import { CACHE_DEFAULTS, type CacheConfig } from "./cache-config.js";
import type { CacheStore } from "../stores/cache-store.js";
import { memoryCacheStore } from "./memory-cache-store.js";
import { isSharedCacheStore } from "../stores/cache-store.js";
import { tieredCacheStore } from "./tiered-cache-store.js";

/**
 * The answer store when the gateway's `store` can also hold answers (`redisStore`): the
 * in-process LRU (bounded by `exact.maxBytes`) in front of it, so a fleet shares answers and
 * each process still serves its own hits without a round trip. Undefined otherwise: the cache
 * then keeps its in-process LRU alone.
 */
export function sharedCacheTier(config: CacheConfig, store: unknown): CacheStore | undefined {
  if (!isSharedCacheStore(store)) return undefined;
  const near = memoryCacheStore({
    maxBytes: config.exact?.maxBytes ?? CACHE_DEFAULTS.maxBytes,
    ttlMs: config.exact?.ttlMs ?? CACHE_DEFAULTS.ttlMs,
  });
  return tieredCacheStore(near, store);
}
