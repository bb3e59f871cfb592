/** Defaults for every optional config field, in one place so README and code agree. */
export const DEFAULTS = {
  retry: { retries: 2, minDelayMs: 100, maxDelayMs: 4_000 },
  timeoutMs: 60_000,
  deadlineMs: 180_000,
  streamIdleTimeoutMs: 30_000,
  cooldown: { failures: 3, windowMs: 60_000, durationMs: 30_000, maxDurationMs: 300_000 },
} as const;
