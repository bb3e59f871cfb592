import { RateLimitError, type LimitScope } from "../core/errors.js";
import { abortReason } from "../core/abortable.js";
import type { StateStore, TokenDraw, TokenResult } from "../stores/store.js";
import { tokensNeeded, waitForTokens } from "../core/token-bucket.js";

/** A draw on one RPM or TPM bucket, with what a rejection should say about it. */
export interface LimitDraw extends TokenDraw {
  readonly scope: LimitScope;
  readonly kind: "rpm" | "tpm";
  /** For messages: `key 'team-a' RPM limit 60`. Never a user id or a secret. */
  readonly label: string;
}

/** A limit that held a call back, for the `limit` event. */
export interface LimitHit {
  readonly draw: LimitDraw;
  readonly action: "rejected" | "queued";
  readonly waitMs: number;
}

interface Waiter {
  readonly draws: readonly LimitDraw[];
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly onAbort: () => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  trying: boolean;
  /** Past its first step (`admit`): from then on its turn comes by `attempt`. */
  admitted: boolean;
  done: boolean;
}

interface BucketQueue {
  readonly waiters: Waiter[];
}

/**
 * Key and user RPM/TPM limits over a `StateStore`. The fast path is one atomic take on every
 * bucket the call touches (sub-microsecond with the memory store): no timer, no scheduler.
 * Over a limit, a call is rejected with an accurate `retryAfterMs`, or, in queue mode, waits
 * in FIFO order per bucket: a newcomer never overtakes a waiter on a bucket they share, is
 * refused at once when its computed wait exceeds `maxWaitMs`, and leaves the queue (taking
 * nothing) when its signal aborts. Only the waiter at the head of all its queues holds a timer,
 * set for when its buckets will have refilled.
 *
 * Not bottleneck: its `schedule()` costs ~5 ms per job even under the limit (4 timers per job;
 * bench/limiter-overhead.ts: 5.3 ms p50 against 0.2 µs for an awaited memoryStore take), its
 * reservoir refills in steps rather than continuously, it cannot take from several buckets (key
 * and user, RPM and TPM) at once, and its Redis clustering would be a second source of truth
 * beside the StateStore. Where a call waits anyway, a small FIFO over the same buckets does.
 */
export class RateLimiter {
  private readonly queues = new Map<string, BucketQueue>();

  constructor(
    private readonly store: StateStore,
    /** `undefined`: reject at once. */
    private readonly queue: { maxWaitMs: number } | undefined,
    private readonly now: () => number,
  ) {}

  /**
   * Takes every draw, waits its turn (queue mode) or throws `RateLimitError`. `onHit(hit, about)`
   * hears of a limit that held the call back: one function for every call, handed the call's
   * `about`, so the fast path builds no closure per call.
   */
  async acquire<About>(draws: readonly LimitDraw[], signal: AbortSignal, onHit: (hit: LimitHit, about: About) => void, about: About): Promise<void> {
    if (!this.queue) {
      const result = await this.store.consumeTokens(draws, this.now());
      if (result.ok) return;
      const draw = draws[Math.max(0, result.blocking)]!;
      onHit({ draw, action: "rejected", waitMs: result.retryAfterMs }, about);
      throw new RateLimitError(draw.scope, result.retryAfterMs, draw.label);
    }
    if (signal.aborted) throw abortReason(signal);
    const maxWaitMs = this.queue.maxWaitMs;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        draws,
        deadline: this.now() + maxWaitMs,
        signal,
        resolve,
        reject,
        onAbort: () => {
          if (waiter.done) return;
          this.leave(waiter);
          reject(abortReason(signal));
        },
        timer: undefined,
        trying: false,
        admitted: false,
        done: false,
      };
      // Joined synchronously, before any await: arrivals are ordered as they came.
      for (const draw of draws) {
        let queue = this.queues.get(draw.key);
        if (!queue) {
          queue = { waiters: [] };
          this.queues.set(draw.key, queue);
        }
        queue.waiters.push(waiter);
      }
      signal.addEventListener("abort", waiter.onAbort, { once: true });
      void this.admit(waiter, maxWaitMs, (hit) => onHit(hit, about));
    });
  }

  /** Gives tokens back (a negative amount takes more), then lets waiters try again. */
  refund(draws: readonly TokenDraw[]): void {
    if (draws.length === 0) return;
    void this.store.refundTokens(draws, this.now()).then(
      () => {
        for (const draw of draws) {
          const head = this.queues.get(draw.key)?.waiters[0];
          if (head) void this.attempt(head);
        }
      },
      () => {
        // A store that failed to refund leaves the bucket lower; it refills on its own.
      },
    );
  }

  /**
   * A newcomer's first step: the head of every queue takes at once when it can (the common
   * case, no event); otherwise its wait behind the queue is computed and it is refused at once
   * when that exceeds `maxWaitMs`, or left to wait its turn.
   */
  private async admit(waiter: Waiter, maxWaitMs: number, onHit: (hit: LimitHit) => void): Promise<void> {
    let blocking: number;
    let waitMs: number;
    try {
      if (this.isHead(waiter)) {
        waiter.trying = true;
        const result = await this.store.consumeTokens(waiter.draws, this.now());
        waiter.trying = false;
        if (waiter.done) {
          if (result.ok) this.refund(waiter.draws); // aborted while the store answered
          return;
        }
        if (result.ok) {
          this.leave(waiter);
          waiter.resolve();
          return;
        }
        ({ blocking, waitMs } = result.blocking >= 0 ? { blocking: result.blocking, waitMs: result.retryAfterMs } : { blocking: 0, waitMs: 0 });
      } else {
        const peek = await this.store.peekTokens(waiter.draws, this.now());
        if (waiter.done) return;
        ({ blocking, waitMs } = this.waitBehindQueue(waiter, peek));
      }
    } catch (error) {
      this.failWaiter(waiter, error);
      return;
    }
    const draw = waiter.draws[blocking]!;
    if (waitMs > maxWaitMs) {
      this.leave(waiter);
      onHit({ draw, action: "rejected", waitMs });
      waiter.reject(new RateLimitError(draw.scope, waitMs, `${draw.label}; the wait would exceed maxWaitMs ${maxWaitMs}`));
      return;
    }
    waiter.admitted = true;
    onHit({ draw, action: "queued", waitMs });
    if (this.isHead(waiter)) this.arm(waiter, waitMs);
    else void this.attempt(waiter);
  }

  /** The wait for the waiters ahead on each bucket, then this one's own draw. */
  private waitBehindQueue(waiter: Waiter, peek: TokenResult): { blocking: number; waitMs: number } {
    let blocking = 0;
    let waitMs = 0;
    waiter.draws.forEach((draw, index) => {
      let ahead = 0;
      for (const other of this.queues.get(draw.key)?.waiters ?? []) {
        if (other === waiter) break;
        ahead += other.draws.find((candidate) => candidate.key === draw.key)?.amount ?? 0;
      }
      const wait = waitForTokens(peek.levels[index] ?? 0, ahead + tokensNeeded(draw.amount, draw.capacity), draw.refillPerMs);
      if (wait > waitMs) {
        waitMs = wait;
        blocking = index;
      }
    });
    return { blocking, waitMs };
  }

  private isHead(waiter: Waiter): boolean {
    for (const draw of waiter.draws) if (this.queues.get(draw.key)?.waiters[0] !== waiter) return false;
    return true;
  }

  private arm(waiter: Waiter, delayMs: number): void {
    if (waiter.timer) clearTimeout(waiter.timer);
    waiter.timer = setTimeout(() => {
      waiter.timer = undefined;
      void this.attempt(waiter);
    }, Math.max(0, delayMs));
  }

  /** The waiter's turn, if it is at the head of every queue: take, or wait for the refill. */
  private async attempt(waiter: Waiter): Promise<void> {
    if (waiter.done || waiter.trying || !waiter.admitted) return;
    const remaining = waiter.deadline - this.now();
    if (!this.isHead(waiter)) {
      if (remaining <= 0) this.timeOut(waiter, 0);
      else if (!waiter.timer) this.arm(waiter, remaining);
      return;
    }
    waiter.trying = true;
    let result: TokenResult;
    try {
      result = await this.store.consumeTokens(waiter.draws, this.now());
    } catch (error) {
      this.failWaiter(waiter, error);
      return;
    }
    waiter.trying = false;
    if (waiter.done) {
      // Aborted while the store answered: what was taken goes back.
      if (result.ok) this.refund(waiter.draws);
      return;
    }
    if (result.ok) {
      this.leave(waiter);
      waiter.resolve();
      return;
    }
    if (result.retryAfterMs > waiter.deadline - this.now()) this.timeOut(waiter, result.retryAfterMs, result.blocking);
    else this.arm(waiter, result.retryAfterMs);
  }

  private timeOut(waiter: Waiter, retryAfterMs: number, blocking = 0): void {
    this.leave(waiter);
    const draw = waiter.draws[Math.max(0, blocking)]!;
    waiter.reject(new RateLimitError(draw.scope, retryAfterMs, `${draw.label}; queued longer than maxWaitMs`));
  }

  /** A store that failed while a queued call was being admitted fails that call, once. */
  private failWaiter(waiter: Waiter, error: unknown): void {
    waiter.trying = false;
    if (waiter.done) return;
    this.leave(waiter);
    waiter.reject(error);
  }

  /** Removes a waiter from every queue it is in, and gives the next ones their turn. */
  private leave(waiter: Waiter): void {
    waiter.done = true;
    if (waiter.timer) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    waiter.signal.removeEventListener("abort", waiter.onAbort);
    const heads: Waiter[] = [];
    for (const draw of waiter.draws) {
      const queue = this.queues.get(draw.key);
      if (!queue) continue;
      const index = queue.waiters.indexOf(waiter);
      if (index >= 0) queue.waiters.splice(index, 1);
      const head = queue.waiters[0];
      if (head) heads.push(head);
      else this.queues.delete(draw.key);
    }
    for (const head of heads) if (this.isHead(head)) void this.attempt(head);
  }
}
