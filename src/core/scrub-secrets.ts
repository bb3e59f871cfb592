import { inspect } from "node:util";

/**
 * The one secret scrubber: what the adapters put in error messages and what telemetry copies
 * from an error (span status, exception events) both go through here. A provider, proxy or SDK
 * may echo a key or a header back ("Incorrect API key provided: sk-proj-****abcd"), and
 * messages and traces are read by more people than the service's config.
 */

/** What a masked value becomes. */
export const REDACTED = "[redacted]";

/** Provider messages can be whole HTML pages from a proxy; keep what a log line can hold. */
export const MAX_MESSAGE_LENGTH = 300;

/** Shorter configured values are not scrubbed: masking every "on" or "1" would wreck messages, and hides nothing. */
const MIN_SECRET_LENGTH = 4;

/**
 * Text masked as a whole before the length cut. Beyond it the rest is dropped first; masking
 * before the cut means the cut cannot leave a tail of a key too short to recognise.
 */
const MAX_SCAN_LENGTH = 100_000;

/** Header names whose values are credentials: `authorization`, `x-api-key`, `x-proxy-token`, `cookie`, ... */
const CREDENTIAL_HEADER = /auth|key|token|secret|cookie|password|credential/i;

/** An auth scheme in front of a header value: the value without it is a secret too. */
const AUTH_SCHEME = /^(?:Bearer|Basic|Token)\s+/i;

/** Credential-shaped text, masked whether or not it was configured. */
const PATTERNS: readonly (readonly [RegExp, string])[] = [
  // Authorization header values: the scheme goes too, so no "Bearer" survives.
  [/\b(?:Bearer|Basic)\s+[^\s"',;]+/gi, REDACTED],
  // "Token <value>" only when the value looks like one (a digit or symbol, 8+ characters):
  // Gemini says "The input token count (...) exceeds", and that must stay readable.
  [/\bToken\s+(?=[^\s"',;]*[0-9._~+/=-])[^\s"',;]{8,}/gi, REDACTED],
  // Header or field name followed by its value: api-key: ..., "x-api-key":"...", apiKey=...
  [
    /\b(authorization|x-api-key|api[_-]?key|x-goog-api-key|access[_-]?token|secret)(["']?\s*[:=]\s*["']?)(?:(?:Bearer|Basic|Token)\s+)?[^\s"',;&]+/gi,
    `$1$2${REDACTED}`,
  ],
  // Keys in a URL query string (Gemini's ?key=...).
  [/([?&](?:key|api_key|access_token)=)[^&\s"']+/gi, `$1${REDACTED}`],
  // Key-shaped tokens: OpenAI sk-..., Anthropic sk-ant-..., restricted/publishable rk-/pk-, Google AIza...
  [/\b(?:sk|rk|pk)-[A-Za-z0-9_*.-]{6,}/g, REDACTED],
  [/\bAIza[0-9A-Za-z_-]{20,}/g, REDACTED],
];

/** The configured values worth looking for, longest first so a secret holding another goes whole. */
function usableSecrets(secrets: readonly (string | null | undefined)[]): string[] {
  const usable = secrets.filter((secret): secret is string => typeof secret === "string" && secret.length >= MIN_SECRET_LENGTH);
  return [...new Set(usable)].sort((a, b) => b.length - a.length);
}

/**
 * Masks the configured `secrets` (exactly), then anything shaped like a credential (`Bearer ...`,
 * `sk-...`/`sk-ant-...`, `AIza...`, `api-key: ...`, `?key=...`), and cuts the result to
 * `maxLength` characters plus an ellipsis. Pass `Infinity` for no cut.
 *
 * @example
 * scrubSecrets(`401: bad key ${apiKey}`, [apiKey]); // "401: bad key [redacted]"
 */
export function scrubSecrets(
  text: string,
  secrets: readonly (string | null | undefined)[] = [],
  maxLength: number = MAX_MESSAGE_LENGTH,
): string {
  const known = usableSecrets(secrets);
  let result = text;
  let cut = false;
  if (result.length > MAX_SCAN_LENGTH) {
    // Drop the last (partial) run of non-space characters and a secret's length more, so no
    // fragment of a key or secret straddling the boundary survives masking.
    const margin = known[0]?.length ?? 0;
    result = result.slice(0, Math.max(0, MAX_SCAN_LENGTH - margin)).replace(/\S+$/, "");
    cut = true;
  }
  for (const secret of known) result = result.split(secret).join(REDACTED);
  for (const [pattern, replacement] of PATTERNS) result = result.replace(pattern, replacement);
  if (result.length > maxLength) return `${result.slice(0, Math.max(0, maxLength))}…`;
  return cut ? `${result}…` : result;
}

/**
 * Whether any configured secret appears anywhere in `value`: a string as is, anything else as
 * `util.inspect` renders it in depth (an error's message, stack, own fields such as a response
 * body or headers, and its `cause` chain).
 */
export function mentionsSecret(value: unknown, secrets: readonly (string | null | undefined)[] = []): boolean {
  const known = usableSecrets(secrets);
  if (known.length === 0 || value === undefined || value === null) return false;
  const text =
    typeof value === "string"
      ? value
      : inspect(value, { depth: 8, maxArrayLength: Infinity, maxStringLength: Infinity, breakLength: Infinity });
  return known.some((secret) => text.includes(secret));
}

/** `cause` to keep for debugging (an SDK error holds the request id, response headers), unless it holds a secret. */
export function safeCause(cause: unknown, secrets: readonly (string | null | undefined)[] = []): unknown {
  return mentionsSecret(cause, secrets) ? undefined : cause;
}

/**
 * The values of headers named like credentials (`authorization`, `x-api-key`, `x-proxy-token`,
 * `cookie`, ...), each also without an auth scheme (`Bearer `), for an adapter's secrets list.
 */
export function credentialHeaderValues(headers: Readonly<Record<string, string>> | undefined): string[] {
  const values: string[] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (typeof value !== "string" || !CREDENTIAL_HEADER.test(name)) continue;
    values.push(value);
    const bare = value.replace(AUTH_SCHEME, "");
    if (bare !== value) values.push(bare);
  }
  return values;
}
