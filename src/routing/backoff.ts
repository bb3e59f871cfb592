/**
 * Delay before retry number `retry` (1-based): exponential from `minDelayMs`, capped at
 * `maxDelayMs`, with "equal jitter" (half the delay fixed, half random) so a fleet that failed together
 * does not retry together, and no retry is ever immediate.
 *
 * Not p-retry: it computes every delay itself, so a provider's Retry-After could only be
 * added on top of its own wait, and the router must check cooldowns and the call's deadline
 * between tries. This loop is twelve lines; the policy it encodes is the README's.
 */
export function backoffDelay(retry: number, minDelayMs: number, maxDelayMs: number, random = Math.random): number {
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** (retry - 1));
  // Half fixed, half random: never zero (a retry storm), never above the cap.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
