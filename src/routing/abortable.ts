import { AbortError, GatewayError } from "../errors.js";

/** The signal's reason as a GatewayError: our own reasons pass through, a caller's become AbortError. */
export function abortReason(signal: AbortSignal): GatewayError {
  return signal.reason instanceof GatewayError ? signal.reason : new AbortError();
}

/**
 * Settles with `promise`, or rejects as soon as `signal` aborts, so an adapter that ignores
 * its signal still cannot hold a call past its timeout or its caller's abort.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
