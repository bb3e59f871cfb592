/**
 * Credential-shaped text masked out of anything telemetry copies from an error (a span status,
 * an exception event). Adapters are asked never to put secrets in messages, but a provider SDK
 * may echo a header or a partly masked key ("Incorrect API key provided: sk-proj-****abcd"), and
 * a trace store is read by more people than the service's config.
 */
const PATTERNS: readonly [RegExp, string][] = [
  // Authorization header values: the scheme goes too, so no "Bearer" survives.
  [/\b(?:Bearer|Basic|Token)\s+[^\s"',;]+/gi, "[redacted]"],
  // Header or field name followed by its value: api-key: ..., "x-api-key":"...", apiKey=...
  [/\b(authorization|x-api-key|api[_-]?key|x-goog-api-key|access[_-]?token|secret)(["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi, "$1$2[redacted]"],
  // Keys in a URL query string (Gemini's ?key=...).
  [/([?&](?:key|api_key|access_token)=)[^&\s"']+/gi, "$1[redacted]"],
  // Key-shaped tokens: OpenAI/Anthropic style sk-..., Google AIza...
  [/\b(?:sk|rk|pk)-[A-Za-z0-9_*.-]{6,}/g, "[redacted]"],
  [/\bAIza[0-9A-Za-z_-]{20,}/g, "[redacted]"],
];

/** Longest error text telemetry keeps: an error message is a hint, not a payload. */
const MAX_LENGTH = 500;
/**
 * Text scanned before the cut. Masking comes first so the cut cannot leave a tail of a key too
 * short to recognise; whatever lies past this bound is dropped by the cut anyway.
 */
const SCAN_LENGTH = 4 * MAX_LENGTH;

/** Masks credential-shaped text and bounds the length. */
export function redactSecrets(text: string): string {
  let result = text.length > SCAN_LENGTH ? text.slice(0, SCAN_LENGTH) : text;
  for (const [pattern, replacement] of PATTERNS) result = result.replace(pattern, replacement);
  return result.length > MAX_LENGTH ? `${result.slice(0, MAX_LENGTH)}…` : result;
}
