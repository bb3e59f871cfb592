import { abortReason } from "../../core/abortable.js";
import { AbortError, GatewayError, ProviderError, isRetryableStatus } from "../../core/errors.js";
import { safeCause, scrubSecrets } from "../../core/scrub-secrets.js";
import { parseRetryAfter } from "./retry-after.js";

/** What every adapter's error mapping knows of the call that failed. */
export interface ProviderErrorContext {
  /** The adapter's name, reported as `ProviderError.provider`. */
  provider: string;
  /** The attempt's signal: once it aborted, the abort wins over whatever the SDK threw. */
  signal?: AbortSignal;
  /** The API key and credential header values: scrubbed from messages, and no `cause` that holds one. */
  secrets?: readonly (string | null | undefined)[];
}

/** A failure described in words, before scrubbing. */
export interface FailureText {
  message: string;
  /** Kept as `cause` unless it mentions a secret. */
  cause?: unknown;
}

/** A provider-specific kind of failure: its own type and retryability. */
export interface ClassifiedFailure extends FailureText {
  type: string;
  retryable: boolean;
}

/** An HTTP error, or an error event inside a 200 stream (no `status`), as read from the SDK's error. */
export interface ApiFailure extends FailureText {
  status: number | undefined;
  /** The provider's error type or code (`rate_limit_error`, `RESOURCE_EXHAUSTED`, ...). */
  type: string | undefined;
  /** Response headers, read for `retry-after-ms` / `retry-after` (by default). */
  headers?: unknown;
  /** The provider's request id, appended to the message after scrubbing (ids are not secrets). */
  requestId?: string;
}

/**
 * What one provider plugs into {@link mapProviderError}: how to recognise its SDK's errors and
 * what its error types mean. Messages come from here; the order, the scrubbing and capping, the
 * `cause` policy and the `ProviderError` fields come from the skeleton.
 */
export interface ProviderErrorRules<Failure extends ApiFailure = ApiFailure> {
  /** The SDK's own abort error (thrown when the signal it was handed aborted). */
  isAbort(error: unknown): boolean;
  /**
   * What an abort reads as. Default: the signal's reason when it aborted (our timeout, the
   * caller's abort, the gateway closing), else an `AbortError`.
   */
  aborted?(signal: AbortSignal | undefined): GatewayError;
  /** The SDK's own timeout, in words; undefined when `error` is not one. Retryable, type `timeout`. */
  timeout?(error: unknown): FailureText | undefined;
  /** The SDK's connection failure, in words; undefined when `error` is not one. Retryable, type `connection_error`. */
  connection?(error: unknown): FailureText | undefined;
  /** The SDK's HTTP error (or stream error event) read into its fields; undefined when `error` is not one. */
  apiFailure(error: unknown): Failure | undefined;
  /**
   * Whether the failure can succeed on a later try, given what its status alone says
   * (`isRetryableStatus`: 408, 409, 429, 5xx and no status at all). Default: the status decides.
   * A provider refines it by its error types (an exhausted quota, an error event in a 200 stream).
   */
  retryable?(failure: Failure, byStatus: boolean): boolean;
  /**
   * The provider's wait hint. Default: the response headers through `parseRetryAfter` (one
   * cap for every provider), and none for an error without a status (a 200 stream's event).
   */
  retryAfterMs?(failure: Failure, retryable: boolean): number | undefined;
  /** Failures only this SDK has (client misuse, a malformed payload, a blocked answer); checked after the HTTP error. */
  classify?(error: unknown): ClassifiedFailure | undefined;
  /** Anything else that escaped the SDK: the transport failing under it. Retryable. */
  unknown(error: unknown): { message: string; type: string };
}

/**
 * The one order every adapter maps a failure in:
 * 1. the attempt's signal aborted: the abort (whatever the SDK made of it);
 * 2. already a `GatewayError` (the adapter's own, e.g. a missing key): as is;
 * 3. the SDK's abort error: the abort;
 * 4. the SDK's timeout: retryable `ProviderError`, type `timeout`;
 * 5. the SDK's connection failure: retryable, type `connection_error`;
 * 6. an HTTP error: `ProviderError` with its status, the provider's type, `retryable` by the
 *    status refined by the provider's rules, and `retryAfterMs` ({@link apiProviderError});
 * 7. a failure only this SDK has: as the provider classifies it;
 * 8. anything else: the transport failing under the SDK, retryable.
 * Every message is scrubbed of the secrets and credential shapes and capped (`scrubSecrets`);
 * a `cause` is kept only when no secret appears anywhere in it.
 */
export function mapProviderError<Failure extends ApiFailure>(
  error: unknown,
  context: ProviderErrorContext,
  rules: ProviderErrorRules<Failure>,
): GatewayError {
  const { signal } = context;
  if (signal?.aborted) return aborted(rules, signal);
  if (error instanceof GatewayError) return error;
  if (rules.isAbort(error)) return aborted(rules, signal);
  const timeout = rules.timeout?.(error);
  if (timeout) return providerError(context, timeout, { retryable: true, type: "timeout" });
  const connection = rules.connection?.(error);
  if (connection) return providerError(context, connection, { retryable: true, type: "connection_error" });
  const failure = rules.apiFailure(error);
  if (failure) return apiProviderError(failure, context, rules);
  const classified = rules.classify?.(error);
  if (classified) return providerError(context, classified, classified);
  const { message, type } = rules.unknown(error);
  return providerError(context, { message, cause: error }, { retryable: true, type });
}

/**
 * An HTTP error (or a stream's error event) as a `ProviderError`: the status, the provider's
 * type, retryability by status (`isRetryableStatus`) as the provider refines it, and its wait hint.
 * Exported for stream readers that meet an error event the SDK does not throw.
 */
export function apiProviderError<Failure extends ApiFailure>(
  failure: Failure,
  context: ProviderErrorContext,
  rules: Pick<ProviderErrorRules<Failure>, "retryable" | "retryAfterMs">,
): ProviderError {
  const byStatus = isRetryableStatus(failure.status);
  const retryable = rules.retryable ? rules.retryable(failure, byStatus) : byStatus;
  const retryAfterMs = rules.retryAfterMs
    ? rules.retryAfterMs(failure, retryable)
    : failure.status === undefined
      ? undefined
      : parseRetryAfter(failure.headers);
  return providerError(context, failure, { status: failure.status, retryable, retryAfterMs, type: failure.type });
}

function aborted(rules: Pick<ProviderErrorRules, "aborted">, signal: AbortSignal | undefined): GatewayError {
  if (rules.aborted) return rules.aborted(signal);
  return signal?.aborted ? abortReason(signal) : new AbortError();
}

function providerError(
  context: ProviderErrorContext,
  text: FailureText & { requestId?: string },
  fields: { retryable: boolean; type: string | undefined; status?: number | undefined; retryAfterMs?: number | undefined },
): ProviderError {
  const scrubbed = scrubSecrets(text.message, context.secrets);
  const message = text.requestId ? `${scrubbed} (request ${text.requestId})` : scrubbed;
  return new ProviderError(message, {
    provider: context.provider,
    status: fields.status,
    retryable: fields.retryable,
    retryAfterMs: fields.retryAfterMs,
    type: fields.type,
    cause: text.cause === undefined ? undefined : safeCause(text.cause, context.secrets),
  });
}
