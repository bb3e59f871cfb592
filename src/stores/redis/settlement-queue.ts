import { randomUUID } from "node:crypto";
import type { BudgetCounter } from "../store.js";

/** Ids (reservation, nanodollars) per Lua call when a counter's backlog is replayed. */
const BATCH_IDS = 500;

/** A counter's settlements waiting for Redis. */
interface CounterBacklog {
  counter: BudgetCounter;
  /** Reservation id -> nanodollars (decimal string, "0" for a cancellation). */
  readonly byId: Map<string, string>;
  /** Costs folded in past the bound: delivered under one id of their own, exactly once. */
  foldedNano: number;
  foldedId: string;
}

/** One Lua call's worth: a counter and up to `BATCH_IDS` (id, amount) pairs. */
export interface SettlementBatch {
  readonly counter: BudgetCounter;
  readonly pairs: readonly (readonly [id: string, nano: string])[];
}

/** What the queue reports for `stats()` and the overflow hook. */
export interface SettlementQueueCounts {
  /** (call, counter) settlements waiting, plus folded totals. */
  readonly pending: number;
  /** Settlements that arrived while the bound was reached: their costs were folded into one total per counter, their holds left to lapse. */
  readonly folded: number;
}

/**
 * Settlements Redis has not confirmed yet, kept per budget counter rather than per call, so a
 * long outage costs one small map entry per (call, counter), and a replay is one Lua call per
 * 500 of them. Every entry keeps its reservation id, because the settle script is idempotent by
 * id: an entry that reached Redis through a command that timed out counts once when replayed.
 *
 * Past `maxEntries` the queue stops keeping ids: a further cost is added to its counter's
 * folded total (delivered once, under an id of its own), so no spend is ever dropped; what is
 * given up is the release of that call's hold (it lapses at its expiry, over-counting until
 * then) and exactly-once for that one call. `onFold` is told each time, and `folded` counts it.
 */
export class SettlementQueue {
  private readonly backlogs = new Map<string, CounterBacklog>();
  private entries = 0;
  private foldedCount = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly onFold: (counterKey: string) => void,
  ) {}

  get counts(): SettlementQueueCounts {
    let foldedPending = 0;
    for (const backlog of this.backlogs.values()) if (backlog.foldedNano > 0) foldedPending++;
    return { pending: this.entries + foldedPending, folded: this.foldedCount };
  }

  get isEmpty(): boolean {
    return this.backlogs.size === 0;
  }

  /** Keeps `nano` for `id` on each counter (a later entry for the same id and counter replaces it). */
  add(id: string, counters: readonly BudgetCounter[], nano: string): void {
    for (const counter of counters) {
      let backlog = this.backlogs.get(counter.key);
      if (!backlog) {
        backlog = { counter, byId: new Map(), foldedNano: 0, foldedId: randomUUID() };
        this.backlogs.set(counter.key, backlog);
      }
      if (counter.expiresAt > backlog.counter.expiresAt) backlog.counter = counter;
      if (backlog.byId.has(id)) {
        backlog.byId.set(id, nano);
      } else if (this.entries < this.maxEntries) {
        backlog.byId.set(id, nano);
        this.entries++;
      } else {
        backlog.foldedNano += Number(nano);
        this.foldedCount++;
        this.onFold(counter.key);
      }
    }
  }

  /** The next batch to send, one counter's ids (its folded total among them); undefined when empty. */
  next(now: number): SettlementBatch | undefined {
    for (const [key, backlog] of this.backlogs) {
      // A counter past its expiry is gone from Redis; settling it would only recreate it.
      if (backlog.counter.expiresAt <= now) {
        this.entries -= backlog.byId.size;
        this.backlogs.delete(key);
        continue;
      }
      if (backlog.foldedNano > 0) {
        // The folded total becomes an entry under its own id (one per counter, past the bound on
        // purpose); what folds next goes under a fresh id, so a late run of this one counts once.
        backlog.byId.set(backlog.foldedId, String(backlog.foldedNano));
        this.entries++;
        backlog.foldedNano = 0;
        backlog.foldedId = randomUUID();
      }
      const pairs: [string, string][] = [];
      for (const [id, nano] of backlog.byId) {
        pairs.push([id, nano]);
        if (pairs.length === BATCH_IDS) break;
      }
      if (pairs.length > 0) return { counter: backlog.counter, pairs };
      this.backlogs.delete(key);
    }
    return undefined;
  }

  /** Forgets a batch Redis applied (entries replaced meanwhile by a new amount stay). */
  delivered(batch: SettlementBatch): void {
    const backlog = this.backlogs.get(batch.counter.key);
    if (!backlog) return;
    for (const [id, nano] of batch.pairs) {
      if (backlog.byId.get(id) === nano) {
        backlog.byId.delete(id);
        this.entries--;
      }
    }
    if (backlog.byId.size === 0 && backlog.foldedNano <= 0) this.backlogs.delete(batch.counter.key);
  }
}
