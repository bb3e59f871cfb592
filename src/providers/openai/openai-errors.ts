import type { APIError } from "openai";
import { ProviderError, type GatewayError } from "../../core/errors.js";
import {
  mapProviderError,
  type ApiFailure,
  type ProviderErrorContext,
  type ProviderErrorRules,
} from "../../providers/shared/map-provider-error.js";
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

export type OpenAIErrorContext = ProviderErrorContext;

/** An OpenAI HTTP error with both of its kinds: OpenAI sends `code` and `type`, compatible servers one of them. */
interface OpenAIFailure extends ApiFailure {
  kinds: (string | undefined)[];
}

/**
 * What the `openai` SDK throws as a `GatewayError`, through the shared skeleton
 * (`mapProviderError`): HTTP errors by status refined by OpenAI's error type, errors inside a
 * 200 stream by type alone, transport failures as retryable. HTTP errors get no `cause`, since
 * the SDK error holds the raw body.
 */
export function fromOpenAIError(error: unknown, context: OpenAIErrorContext): GatewayError {
  return mapProviderError(error, context, openAIRules(providerLabel(context.provider), context.provider));
}

function openAIRules(label: string, provider: string): ProviderErrorRules<OpenAIFailure> {
  return {
    isAbort: (error) => isSdkError(error, "APIUserAbortError"),
    // The caller's abort as the adapter's own error, as OpenAI's adapter has always reported it.
    aborted: () => new ProviderError(`${label} request aborted`, { provider, retryable: false, type: "aborted" }),
    timeout: (error) => (isSdkError(error, "APIConnectionTimeoutError") ? { message: `${label} request timed out` } : undefined),
    connection: (error) =>
      isSdkError(error, "APIConnectionError")
        ? { message: `${label} connection error: ${deepestMessage(error)}`, cause: error.cause }
        : undefined,
    apiFailure: (error) => (isSdkError<APIError>(error, "APIError") ? readApiError(error, label) : undefined),
    // The status decides, refined for an exhausted quota; an error inside a 200 stream has no
    // status of its own, so its type decides.
    retryable: ({ status, kinds }, byStatus) =>
      status !== undefined ? byStatus && !isAny(kinds, QUOTA_EXHAUSTED) : !isAny(kinds, NEVER_RETRYABLE_IN_STREAM),
    classify: (error) => {
      // The SDK refusing to send (bad client options): the same on every try.
      if (isSdkError(error, "OpenAIError")) {
        return { message: `${label} client error: ${error.message}`, retryable: false, type: "client_error" };
      }
      if (error instanceof SyntaxError) {
        return { message: `${label} sent a malformed stream event: ${error.message}`, retryable: true, type: "invalid_response" };
      }
      return undefined;
    },
    // Anything else escaping the SDK is the transport failing (e.g. undici's `terminated`
    // when the connection drops mid-stream): a later try can succeed.
    unknown: (error) => ({
      message: `${label} connection error: ${error instanceof Error ? deepestMessage(error) : String(error)}`,
      type: "connection_error",
    }),
  };
}

function readApiError(error: APIError, label: string): OpenAIFailure {
  const { status } = error;
  const body: unknown = error.error;
  const bodyMessage = isRecord(body) && typeof body.message === "string" ? body.message : undefined;
  const code = stringOrUndefined(error.code);
  const type = stringOrUndefined(error.type);
  const requestId = stringOrUndefined(error.requestID);
  return {
    status,
    type: code ?? type,
    kinds: [code, type],
    message: `${label} ${status ?? "stream error"}: ${bodyMessage ?? error.message.replace(/^\d{3} /, "")}`,
    headers: error.headers,
    ...(requestId ? { requestId } : {}),
  };
}

/** How messages name the provider: "OpenAI", or the name an OpenAI-compatible adapter was given. */
export function providerLabel(provider: string): string {
  return provider === "openai" ? "OpenAI" : provider;
}

function isAny(kinds: readonly (string | undefined)[], set: ReadonlySet<string>): boolean {
  return kinds.some((kind) => kind !== undefined && set.has(kind));
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
