/** How an `Outbox` hands items on. */
export interface OutboxOptions<Item> {
  /**
   * Delivers items in order and says how many went through; the rest (or all, when it throws)
   * stay queued and are retried later, starting with the first undelivered one.
   */
  deliver(items: readonly Item[]): number | Promise<number>;
  /** Most items kept waiting; past it the oldest are dropped (and counted). */
  maxPending: number;
  /** First retry delay after a failed delivery; doubles per failure up to `maxRetryMs`. */
  minRetryMs: number;
  maxRetryMs: number;
  /** Most items per delivery. */
  batchSize: number;
  /**
   * How long the first item of a burst waits for company before delivery starts (default 0: the
   * next microtask). A store whose every write costs the caller's thread (embedded PGlite) gets
   * one INSERT per few ms instead of one per call; a full batch goes at once. The timer keeps
   * the process alive, so an item is never stranded by a natural exit.
   */
  lingerMs?: number;
}

/**
 * A bounded, ordered hand-off to something that may fail (a database, a user's hook): items
 * are delivered in a microtask after they arrive, batched, one delivery at a time; a failed
 * delivery keeps its items and retries them with backoff; `close()` makes one last attempt.
 * Nothing is delivered twice by the outbox itself: only items not reported delivered are retried.
 */
export class Outbox<Item> {
  private pending: Item[] = [];
  private running: Promise<void> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private flushQueued = false;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private closed = false;
  /** Items dropped because the buffer was full while deliveries kept failing. */
  dropped = 0;

  constructor(private readonly options: OutboxOptions<Item>) {}

  /** Items waiting (not counting a delivery in flight). */
  get size(): number {
    return this.pending.length;
  }

  push(item: Item): void {
    this.pending.push(item);
    this.trim();
    // One microtask per burst, not per item; a backoff in progress decides the next attempt.
    // After close() an item still gets its one delivery attempt (a stream read to its end late).
    if (this.flushQueued || this.running || this.retryTimer) return;
    const lingerMs = this.options.lingerMs ?? 0;
    if (lingerMs > 0 && this.pending.length < this.options.batchSize) {
      this.lingerTimer ??= setTimeout(() => {
        this.lingerTimer = undefined;
        void this.flush();
      }, lingerMs);
      return;
    }
    this.flushQueued = true;
    queueMicrotask(this.onMicrotask);
  }

  /** The burst's delivery, one function for every burst (no closure per item). */
  private readonly onMicrotask = (): void => {
    this.flushQueued = false;
    // A backoff or a delivery that began meanwhile: `flush` sorts it out, as it always did.
    if (this.running || this.retryTimer || this.lingerTimer) void this.flush();
    else void this.start();
  };

  /** Delivers what is waiting now (cutting short any backoff); resolves when done or failed. */
  async flush(): Promise<void> {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    // Bounded: each pass either empties the queue or stops at the first failure.
    for (let pass = 0; pass < 2 && this.running; pass++) await this.running;
    if (this.running || this.pending.length === 0) return;
    await this.start();
  }

  /**
   * Delivers what is pending. A delivery that answers synchronously (a memory store) is done
   * before this returns, with no promise or async frame; one that answers later is `running`
   * until it is over, and its promise is returned.
   */
  private start(): Promise<void> | undefined {
    const later = this.drain();
    if (!later) return undefined;
    const running: Promise<void> = later.finally(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
    return running;
  }

  /** One last delivery attempt; afterwards nothing is retried. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Delivers batch after batch until none is left or one falls short; a promise once one answers asynchronously. */
  private drain(): Promise<void> | undefined {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.options.batchSize);
      let answer: number | Promise<number>;
      try {
        answer = this.options.deliver(batch);
      } catch {
        answer = 0;
      }
      if (typeof answer !== "number") return this.drainLater(batch, answer);
      if (!this.delivered(batch, answer)) return undefined;
    }
    return undefined;
  }

  private async drainLater(batch: Item[], answer: Promise<number>): Promise<void> {
    let count: number;
    try {
      count = await answer;
    } catch {
      count = 0;
    }
    if (!this.delivered(batch, count)) return;
    await this.drain();
  }

  /** Counts a delivery of `batch`; false when it fell short (the rest queued again, a retry scheduled). */
  private delivered(batch: Item[], count: number): boolean {
    const delivered = Math.max(0, Math.min(batch.length, count));
    if (delivered === batch.length) {
      this.failures = 0;
      return true;
    }
    this.pending.unshift(...batch.slice(delivered));
    this.trim();
    this.failures++;
    this.scheduleRetry();
    return false;
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const delay = Math.min(this.options.maxRetryMs, this.options.minRetryMs * 2 ** Math.min(30, this.failures - 1));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, delay);
    // A retry must not keep the process alive on its own.
    this.retryTimer.unref?.();
  }

  private trim(): void {
    const excess = this.pending.length - this.options.maxPending;
    if (excess > 0) {
      this.pending.splice(0, excess);
      this.dropped += excess;
    }
  }
}
