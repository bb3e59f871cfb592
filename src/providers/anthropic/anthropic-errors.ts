import type { APIError } from "@anthropic-ai/sdk";
import type { GatewayError } from "../../core/errors.js";
import {
  mapProviderError,
  type ApiFailure,
  type ProviderErrorContext,
  type ProviderErrorRules,
} from "../../providers/shared/map-provider-error.js";
import { isSdkError } from "../../providers/shared/sdk-error.js";

/**
 * Anthropic's error types that settle retryability whatever the status says. A stream's
 * `error` event has no status of its own (the response was a 200), so the type is all we have;
 * unknown types fall back to the status (`isRetryableStatus`, in the shared skeleton).
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

/** Whether an Anthropic failure can succeed on a later try: its type when known, else its status. */
function retryableByType(type: string | undefined, byStatus: boolean): boolean {
  if (type !== undefined && Object.hasOwn(RETRYABLE_BY_TYPE, type)) return RETRYABLE_BY_TYPE[type] === true;
  return byStatus;
}

export type AnthropicErrorContext = ProviderErrorContext;

/**
 * Any failure of an Anthropic call as a `GatewayError`, through the shared skeleton
 * (`mapProviderError`): HTTP errors and stream `error` events become `ProviderError` with the
 * provider's error type; connection failures are retryable. The SDK error rides along as
 * `cause` (it holds the response's headers and body, never the request's) unless a secret
 * appears anywhere in it.
 */
export function fromAnthropicError(error: unknown, context: AnthropicErrorContext): GatewayError {
  return mapProviderError(error, context, anthropicRules(context.provider));
}

function anthropicRules(provider: string): ProviderErrorRules {
  return {
    isAbort: (error) => isSdkError(error, "APIUserAbortError"),
    timeout: (error) =>
      isSdkError(error, "APIConnectionTimeoutError") ? { message: `${provider} did not answer in time`, cause: error } : undefined,
    connection: (error) =>
      isSdkError(error, "APIConnectionError") ? { message: `Could not reach ${provider}: ${error.message}`, cause: error } : undefined,
    apiFailure: (error) => (isSdkError<APIError>(error, "APIError") ? readApiError(error, provider) : undefined),
    retryable: ({ type }, byStatus) => retryableByType(type, byStatus),
    classify: (error) =>
      error instanceof SyntaxError
        ? { message: `${provider} sent a payload that is not valid JSON`, retryable: true, type: "invalid_response", cause: error }
        : undefined,
    // fetch's own failures: the socket closed mid-body ("terminated"), DNS, TLS.
    unknown: (error) => ({
      message: `Connection to ${provider} failed: ${error instanceof Error ? error.message : String(error)}`,
      type: "connection_error",
    }),
  };
}

function readApiError(error: APIError, provider: string): ApiFailure {
  const status = typeof error.status === "number" ? error.status : undefined;
  const type = error.type ?? undefined;
  // A body that is not Anthropic's error JSON (a proxy's HTML page) comes as the message, after the status.
  const detail = error.apiMessage ?? error.message.replace(/^\d{3} /, "");
  const where = status === undefined ? "an error event mid-stream" : `HTTP ${status}`;
  return {
    status,
    type,
    message: `${provider} answered ${where}${type ? ` (${type})` : ""}: ${detail}`,
    headers: error.headers,
    cause: error,
  };
}
