import type { GoogleGenerativeAIFetchError } from "@google/generative-ai";
import { abortReason } from "../../core/abortable.js";
import { AbortError, type GatewayError, type ProviderError } from "../../core/errors.js";
import {
  apiProviderError,
  mapProviderError,
  type ApiFailure,
  type ProviderErrorContext,
  type ProviderErrorRules,
} from "../../providers/shared/map-provider-error.js";
import { capRetryAfter } from "../../providers/shared/retry-after.js";
import { isSdkError } from "../../providers/shared/sdk-error.js";

/** What error translation needs to know about the adapter (and, for the adapter's calls, its signal). */
export type GoogleErrorContext = ProviderErrorContext;

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

/** A Google failure with the `details` its body carried (`RetryInfo`, `QuotaFailure`). */
interface GoogleFailure extends ApiFailure {
  details: readonly unknown[] | undefined;
}

/**
 * What only Google decides: retryability by status, except a 429 whose QuotaFailure names a
 * per-day quota; the wait hint from `RetryInfo.retryDelay` (none when not retryable).
 */
const GOOGLE_RULES: ProviderErrorRules<GoogleFailure> = {
  isAbort: (error) => isSdkError(error, "GoogleGenerativeAIAbortError") || (error instanceof Error && error.name === "AbortError"),
  aborted: (signal) => (signal?.aborted ? abortReason(signal) : new AbortError("The Gemini request was aborted")),
  apiFailure: (error) => {
    if (isSdkError<GoogleGenerativeAIFetchError>(error, "GoogleGenerativeAIFetchError")) {
      return toFailure({
        status: error.status,
        googleStatus: undefined,
        message: fetchErrorMessage(error),
        details: Array.isArray(error.errorDetails) ? error.errorDetails : undefined,
        cause: error,
      });
    }
    if (isSdkError<Error & { status?: unknown }>(error, "ApiError")) return toFailure(readApiError(error));
    return undefined;
  },
  retryable: ({ status, details }, byStatus) => byStatus && !(status === 429 && isDailyQuota(details)),
  retryAfterMs: ({ details }, retryable) => (retryable ? parseRetryDelay(details) : undefined),
  classify: (error) => {
    if (isSdkError(error, "GoogleGenerativeAIRequestInputError")) {
      return { message: `Gemini request rejected by the SDK: ${sdkMessage(error)}`, retryable: false, type: "invalid_request", cause: error };
    }
    if (isSdkError(error, "GoogleGenerativeAIResponseError")) {
      return { message: `Gemini response unusable: ${sdkMessage(error)}`, retryable: false, type: "response_blocked", cause: error };
    }
    return undefined;
  },
  // No HTTP status: a connection that failed, dropped mid-body, or a stream cut short.
  unknown: (error) => ({
    message: `Gemini request failed without a response: ${error instanceof Error ? sdkMessage(error) : String(error)}`,
    type: "network_error",
  }),
};

/** A Google error body (or an SSE `error` chunk) as a `ProviderError`, by Google's rules. */
export function classifyGoogleError(error: GoogleStatusError, context: GoogleErrorContext): ProviderError {
  return apiProviderError(toFailure(error), context, GOOGLE_RULES);
}

/**
 * Anything the SDK (or fetch underneath it) throws as a `GatewayError`, through the shared
 * skeleton (`mapProviderError`). An aborted call reports the signal's reason (timeout, caller
 * abort, gateway close) whatever shape the SDK gave the abort.
 */
export function fromGoogleError(error: unknown, context: GoogleErrorContext): GatewayError {
  return mapProviderError(error, context, GOOGLE_RULES);
}

/** The type is Google's status name, else the canonical name for the HTTP status (the SDK drops the body's). */
function toFailure(error: GoogleStatusError): GoogleFailure {
  const type = error.googleStatus ?? (error.status === undefined ? undefined : CANONICAL_STATUS[error.status]);
  const label = [error.status, type].filter((part) => part !== undefined).join(" ");
  return { status: error.status, type, message: `Gemini ${label}: ${error.message}`, details: error.details, cause: error.cause };
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
function readApiError(error: Error & { status?: unknown }): GoogleStatusError {
  const status = typeof error.status === "number" ? error.status : undefined;
  const body = parseErrorBody(error.message.replace(/^got status: [^.]*\. /, ""));
  return {
    status: status ?? (typeof body?.code === "number" ? body.code : undefined),
    googleStatus: typeof body?.status === "string" && /^[A-Z_]+$/.test(body.status) ? body.status : undefined,
    message: typeof body?.message === "string" ? body.message : error.message,
    details: Array.isArray(body?.details) ? body.details : undefined,
    cause: error,
  };
}

function parseErrorBody(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isRecord(parsed) && isRecord(parsed.error) ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}
