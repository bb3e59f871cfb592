import { StoreUnavailableError } from "../../core/errors.js";
import type { BudgetCounter, BudgetReading } from "../store.js";
import type { RedisLink } from "./redis-link.js";

/** What `BudgetReads` did, for `redisStore(...).stats()`. */
export interface BudgetReadCounts {
  /** Reads sent to Redis. */
  budgetReadsSent: number;
  /** Requests answered by a read another request had already queued. */
  budgetReadsCoalesced: number;
  /** Requests not sent because the link was down, paused or not connected. */
  budgetReadsSkipped: number;
  /** Reads sent that failed or timed out (the link's state is left to the calls). */
  budgetReadsFailed: number;
}

interface Slot {
  /** The read on the wire for this counter. */
  current?: Promise<BudgetReading> | undefined;
  /** The one read queued behind it, shared by every request made meanwhile. */
  next?: Promise<BudgetReading> | undefined;
}

/**
 * Budget counter reads for alerts and `gateway.budgets`, kept from ever weighing on calls:
 * sent only while the link is up (never waiting for it), timed out without moving the link
 * up or down, and at most one on the wire per counter. A request made while one is on the wire
 * waits for a single follow-up read (so it sees every settlement sent before it), which all
 * requests made meanwhile share: a burst of settlements costs two reads per counter, not one each.
 */
export class BudgetReads {
  private readonly slots = new Map<string, Slot>();
  private readonly tally: BudgetReadCounts = { budgetReadsSent: 0, budgetReadsCoalesced: 0, budgetReadsSkipped: 0, budgetReadsFailed: 0 };

  constructor(
    private readonly link: RedisLink,
    /** One counter's read on the wire. */
    private readonly send: (counter: BudgetCounter) => Promise<BudgetReading>,
  ) {}

  counts(): BudgetReadCounts {
    return { ...this.tally };
  }

  /** Rejects with `StoreUnavailableError` when the link is not up (nothing sent). */
  read(counter: BudgetCounter): Promise<BudgetReading> {
    const slot = this.slots.get(counter.key);
    if (!slot) {
      const fresh: Slot = {};
      this.slots.set(counter.key, fresh);
      return this.start(fresh, counter);
    }
    if (slot.next) {
      this.tally.budgetReadsCoalesced++;
      return slot.next;
    }
    const next = slot.current!.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      slot.next = undefined;
      return this.start(slot, counter);
    });
    slot.next = next;
    return next;
  }

  private start(slot: Slot, counter: BudgetCounter): Promise<BudgetReading> {
    if (!this.link.ready) {
      this.tally.budgetReadsSkipped++;
      this.release(slot, counter.key);
      return Promise.reject(new StoreUnavailableError("budgets", this.link.lastError));
    }
    this.tally.budgetReadsSent++;
    const reading = this.link.runAside(() => this.send(counter));
    slot.current = reading;
    reading.then(
      () => this.done(slot, counter.key, reading),
      () => {
        this.tally.budgetReadsFailed++;
        this.done(slot, counter.key, reading);
      },
    );
    return reading;
  }

  private done(slot: Slot, key: string, reading: Promise<BudgetReading>): void {
    if (slot.current === reading) slot.current = undefined;
    this.release(slot, key);
  }

  /** Forgets a counter with nothing on the wire or queued (the map holds only live reads). */
  private release(slot: Slot, key: string): void {
    if (!slot.current && !slot.next && this.slots.get(key) === slot) this.slots.delete(key);
  }
}
