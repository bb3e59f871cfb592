/**
 * The calls a handler is serving, each with the controller that cuts it: what a drain waits
 * for, and what it aborts once its time is up. Calls on one connection share its controller
 * (see node-adapter.ts), so each call is an entry of its own.
 */
export class InFlight {
  private readonly calls = new Set<{ readonly controller: AbortController }>();
  private idle: (() => void) | undefined;
  draining = false;

  get size(): number {
    return this.calls.size;
  }

  /** Registers a call; the returned function ends it (idempotent). */
  begin(controller: AbortController): () => void {
    const call = { controller };
    this.calls.add(call);
    return () => {
      if (!this.calls.delete(call)) return;
      if (this.calls.size === 0) this.idle?.();
    };
  }

  /** Refuses new calls, waits up to `timeoutMs` for those in flight, then aborts the rest. */
  async drain(timeoutMs: number, reason: Error): Promise<void> {
    this.draining = true;
    if (this.calls.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idle = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.idle = undefined;
    }
    for (const { controller } of this.calls) controller.abort(reason);
  }
}
