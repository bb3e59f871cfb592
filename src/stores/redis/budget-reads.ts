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

/** Counters per read script: bounds one script's run (each counter reads up to 1,024 lapsed holds). */
export const MAX_READ_COUNTERS = 128;

interface Slot {
  /** The read on the wire for this counter. */
  current?: Promise<BudgetReading> | undefined;
  /** The one read queued behind it, shared by every request made meanwhile. */
  next?: Promise<BudgetReading> | undefined;
}

/** A counter's read waiting for the end of the turn. */
interface Waiting {
  readonly counter: BudgetCounter;
  readonly resolve: (reading: BudgetReading) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Budget counter reads for alerts and `gateway.budgets`, kept from ever weighing on calls:
 * sent only while the link is up (never waiting for it), timed out without moving the link
 * up or down, and at most one on the wire per counter. A request made while one is on the wire
 * waits for a single follow-up read (so it sees every settlement sent before it), which all
 * requests made meanwhile share: a burst of settlements costs two reads per counter, not one each.
 * The reads started in one turn of the event loop (alerts check each call's counters in a turn
 * of their own) go in one script, after `before` has sent any settlement of theirs still waiting.
 */
export class BudgetReads {
  private readonly slots = new Map<string, Slot>();
  private readonly tally: BudgetReadCounts = { budgetReadsSent: 0, budgetReadsCoalesced: 0, budgetReadsSkipped: 0, budgetReadsFailed: 0 };

  constructor(
    private readonly link: RedisLink,
    /** Counters' readings, in order, in one command. */
    private readonly send: (counters: readonly BudgetCounter[]) => Promise<BudgetReading[]>,
    /** Called just before a read is sent, with its counters. */
    private readonly before: (counters: readonly BudgetCounter[]) => void = () => undefined,
  ) {}

  private waiting: Waiting[] | undefined;

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
    const reading = this.later(counter);
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

  /** The counter's reading from the read sent at the end of this turn. */
  private later(counter: BudgetCounter): Promise<BudgetReading> {
    let waiting = this.waiting;
    if (!waiting) {
      const batch: Waiting[] = [];
      waiting = this.waiting = batch;
      setImmediate(() => {
        if (this.waiting === batch) this.waiting = undefined;
        for (let start = 0; start < batch.length; start += MAX_READ_COUNTERS) this.sendNow(batch.slice(start, start + MAX_READ_COUNTERS));
      });
    }
    const batch = waiting;
    return new Promise((resolve, reject) => batch.push({ counter, resolve, reject }));
  }

  private sendNow(batch: readonly Waiting[]): void {
    const counters = batch.map((entry) => entry.counter);
    this.before(counters);
    this.link.runAside(() => this.send(counters)).then(
      (readings) => {
        for (let index = 0; index < batch.length; index++) {
          const reading = readings[index];
          if (reading) batch[index]!.resolve(reading);
          else batch[index]!.reject(new Error("modelgate: unexpected reply from a Redis script"));
        }
      },
      (error: unknown) => {
        for (const entry of batch) entry.reject(error);
      },
    );
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
