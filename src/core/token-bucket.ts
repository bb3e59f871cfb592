/**
 * Token-bucket arithmetic, shared by every store so they agree to the token: a bucket holds at
 * most `capacity` tokens and refills continuously at `refillPerMs`. A limit of `rpm` requests per
 * minute is a bucket of capacity `rpm` refilled at `rpm / 60_000` per ms: a burst of up to
 * `rpm`, then `rpm` per minute sustained.
 */

/** The level at `now`, given the level stored at `updatedAt`. */
export function refilledLevel(level: number, updatedAt: number, capacity: number, refillPerMs: number, now: number): number {
  const elapsed = now > updatedAt ? now - updatedAt : 0;
  return Math.min(capacity, level + elapsed * refillPerMs);
}

/**
 * How many tokens must be present for a draw of `amount`: the amount itself, or a full bucket
 * when the draw is larger than the bucket (it is then admitted into debt).
 */
export function tokensNeeded(amount: number, capacity: number): number {
  return amount < capacity ? amount : capacity;
}

/** Milliseconds until a bucket at `level` holds `needed` tokens; 0 when it already does. */
export function waitForTokens(level: number, needed: number, refillPerMs: number): number {
  if (level >= needed) return 0;
  // Rounded up so that a retry at exactly this delay succeeds.
  return Math.ceil((needed - level) / refillPerMs);
}
