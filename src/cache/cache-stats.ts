/** Counts of the exact tier, in `gateway.stats().cache.exact`. */
export interface ExactCacheStats {
  /** Calls answered from the store. */
  hits: number;
  /** Lookups that found nothing (bypassed and refreshed calls do not look up). */
  misses: number;
  /** hits / (hits + misses), 0 before any lookup. */
  hitRate: number;
  /** Bytes held (keys and values, as UTF-16), at most `cache.exact.maxBytes`. */
  bytes: number;
  entries: number;
  /** Answers pushed out to stay within `maxBytes`. */
  evictions: number;
}

/** Counts of the semantic tier, in `gateway.stats().cache.semantic`. */
export interface SemanticCacheStats {
  hits: number;
  /** Similarity lookups that found nothing close enough. */
  misses: number;
  hitRate: number;
  /** Vectors held, at most `cache.semantic.maxEntries`. */
  entries: number;
  /** Embedding calls that failed or timed out; those calls went on without the semantic tier. */
  embedFailures: number;
}

/**
 * Cache counters since `createGateway`.
 *
 * @example
 * const { cache } = gateway.stats();
 * console.log(`exact hit rate ${(cache?.exact.hitRate ?? 0) * 100}%`);
 */
export interface CacheStats {
  exact: ExactCacheStats;
  /** Present when `cache.semantic` is configured. */
  semantic?: SemanticCacheStats;
  /** Calls answered by an identical call already in flight (single-flight), without a provider call of their own. */
  inflightDeduplicated: number;
}

export function hitRate(hits: number, misses: number): number {
  const lookups = hits + misses;
  return lookups === 0 ? 0 : hits / lookups;
}
