import type { BudgetCounter, TokenDraw } from "../store.js";
import { AFTER_CALLS } from "./after-call-scripts.js";
import type { RedisKeys } from "./redis-keys.js";
import type { RedisLink, ScriptRunner } from "./redis-link.js";

/**
 * Settlements per script call, past which a batch is sent at once and a new one started:
 * bounds one script's run (Redis does nothing else meanwhile) and its argument list (Lua's
 * `unpack` of one counter's ids).
 */
export const MAX_BATCH_SETTLEMENTS = 512;
/** Answer bytes per script call, past which a batch is sent at once (one large answer goes alone). */
export const MAX_BATCH_ANSWER_BYTES = 2 ** 20;

/** One counter's settlements in a batch: reservation id -> nanodollars. */
interface CounterSettlements {
  counter: BudgetCounter;
  readonly byId: Map<string, string>;
}

/** What is waiting for the next send. */
interface Batch {
  /** Bucket key -> the summed refund on it. */
  readonly refunds: Map<string, TokenDraw>;
  readonly refundWaiters: ((applied: boolean) => void)[];
  readonly counters: Map<string, CounterSettlements>;
  readonly settleWaiters: ((applied: boolean) => void)[];
  settlements: number;
  /** Cache key (unprefixed) -> answer and TTL: a later store of the same key replaces it. */
  readonly answers: Map<string, { readonly value: string; readonly ttlMs: number }>;
  readonly answerWaiters: ((applied: boolean) => void)[];
  answerBytes: number;
}

/**
 * What calls send once they are over (TPM refunds, budget settlements, answers for the cache's
 * shared tier), gathered over one turn
 * of the event loop and sent as one script (`AFTER_CALLS`), rather than two scripts per call:
 * under load many calls end in the same turn, and the key's bucket and counter are shared by
 * all of them. Nothing on a call's path waits for it (both are sent after the answer).
 *
 * Each `refund` or `settle` resolves `true` once Redis applied its batch, `false` when the
 * batch could not be sent or failed (the caller then does what it did for one command that
 * failed: a settlement is kept for replay, idempotent by id; a refund goes to the fallback).
 * A batch that timed out may still have run: replayed settlements count once (tombstones),
 * and a refund counted twice only leaves a bucket fuller, within its capacity. An answer not
 * stored costs a later hit, never a call.
 */
export class AfterCallBatch {
  private batch: Batch | undefined;

  constructor(
    private readonly link: RedisLink,
    private readonly keys: RedisKeys,
    private readonly script: ScriptRunner,
    /** A counter's TTL for Redis from `now` ("-1": never expires). */
    private readonly ttlOf: (expiresAt: number, now: number) => string,
  ) {}

  /** Adds each draw's amount to its bucket's refund in the next batch. */
  refund(draws: readonly TokenDraw[]): Promise<boolean> {
    const batch = this.current();
    for (const draw of draws) {
      const summed = batch.refunds.get(draw.key);
      batch.refunds.set(
        draw.key,
        summed ? { key: draw.key, amount: summed.amount + draw.amount, capacity: draw.capacity, refillPerMs: draw.refillPerMs } : draw,
      );
    }
    return new Promise((resolve) => batch.refundWaiters.push(resolve));
  }

  /** Adds the settlement of `id` on each counter to the next batch. */
  settle(id: string, counters: readonly BudgetCounter[], nano: string): Promise<boolean> {
    const batch = this.current();
    for (const counter of counters) {
      let entry = batch.counters.get(counter.key);
      if (!entry) {
        entry = { counter, byId: new Map() };
        batch.counters.set(counter.key, entry);
      }
      if (counter.expiresAt > entry.counter.expiresAt) entry.counter = counter;
      entry.byId.set(id, nano);
    }
    const applied = new Promise<boolean>((resolve) => batch.settleWaiters.push(resolve));
    if (++batch.settlements >= MAX_BATCH_SETTLEMENTS) this.flush();
    return applied;
  }

  /**
   * Sends the waiting batch now when it settles any of `counters`: a reservation sent after a
   * settlement on the same counter must see it, as it did when each settlement was sent at
   * once (a caller's next call, after its last one was settled, sees that call's actual cost).
   * Commands on one connection run in the order they were written, and the batch is written
   * before this returns.
   */
  flushBefore(counters: readonly BudgetCounter[]): void {
    const batch = this.batch;
    if (!batch) return;
    for (const counter of counters) {
      if (batch.counters.has(counter.key)) {
        this.flush();
        return;
      }
    }
  }

  /** Stores an answer of the cache's shared tier with the next batch (`bytes`: its size, already measured). */
  storeAnswer(key: string, value: string, ttlMs: number, bytes: number): Promise<boolean> {
    const batch = this.current();
    batch.answers.set(key, { value, ttlMs: Math.max(1, Math.ceil(ttlMs)) });
    const applied = new Promise<boolean>((resolve) => batch.answerWaiters.push(resolve));
    batch.answerBytes += bytes;
    if (batch.answerBytes >= MAX_BATCH_ANSWER_BYTES) this.flush();
    return applied;
  }

  private current(): Batch {
    if (this.batch) return this.batch;
    const batch: Batch = {
      refunds: new Map(),
      refundWaiters: [],
      counters: new Map(),
      settleWaiters: [],
      settlements: 0,
      answers: new Map(),
      answerWaiters: [],
      answerBytes: 0,
    };
    this.batch = batch;
    // After this turn's I/O callbacks: every call that ended in it joins the batch.
    setImmediate(() => {
      if (this.batch === batch) this.flush();
    });
    return batch;
  }

  /** Sends what is waiting now (at close: the connection goes once the store's work is done). */
  flush(): void {
    const batch = this.batch;
    this.batch = undefined;
    if (batch) void this.send(batch);
  }

  private async send(batch: Batch): Promise<void> {
    // Refunds never probe a link that is down (a lost refund only leaves a bucket lower);
    // settlements do, as each one did on its own.
    const refunds = this.link.isDown ? new Map<string, TokenDraw>() : batch.refunds;
    if (refunds !== batch.refunds) resolveAll(batch.refundWaiters, false);
    if (refunds.size === 0 && batch.counters.size === 0 && batch.answers.size === 0) {
      resolveAll(batch.refundWaiters, false);
      return;
    }
    let applied = false;
    // Written in this turn when the link answers at once (see `flushBefore`).
    const usable = this.link.usable();
    if (usable === true || (usable !== false && (await usable))) {
      try {
        const args = this.arguments(refunds, batch.counters, batch.answers);
        await this.link.run(() => this.script(refunds.size + batch.counters.size * 2 + batch.answers.size, ...args));
        applied = true;
      } catch {
        // The link is down now; every caller falls back as for a failed command of its own.
      }
    }
    resolveAll(batch.refundWaiters, applied);
    resolveAll(batch.settleWaiters, applied);
    resolveAll(batch.answerWaiters, applied);
  }

  /** KEYS then ARGV of `AFTER_CALLS` (see its layout). */
  private arguments(refunds: Map<string, TokenDraw>, counters: Map<string, CounterSettlements>, answers: Batch["answers"]): string[] {
    const now = Date.now();
    const keys: string[] = [];
    const values: string[] = [String(refunds.size), String(counters.size), String(answers.size)];
    for (const draw of refunds.values()) {
      keys.push(this.keys.bucket(draw.key));
      values.push(String(draw.amount), String(draw.capacity), String(draw.refillPerMs));
    }
    for (const { counter, byId } of counters.values()) {
      keys.push(this.keys.counter(counter.key), this.keys.holds(counter.key));
      values.push(this.ttlOf(counter.expiresAt, now), String(byId.size));
      for (const [id, nano] of byId) values.push(id, nano);
    }
    for (const [key, answer] of answers) {
      keys.push(this.keys.cache(key));
      values.push(answer.value, String(answer.ttlMs));
    }
    return [...keys, ...values];
  }
}

function resolveAll(waiters: ((applied: boolean) => void)[], applied: boolean): void {
  for (const resolve of waiters.splice(0)) resolve(applied);
}
