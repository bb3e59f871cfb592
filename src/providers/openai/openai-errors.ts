import type { APIError } from "openai";
import { GatewayError, ProviderError, isRetryableStatus } from "../../core/errors.js";
import { safeCause, scrubSecrets } from "../../core/scrub-secrets.js";
import { parseRetryAfter } from "../../providers/shared/retry-after.js";
import { isSdkError } from "../../providers/shared/sdk-error.js";

/**
 * A 429 that is not a rate limit but an empty account: waiting will not refill it. Checked
 * against both `code` and `type`, because OpenAI puts it in both and compatible servers pick one.
 */
const QUOTA_EXHAUSTED = new Set(["insufficient_quota", "billing_hard_limit_reached"]);

/**
 * Error types inside a 200 stream (no status to go by) that say the request or the account
 * is wrong: retrying cannot help. Others (`server_error`, `overloaded`, unknown) may pass.
 */
const NEVER_RETRYABLE_IN_STREAM = new Set([
  ...QUOTA_EXHAUSTED,
  "invalid_request_error",
  "invalid_api_key",
  "authentication_error",
  "permission_error",
  "permission_denied",
  "not_found_error",
  "model_not_found",
  "context_length_exceeded",
]);

export interface OpenAIErrorContext {
  /** The adapter's name, reported as `ProviderError.provider`. */
  provider: string;
  /** The caller's signal: once aborted, any failure is reported as an abort. */
  signal?: AbortSignal;
  /** Values scrubbed from messages (API key, auth header values) should a server echo them. */
  secrets?: readonly string[];
}

/**
 * The one place that turns what the `openai` SDK throws into a `GatewayError`: HTTP errors
 * by status (via `isRetryableStatus`) refined by OpenAI's error type, errors inside a 200
 * stream by type alone, transport failures as retryable. Messages are short and never carry
 * headers or keys; HTTP errors get no `cause`, since the SDK error holds the raw body.
 */
export function fromOpenAIError(error: unknown, context: OpenAIErrorContext): GatewayError {
  const { provider } = context;
  const label = providerLabel(provider);
  if (error instanceof GatewayError) return error;
  if (context.signal?.aborted || isSdkError(error, "APIUserAbortError")) {
    return new ProviderError(`${label} request aborted`, { provider, retryable: false, type: "aborted" });
  }
  if (isSdkError(error, "APIConnectionTimeoutError")) {
    return new ProviderError(`${label} request timed out`, { provider, retryable: true, type: "timeout" });
  }
  if (isSdkError(error, "APIConnectionError")) {
    return new ProviderError(`${label} connection error: ${scrubSecrets(deepestMessage(error), context.secrets)}`, {
      provider,
      retryable: true,
      type: "connection_error",
      cause: safeCause(error.cause, context.secrets),
    });
  }
  if (isSdkError<APIError>(error, "APIError")) return fromApiError(error, context, label);
  if (isSdkError(error, "OpenAIError")) {
    // The SDK refusing to send (bad client options): the same on every try.
    return new ProviderError(`${label} client error: ${scrubSecrets(error.message, context.secrets)}`, {
      provider,
      retryable: false,
      type: "client_error",
    });
  }
  if (error instanceof SyntaxError) {
    return new ProviderError(`${label} sent a malformed stream event: ${scrubSecrets(error.message, context.secrets)}`, {
      provider,
      retryable: true,
      type: "invalid_response",
    });
  }
  // Anything else escaping the SDK is the transport failing (e.g. undici's `terminated`
  // when the connection drops mid-stream): a later try can succeed.
  const message = error instanceof Error ? deepestMessage(error) : String(error);
  return new ProviderError(`${label} connection error: ${scrubSecrets(message, context.secrets)}`, {
    provider,
    retryable: true,
    type: "connection_error",
    cause: safeCause(error, context.secrets),
  });
}

function fromApiError(error: APIError, context: OpenAIErrorContext, label: string): ProviderError {
  const { status } = error;
  const body: unknown = error.error;
  const bodyMessage = isRecord(body) && typeof body.message === "string" ? body.message : undefined;
  const type = stringOrUndefined(error.code) ?? stringOrUndefined(error.type);
  const kinds = [stringOrUndefined(error.code), stringOrUndefined(error.type)];
  const isAny = (set: ReadonlySet<string>): boolean => kinds.some((kind) => kind !== undefined && set.has(kind));
  // The status decides, refined for an exhausted quota; an error inside a 200 stream has no
  // status of its own, so its type decides.
  const retryable =
    status !== undefined ? isRetryableStatus(status) && !isAny(QUOTA_EXHAUSTED) : !isAny(NEVER_RETRYABLE_IN_STREAM);

  const rawMessage = bodyMessage ?? error.message.replace(/^\d{3} /, "");
  const requestId = stringOrUndefined(error.requestID);
  const message =
    `${label} ${status ?? "stream error"}: ${scrubSecrets(rawMessage, context.secrets)}` +
    (requestId ? ` (request ${requestId})` : "");
  return new ProviderError(message, {
    provider: context.provider,
    status,
    retryable,
    retryAfterMs: parseRetryAfter(error.headers),
    type,
  });
}

/** How messages name the provider: "OpenAI", or the name an OpenAI-compatible adapter was given. */
export function providerLabel(provider: string): string {
  return provider === "openai" ? "OpenAI" : provider;
}

/** undici wraps the useful words (`ECONNREFUSED`, `other side closed`) a cause or two down. */
function deepestMessage(error: Error): string {
  let message = error.message;
  let cause: unknown = error.cause;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    if (cause.message) message = `${message} (${cause.message})`;
    cause = cause.cause;
  }
  return message;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
