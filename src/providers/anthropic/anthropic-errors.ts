import type { APIConnectionError, APIError } from "@anthropic-ai/sdk";
import { AbortError, GatewayError, ProviderError, isRetryableStatus } from "../../core/errors.js";
import { abortReason } from "../../core/abortable.js";
import { safeCause, scrubSecrets } from "../../core/scrub-secrets.js";
import { parseRetryAfter } from "../../providers/shared/retry-after.js";
import { isSdkError } from "../../providers/shared/sdk-error.js";

/**
 * Anthropic's error types that settle retryability whatever the status says. A stream's
 * `error` event has no status of its own (the response was a 200), so the type is all we have;
 * unknown types fall back to `isRetryableStatus`.
 */
const RETRYABLE_BY_TYPE: Readonly<Record<string, boolean>> = {
  overloaded_error: true,
  api_error: true,
  rate_limit_error: true,
  timeout_error: true,
  invalid_request_error: false,
  authentication_error: false,
  permission_error: false,
  not_found_error: false,
  billing_error: false,
  request_too_large: false,
};

/** The one place that decides whether an Anthropic failure can succeed on a later try. */
export function isRetryableAnthropicError(status: number | undefined, type: string | undefined): boolean {
  if (type !== undefined && Object.hasOwn(RETRYABLE_BY_TYPE, type)) return RETRYABLE_BY_TYPE[type] === true;
  return isRetryableStatus(status);
}

export interface AnthropicErrorContext {
  /** The adapter's name, reported as `ProviderError.provider`. */
  provider: string;
  /** The attempt's signal: once it aborted, its reason wins over whatever the SDK threw. */
  signal?: AbortSignal;
  /** The API key and credential header values: scrubbed from messages, and no `cause` that holds one. */
  secrets?: readonly (string | null | undefined)[];
}

/**
 * Any failure of an Anthropic call as a `GatewayError`: HTTP errors and stream `error` events
 * become `ProviderError` with the provider's error type; connection failures are retryable.
 * Messages are scrubbed of secrets and credential shapes and cut to a log line (`scrubSecrets`). The
 * SDK error rides along as `cause` (it holds the response's headers and body, never the request's)
 * unless a secret appears anywhere in it.
 */
export function fromAnthropicError(error: unknown, context: AnthropicErrorContext): GatewayError {
  if (context.signal?.aborted) return abortReason(context.signal);
  if (error instanceof GatewayError) return error;
  const provider = context.provider;
  // Every message we build: configured secrets and credential shapes masked, cut to a log line.
  const redact = (text: string): string => scrubSecrets(text, context.secrets);

  // The SDK error is a useful cause (request id, response headers) unless the server echoed a secret into it.
  const cause = safeCause(error, context.secrets);

  if (isSdkError(error, "APIUserAbortError")) return new AbortError();
  if (isSdkError(error, "APIConnectionTimeoutError")) {
    return new ProviderError(`${provider} did not answer in time`, {
      provider,
      retryable: true,
      type: "timeout",
      cause,
    });
  }
  if (isSdkError<APIConnectionError>(error, "APIConnectionError")) {
    return new ProviderError(redact(`Could not reach ${provider}: ${error.message}`), {
      provider,
      retryable: true,
      type: "connection_error",
      cause,
    });
  }
  if (isSdkError<APIError>(error, "APIError")) {
    const status = typeof error.status === "number" ? error.status : undefined;
    const type = error.type ?? undefined;
    // A body that is not Anthropic's error JSON (a proxy's HTML page) comes as the message, after the status.
    const detail = error.apiMessage ?? error.message.replace(/^\d{3} /, "");
    const where = status === undefined ? "an error event mid-stream" : `HTTP ${status}`;
    return new ProviderError(redact(`${provider} answered ${where}${type ? ` (${type})` : ""}: ${detail}`), {
      provider,
      status,
      retryable: isRetryableAnthropicError(status, type),
      retryAfterMs: status === undefined ? undefined : parseRetryAfter(error.headers),
      type,
      cause,
    });
  }
  if (error instanceof SyntaxError) {
    return new ProviderError(`${provider} sent a payload that is not valid JSON`, {
      provider,
      retryable: true,
      type: "invalid_response",
      cause,
    });
  }
  // fetch's own failures: the socket closed mid-body ("terminated"), DNS, TLS.
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderError(redact(`Connection to ${provider} failed: ${message}`), {
    provider,
    retryable: true,
    type: "connection_error",
    cause,
  });
}
