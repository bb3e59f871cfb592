import {
  AllDeploymentsFailedError,
  BudgetExceededError,
  GatewayError,
  InvalidRequestError,
  ModelNotAllowedError,
  ProviderError,
  RateLimitError,
  TimeoutError,
} from "../index.js";
import { HttpError, type Headers, type JsonReply } from "./call.js";

/** OpenAI's error body: what every OpenAI client already knows how to read. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** Messages are capped: a provider's error text is not ours to relay at any length. */
const MAX_MESSAGE_CHARS = 1_000;

/**
 * 402 for a spent budget: the official SDKs retry 408, 409, 429 and 5xx, and a budget does
 * not come back by retrying within seconds.
 */
export const BUDGET_STATUS = 402;

/** Status 499 (client closed request): nobody reads it, but logs and metrics do. */
const CLIENT_CLOSED = 499;

interface Mapped {
  status: number;
  type: string;
  code: string;
  param: string | null;
  message: string;
  retryAfterMs?: number;
}

/**
 * Maps anything a route threw to an OpenAI error reply. Unknown errors become a bare 500:
 * their message or stack may hold what no client should see.
 */
export function errorReply(error: unknown, headers: Headers = {}): JsonReply {
  const mapped = mapError(error);
  const out: Headers = { ...headers, "content-type": "application/json" };
  if (mapped.retryAfterMs !== undefined) {
    // Seconds for every client; milliseconds for the OpenAI SDKs, which read `retry-after-ms` first.
    out["retry-after"] = String(Math.max(1, Math.ceil(mapped.retryAfterMs / 1000)));
    out["retry-after-ms"] = String(Math.max(0, Math.ceil(mapped.retryAfterMs)));
  }
  return { status: mapped.status, headers: out, body: JSON.stringify(errorBody(mapped)) };
}

export function errorBody(mapped: Pick<Mapped, "message" | "type" | "code" | "param">): OpenAIErrorBody {
  return {
    error: { message: cap(mapped.message), type: mapped.type, code: mapped.code, param: mapped.param },
  };
}

/** The SSE event that ends a stream which failed after its first chunk (as OpenAI sends it). */
export function streamErrorEvent(error: unknown): string {
  return `data: ${JSON.stringify(errorBody(mapError(error)))}\n\n`;
}

export function mapError(error: unknown): Mapped {
  if (error instanceof HttpError) {
    return { status: error.status, type: error.type, code: error.code, param: error.param, message: error.message };
  }
  if (!(error instanceof GatewayError)) {
    return { status: 500, type: "server_error", code: "internal_error", param: null, message: "The server had an error while processing your request" };
  }
  const base = { code: error.code, message: error.message, param: null };
  if (error instanceof InvalidRequestError) {
    return { ...base, status: 400, type: "invalid_request_error", param: error.issues[0]?.path || null };
  }
  if (error instanceof ModelNotAllowedError) return { ...base, status: 403, type: "permission_error", param: "model" };
  if (error instanceof RateLimitError) return { ...base, status: 429, type: "rate_limit_error", retryAfterMs: error.retryAfterMs };
  if (error instanceof BudgetExceededError) return { ...base, status: BUDGET_STATUS, type: "budget_exceeded_error" };
  if (error instanceof TimeoutError) return { ...base, status: 504, type: "server_error" };
  if (error instanceof ProviderError) {
    const status = providerStatus(error);
    return { ...base, status, type: status === 400 ? "invalid_request_error" : "server_error" };
  }
  if (error instanceof AllDeploymentsFailedError) {
    const timedOut = error.attempts.length > 0 && error.attempts.every((attempt) => attempt.error instanceof TimeoutError);
    if (timedOut) return { ...base, status: 504, type: "server_error" };
    if (error.retryAfterMs !== undefined) return { ...base, status: 503, type: "server_error", retryAfterMs: error.retryAfterMs };
    const rejected = error.attempts.map((attempt) => attempt.error).find(isRequestRejection);
    if (rejected) return { ...base, status: 400, type: "invalid_request_error" };
    return { ...base, status: 502, type: "server_error" };
  }
  switch (error.code) {
    case "aborted":
      return { ...base, status: CLIENT_CLOSED, type: "server_error" };
    case "gateway_closed":
    case "store_unavailable":
      return { ...base, status: 503, type: "server_error" };
    default:
      return { ...base, status: 500, type: "server_error" };
  }
}

/** A provider that refused the request itself (context too long, bad parameter) is the caller's 400. */
function isRequestRejection(error: GatewayError): boolean {
  return error instanceof ProviderError && (error.status === 400 || error.status === 404 || error.status === 422);
}

function providerStatus(error: ProviderError): number {
  if (isRequestRejection(error)) return 400;
  return 502;
}

function cap(message: string): string {
  return message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 3)}...` : message;
}
