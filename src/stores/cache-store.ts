/** What a store holds right now, for `gateway.stats()`. */
export interface CacheStoreUsage {
  /** Bytes of keys and values as the store counts them. */
  bytes: number;
  entries: number;
  /** Entries pushed out to make room (not counting expiry). */
  evictions: number;
}

/**
 * One tier of answer storage, keyed by a call's exact cache key (a sha256, never a secret)
 * with a serialized answer as value. The in-process LRU is the memory implementation; a shared
 * tier (Redis) implements the same three calls so a fleet of processes can share answers.
 */
export interface CacheStore {
  get(key: string): Promise<string | undefined>;
  /** Stores `value` for `ttlMs`; a store may refuse a value too large for it. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Counts for stats, when the store can tell them cheaply. */
  usage?(): CacheStoreUsage;
  /** Releases what the store holds. */
  close(): Promise<void>;
}

/** A shared tier that can tell how long an entry has left, so a tier in front never outlives it. */
export interface SharedCacheStore extends CacheStore {
  getEntry(key: string): Promise<{ value: string; ttlMs: number } | undefined>;
}

/** Whether a configured store can serve as the shared tier. */
export function isSharedCacheStore(store: unknown): store is SharedCacheStore {
  return (
    typeof store === "object" &&
    store !== null &&
    typeof (store as SharedCacheStore).getEntry === "function" &&
    typeof (store as SharedCacheStore).set === "function"
  );
}
