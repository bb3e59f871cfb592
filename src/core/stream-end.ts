/** How a stream ended: read to its end, failed, or abandoned by its consumer (`return()`). */
export type StreamEnd = { kind: "done" } | { kind: "failed"; error: unknown } | { kind: "abandoned" };

/**
 * A pass-through over a stream that ends exactly once: `onEnd` runs once whether the stream is
 * read to its end, throws, or is abandoned, and afterwards `next()` reports done. The one
 * "end exactly once" mechanism for the call's settlement (`SettlementTap`), the attempt's
 * usage watch (`watchStreamUsage`) and the provider stream's relay (`relayStream`).
 * A subclass may turn a source error into its own (`toFailure`), fail a stream that ended
 * too early (`failureAtDone`), and end the stream from outside a read (`endNow`).
 *
 * An explicit iterator, not a generator: `return()` on a generator that never started skips
 * its `finally`, and an unconsumed stream must still end (and release what it holds).
 */
export abstract class EndOnceStream<T> implements AsyncIterableIterator<T> {
  private done = false;
  private readonly source: AsyncIterator<T>;

  constructor(items: AsyncIterable<T> | AsyncIterator<T>) {
    this.source = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items;
  }

  /** Whether the stream has ended (and `onEnd` run). */
  protected get ended(): boolean {
    return this.done;
  }

  /** Each item, as it passes. */
  protected onItem(_item: T): void {}

  /** Once, when the stream ends; an error thrown here is what `next()`/`return()` rejects with. */
  protected abstract onEnd(end: StreamEnd): void;

  /** What a read that threw fails the stream with (and rethrows): the error itself by default. */
  protected toFailure(error: unknown): unknown {
    return error;
  }

  /** An error when the source's end is not a proper end (a truncated stream); undefined when it is. */
  protected failureAtDone(): unknown {
    return undefined;
  }

  /** Ends the stream now, from outside a read; no-op once ended. */
  protected endNow(end: StreamEnd): void {
    this.end(end);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<T>> {
    if (this.done) return { done: true, value: undefined };
    let result: IteratorResult<T>;
    try {
      result = await this.source.next();
    } catch (error) {
      const failure = this.toFailure(error);
      this.end({ kind: "failed", error: failure });
      throw failure;
    }
    if (!result.done) {
      this.onItem(result.value);
      return result;
    }
    const failure = this.failureAtDone();
    if (failure !== undefined) {
      this.end({ kind: "failed", error: failure });
      throw failure;
    }
    this.end({ kind: "done" });
    return result;
  }

  async return(): Promise<IteratorResult<T>> {
    try {
      await this.source.return?.();
    } finally {
      this.end({ kind: "abandoned" });
    }
    return { done: true, value: undefined };
  }

  private end(end: StreamEnd): void {
    if (this.done) return;
    this.done = true;
    this.onEnd(end);
  }
}
