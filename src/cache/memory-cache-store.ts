import { LRUCache } from "lru-cache";
import type { CacheStore, CacheStoreUsage } from "../stores/cache-store.js";

/** Per-entry bookkeeping lru-cache and a Map spend besides key and value, roughly. */
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * The in-process tier: an LRU bounded by bytes (keys and values counted as UTF-16, 2 bytes a
 * code unit, an upper bound on what V8 holds) and by age. Expired entries are dropped when
 * read or pushed out by newer ones, never by a timer per entry.
 */
export function memoryCacheStore(options: { maxBytes: number; ttlMs: number }): CacheStore {
  let evictions = 0;
  const lru = new LRUCache<string, string>({
    maxSize: options.maxBytes,
    sizeCalculation: (value, key) => (value.length + key.length) * 2 + ENTRY_OVERHEAD_BYTES,
    ttl: options.ttlMs,
    ttlAutopurge: false,
    updateAgeOnGet: false,
    dispose: (_value, _key, reason) => {
      if (reason === "evict") evictions++;
    },
  });
  return {
    async get(key) {
      return lru.get(key);
    },
    async set(key, value, ttlMs) {
      lru.set(key, value, { ttl: ttlMs });
    },
    async delete(key) {
      lru.delete(key);
    },
    usage(): CacheStoreUsage {
      return { bytes: lru.calculatedSize, entries: lru.size, evictions };
    },
    async close() {
      lru.clear();
    },
  };
}
