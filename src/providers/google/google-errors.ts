import type { GoogleGenerativeAIFetchError } from "@google/generative-ai";
import { AbortError, GatewayError, ProviderError, isRetryableStatus } from "../../core/errors.js";
import { abortReason } from "../../core/abortable.js";
import { safeCause, scrubSecrets } from "../../core/scrub-secrets.js";
import { capRetryAfter } from "../../providers/shared/retry-after.js";
import { isSdkError } from "../../providers/shared/sdk-error.js";

/** What error translation needs to know about the adapter. */
export interface GoogleErrorContext {
  provider: string;
  /** Values that must never reach a message or a `cause`: the API key, credential headers. */
  secrets: readonly string[];
}

/** A Google API error as its JSON body (or an SSE `error` chunk) describes it. */
export interface GoogleStatusError {
  status: number | undefined;
  /** `google.rpc.Code` name, e.g. `RESOURCE_EXHAUSTED`. */
  googleStatus: string | undefined;
  message: string;
  details: readonly unknown[] | undefined;
  cause?: unknown;
}

/**
 * Canonical `google.rpc.Code` names by HTTP status. The SDK drops the body's `status` field, so
 * an HTTP error's type is the canonical name for its status.
 */
const CANONICAL_STATUS: Readonly<Record<number, string>> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

const SDK_PREFIX = "[GoogleGenerativeAI Error]: ";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function detailOfType(details: readonly unknown[] | undefined, type: string): Record<string, unknown>[] {
  return (details ?? []).filter(
    (detail): detail is Record<string, unknown> => isRecord(detail) && detail["@type"] === `type.googleapis.com/${type}`,
  );
}

/**
 * `google.rpc.RetryInfo.retryDelay` is a protobuf Duration in JSON: "12s", "1.5s", "0.250s".
 * Capped like every provider's hint (`MAX_RETRY_AFTER_MS`).
 */
export function parseRetryDelay(details: readonly unknown[] | undefined): number | undefined {
  for (const info of detailOfType(details, "google.rpc.RetryInfo")) {
    const delay = info.retryDelay;
    const match = typeof delay === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(delay.trim()) : null;
    if (match?.[1] !== undefined) return capRetryAfter(Math.round(Number(match[1]) * 1000));
  }
  return undefined;
}

/** A 429 for a per-day quota will not clear in seconds: retrying it only burns attempts. */
function isDailyQuota(details: readonly unknown[] | undefined): boolean {
  return detailOfType(details, "google.rpc.QuotaFailure").some((failure) => {
    const violations = Array.isArray(failure.violations) ? failure.violations : [];
    return violations.some(
      (violation) =>
        isRecord(violation) &&
        [violation.quotaId, violation.quotaMetric].some((name) => typeof name === "string" && /per_?day/i.test(name)),
    );
  });
}

/**
 * The one place this adapter decides retryability: by status (`isRetryableStatus`), refined by
 * Google's details. A 429 whose QuotaFailure names a per-day quota is not retryable; otherwise
 * `RetryInfo.retryDelay` says when to come back.
 */
export function classifyGoogleError(error: GoogleStatusError, context: GoogleErrorContext): ProviderError {
  let retryable = isRetryableStatus(error.status);
  if (error.status === 429 && isDailyQuota(error.details)) retryable = false;
  const type = error.googleStatus ?? (error.status === undefined ? undefined : CANONICAL_STATUS[error.status]);
  const label = [error.status, type].filter((part) => part !== undefined).join(" ");
  return new ProviderError(scrubSecrets(`Gemini ${label}: ${error.message}`, context.secrets), {
    provider: context.provider,
    status: error.status,
    retryable,
    retryAfterMs: retryable ? parseRetryDelay(error.details) : undefined,
    type,
    cause: safeCause(error.cause, context.secrets),
  });
}

/**
 * Translates anything the SDK (or fetch underneath it) throws into a `GatewayError`. Errors the
 * adapter already made pass through; an aborted call reports the signal's reason (timeout,
 * caller abort, gateway close) whatever shape the SDK gave the abort.
 */
export function toGatewayError(error: unknown, context: GoogleErrorContext, signal: AbortSignal): GatewayError {
  if (signal.aborted) return abortReason(signal);
  if (error instanceof GatewayError) return error;
  if (isSdkError(error, "GoogleGenerativeAIAbortError") || (error instanceof Error && error.name === "AbortError")) {
    return new AbortError("The Gemini request was aborted");
  }
  if (isSdkError<GoogleGenerativeAIFetchError>(error, "GoogleGenerativeAIFetchError")) {
    return classifyGoogleError(
      {
        status: error.status,
        googleStatus: undefined,
        message: fetchErrorMessage(error),
        details: Array.isArray(error.errorDetails) ? error.errorDetails : undefined,
        cause: error,
      },
      context,
    );
  }
  if (isSdkError<Error & { status?: unknown }>(error, "ApiError")) return fromApiError(error, context);
  if (isSdkError(error, "GoogleGenerativeAIRequestInputError")) {
    return new ProviderError(scrubSecrets(`Gemini request rejected by the SDK: ${sdkMessage(error)}`, context.secrets), {
      provider: context.provider,
      retryable: false,
      type: "invalid_request",
      cause: safeCause(error, context.secrets),
    });
  }
  if (isSdkError(error, "GoogleGenerativeAIResponseError")) {
    return new ProviderError(scrubSecrets(`Gemini response unusable: ${sdkMessage(error)}`, context.secrets), {
      provider: context.provider,
      retryable: false,
      type: "response_blocked",
      cause: safeCause(error, context.secrets),
    });
  }
  // No HTTP status: a connection that failed, dropped mid-body, or a stream cut short.
  const message = error instanceof Error ? sdkMessage(error) : String(error);
  return new ProviderError(scrubSecrets(`Gemini request failed without a response: ${message}`, context.secrets), {
    provider: context.provider,
    retryable: isRetryableStatus(undefined),
    type: "network_error",
    cause: safeCause(error, context.secrets),
  });
}

function sdkMessage(error: Error): string {
  return error.message.startsWith(SDK_PREFIX) ? error.message.slice(SDK_PREFIX.length) : error.message;
}

/**
 * The SDK's message reads `Error fetching from <url>: [<status> <text>] <message> <details JSON>`;
 * keep the URL (it names the model and never carries the key: the SDK sends it as a header) and
 * Google's message, and leave the details to the structured fields.
 */
function fetchErrorMessage(error: GoogleGenerativeAIFetchError): string {
  let message = sdkMessage(error);
  if (error.errorDetails !== undefined) {
    const suffix = ` ${JSON.stringify(error.errorDetails)}`;
    if (message.endsWith(suffix)) message = message.slice(0, -suffix.length);
  }
  return message;
}

/**
 * `@google/genai` throws `ApiError` with the HTTP status and, as its message, the error body as
 * JSON (`{"error":{code,message,status,details}}`); inside a stream it prefixes
 * `got status: <STATUS>. `. Both read back into Google's fields, so retryability and
 * `RetryInfo` work as they do for the other SDK.
 */
function fromApiError(error: Error & { status?: unknown }, context: GoogleErrorContext): ProviderError {
  const status = typeof error.status === "number" ? error.status : undefined;
  const body = parseErrorBody(error.message.replace(/^got status: [^.]*\. /, ""));
  return classifyGoogleError(
    {
      status: status ?? (typeof body?.code === "number" ? body.code : undefined),
      googleStatus: typeof body?.status === "string" && /^[A-Z_]+$/.test(body.status) ? body.status : undefined,
      message: typeof body?.message === "string" ? body.message : error.message,
      details: Array.isArray(body?.details) ? body.details : undefined,
      cause: error,
    },
    context,
  );
}

function parseErrorBody(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isRecord(parsed) && isRecord(parsed.error) ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}
