import type { CacheStore, CacheStoreUsage, SharedCacheStore } from "../stores/cache-store.js";

/**
 * Two tiers: the in-process LRU (`near`) in front of a shared store (`shared`, Redis). A read
 * tries near first (no network), then shared, and copies a shared hit into near for the time
 * it has left there; a write goes to both. Entries are immutable (keyed by the request's hash),
 * so the near copy is never stale, only possibly evicted earlier. When the shared tier is down,
 * near still answers for what this process stored itself. Closing closes near only: the shared
 * store is owned by whoever configured it (the gateway's `store`).
 */
export function tieredCacheStore(near: CacheStore, shared: SharedCacheStore): CacheStore {
  return {
    async get(key) {
      const local = await near.get(key);
      if (local !== undefined) return local;
      const entry = await shared.getEntry(key);
      if (!entry) return undefined;
      await near.set(key, entry.value, entry.ttlMs);
      return entry.value;
    },
    async set(key, value, ttlMs) {
      await Promise.all([near.set(key, value, ttlMs), shared.set(key, value, ttlMs)]);
    },
    async delete(key) {
      await Promise.all([near.delete(key), shared.delete(key)]);
    },
    usage(): CacheStoreUsage {
      return near.usage?.() ?? { bytes: 0, entries: 0, evictions: 0 };
    },
    close() {
      return near.close();
    },
  };
}
