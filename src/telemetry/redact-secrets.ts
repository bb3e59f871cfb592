import { scrubSecrets } from "../core/scrub-secrets.js";

/** Longest error text telemetry keeps: an error message is a hint, not a payload. */
const MAX_LENGTH = 500;

/**
 * Credential-shaped text masked out of anything telemetry copies from an error (a span status,
 * an exception event), and the length bounded. The same scrubber the adapters use on their
 * messages (`scrubSecrets`), with no configured secrets to go by and a longer cut.
 */
export function redactSecrets(text: string): string {
  return scrubSecrets(text, [], MAX_LENGTH);
}
