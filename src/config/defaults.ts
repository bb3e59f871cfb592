/**
 * Defaults of the gateway-wide config fields (retries, timeouts, cooldown). A feature's own
 * defaults live beside its schema: `CACHE_DEFAULTS` (cache/cache-config.ts),
 * `REDIS_STORE_DEFAULTS` (stores/redis/redis-store-options.ts), the spend buffers
 * (spend/spend-ledger.ts, spend/memory-spend-store.ts), and the output-token default used
 * when neither request nor catalog says (`DEFAULT_MAX_OUTPUT_TOKENS`, core/token-estimate.ts).
 */
export const DEFAULTS = {
  retry: { retries: 2, minDelayMs: 100, maxDelayMs: 4_000 },
  timeoutMs: 60_000,
  deadlineMs: 180_000,
  streamIdleTimeoutMs: 30_000,
  controlPlaneTimeoutMs: 10_000,
  cooldown: { failures: 3, windowMs: 60_000, durationMs: 30_000, maxDurationMs: 300_000 },
} as const;
