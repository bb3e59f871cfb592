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
  private rejectAborted!: (reason: GatewayError) => void;
  readonly aborted: Promise<never>;

  constructor() {
    this.aborted = new Promise<never>((_, reject) => {
      this.rejectAborted = reject;
    });
    // Nobody may be racing when the abort lands; that is not an unhandled rejection.
    this.aborted.catch(() => {});
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Why the attempt was aborted, or undefined while it runs. */
  get abortedWith(): GatewayError | undefined {
    return this.reason;
  }

  abort(reason: GatewayError): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
    this.rejectAborted(reason);
  }

  /** Settles with `work`, or rejects with the abort reason as soon as the attempt is aborted. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.reason !== undefined) {
      work.catch(() => {});
      return Promise.reject(this.reason);
    }
    return Promise.race([work, this.aborted]);
  }
}
