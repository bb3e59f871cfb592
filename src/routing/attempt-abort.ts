import type { GatewayError } from "../core/errors.js";
import { abortReason } from "../core/abortable.js";

/**
 * Aborts one attempt: the signal handed to the adapter, and a promise that work is raced
 * against, so an adapter that ignores its signal still cannot hold a call past its timeout,
 * its caller's abort or `close()`. Racing a promise costs far less than adding and removing
 * an event listener per call and per stream chunk (measured: listeners were ~15% of the core
 * path's CPU).
 */
export class AttemptAbort {
  readonly controller = new AbortController();
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
    return this.controller.signal;
  }

  abort(reason: GatewayError): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort(reason);
    this.rejectAborted(reason);
  }

  /** Settles with `work`, or rejects with the abort reason as soon as the attempt is aborted. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.controller.signal.aborted) {
      work.catch(() => {});
      return Promise.reject(abortReason(this.controller.signal));
    }
    return Promise.race([work, this.aborted]);
  }
}
