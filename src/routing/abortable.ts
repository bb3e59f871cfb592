import { AbortError, GatewayError } from "../errors.js";

/** The signal's reason as a GatewayError: our own reasons pass through, a caller's become AbortError. */
export function abortReason(signal: AbortSignal): GatewayError {
  return signal.reason instanceof GatewayError ? signal.reason : new AbortError();
}
