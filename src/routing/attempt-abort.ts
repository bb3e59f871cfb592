import type { GatewayError } from "../core/errors.js";

/**
 * Aborts one attempt: the signal handed to the adapter, and a promise that work is raced
 * against, so an adapter that ignores its signal still cannot hold a call past its timeout,
 * its caller's abort or `close()`. Racing a promise costs far less than adding and removing
 * an event listener per call and per stream chunk (measured: listeners were ~15% of the core
 * path's CPU).
 *
 * The `AbortController` is built only when someone reads `signal` (an SDK adapter does; an
 * in-process adapter may not): on Node 20 building one costs more than the rest of the
 * attempt's bookkeeping. Read after the abort, the signal is already aborted with the reason.
 */
export class AttemptAbort {
  private controller: AbortController | undefined;
  private reason: GatewayError | undefined;
  /** `aborted`, built when first read (the stream relay reads it; a plain call never does). */
  private abortedPromise: Promise<never> | undefined;
  private rejectAborted: ((reason: GatewayError) => void) | undefined;
  /** Rejects the attempt's first race on abort: that race needs no `aborted` promise of its own. */
  private rejectFirstRace: ((reason: GatewayError) => void) | undefined;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Rejects with the reason when the attempt is aborted; never resolves. */
  get aborted(): Promise<never> {
    if (this.abortedPromise === undefined) {
      this.abortedPromise =
        this.reason !== undefined
          ? Promise.reject(this.reason)
          : new Promise<never>((_, reject) => {
              this.rejectAborted = reject;
            });
      // Nobody may be racing when the abort lands; that is not an unhandled rejection.
      this.abortedPromise.catch(() => {});
    }
    return this.abortedPromise;
  }

  /** Why the attempt was aborted, or undefined while it runs. */
  get abortedWith(): GatewayError | undefined {
    return this.reason;
  }

  abort(reason: GatewayError): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
    this.rejectAborted?.(reason);
    // Settled already if its work won: then this does nothing.
    this.rejectFirstRace?.(reason);
  }

  /**
   * Settles with `work`, or rejects with the abort reason as soon as the attempt is aborted.
   * The first race (a plain call's only one) is settled directly by `abort`, not through
   * `Promise.race` and the `aborted` promise: fewer promises and reactions per call.
   */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.reason !== undefined) {
      work.catch(() => {});
      return Promise.reject(this.reason);
    }
    if (this.rejectFirstRace === undefined) {
      return new Promise<T>((resolve, reject) => {
        this.rejectFirstRace = reject;
        work.then(resolve, reject);
      });
    }
    return Promise.race([work, this.aborted]);
  }
}
