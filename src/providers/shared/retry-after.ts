/**
 * Longest wait a provider's hint may ask for, for every provider alike: ten minutes. Past it a
 * hint is more likely a misconfigured proxy than a plan, and the router's cooldown and the
 * call's deadline bound the real wait anyway.
 */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** A provider's wait hint in milliseconds, capped at {@link MAX_RETRY_AFTER_MS}. */
export function capRetryAfter(ms: number): number {
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}

/** What the SDKs hand us as response headers (a fetch `Headers`). */
interface HeaderReader {
  get(name: string): string | null;
}

function isHeaders(value: unknown): value is HeaderReader {
  return typeof value === "object" && value !== null && typeof (value as HeaderReader).get === "function";
}

/**
 * Milliseconds to wait per the response headers: `retry-after-ms` (OpenAI's and Anthropic's
 * precise form) first, then `retry-after` as seconds or an HTTP date. Capped at
 * {@link MAX_RETRY_AFTER_MS}; absent, negative or garbled headers give `undefined`.
 */
export function parseRetryAfter(headers: unknown, now = Date.now()): number | undefined {
  if (!isHeaders(headers)) return undefined;
  const precise = headers.get("retry-after-ms");
  if (precise !== null && precise.trim() !== "") {
    const ms = Number(precise);
    if (Number.isFinite(ms) && ms >= 0) return capRetryAfter(ms);
  }
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? capRetryAfter(seconds * 1000) : undefined;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return capRetryAfter(Math.max(0, date - now));
}
