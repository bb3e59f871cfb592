import { echo } from "./echo.js";

/**
 * The issue message for an input whose getter (or proxy) threw while it was read: say so,
 * never rethrow it raw (its message is echoed, capped).
 */
export function unreadable(error: unknown): string {
  let detail: string;
  try {
    detail = error instanceof Error ? String(error.message) : String(error);
  } catch {
    detail = "an unprintable value";
  }
  return `could not be read: a property threw while it was read (${echo(detail)})`;
}
