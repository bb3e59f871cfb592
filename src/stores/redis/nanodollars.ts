/** Nanodollars per USD, as `memoryStore` counts: integer sums never drift past a limit. */
const NANO_PER_USD = 1e9;

/**
 * USD to whole nanodollars as a decimal string for HINCRBY (the same rounding as
 * `memoryStore`); negative and non-finite amounts count as 0, and amounts are capped at 2^53
 * nanodollars (about $9M), past which neither store is exact.
 */
export function nanodollars(usd: number, round: (value: number) => number): string {
  if (!Number.isFinite(usd) || usd <= 0) return "0";
  return String(Math.min(Number.MAX_SAFE_INTEGER, round(usd * NANO_PER_USD)));
}

/** A limit in nanodollars; an infinite limit stays unlimited (never 0 by accident). */
export function limitNanodollars(usd: number): string {
  return usd === Number.POSITIVE_INFINITY ? String(Number.MAX_SAFE_INTEGER) : nanodollars(usd, Math.floor);
}

/** Nanodollars (a number Lua printed) back to USD. */
export function toUsd(nano: number): number {
  return nano / NANO_PER_USD;
}
