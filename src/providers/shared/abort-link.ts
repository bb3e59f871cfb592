/**
 * The one abort listener of a request made by `createNodeFetch`, from sending it to the end of
 * its body: aborting the signal calls whatever `to()` last pointed it at (rejecting the wait
 * for the response head, then failing the body), or nothing in between.
 *
 * Why one: the head's wait and the body each added and removed their own listener, and on
 * Node 20 `addEventListener` on an `AbortSignal` is one of the transport's larger costs per
 * call (validating its options, EventTarget bookkeeping). The link is the listener itself
 * (`handleEvent`), so no closure is made for it either.
 */
export class AbortLink {
  private target: (() => void) | undefined;
  private attached = true;

  constructor(readonly signal: AbortSignal) {
    signal.addEventListener("abort", this, { once: true });
  }

  handleEvent(): void {
    this.attached = false;
    this.target?.();
  }

  /** What an abort does from now on; `undefined`: nothing. */
  to(target: (() => void) | undefined): void {
    this.target = target;
  }

  /** The request is over: the listener goes. */
  release(): void {
    this.target = undefined;
    if (!this.attached) return;
    this.attached = false;
    this.signal.removeEventListener("abort", this);
  }
}
