import { memoryStore } from "../memory-store.js";
import type { BudgetCounter, BudgetReading, BudgetReservation, BudgetResult, StateStore } from "../store.js";

/** Shared totals remembered per counter; past this the least recently seen are forgotten. */
const MAX_REMEMBERED_COUNTERS = 10_000;
/** Local holds remembered so their settlement goes to the right place; oldest forgotten first. */
const MAX_LOCAL_HOLDS = 100_000;

/**
 * Where limits and budgets are counted while Redis is down under `onError: "open"`: a
 * `memoryStore` of this process, started fresh each time the link goes down (so counts from an
 * earlier outage, since delivered to Redis, are not counted twice). Budgets do not restart
 * from zero: each counter's local limit is its limit minus the shared total this process last
 * saw, so an outage lets a fleet overspend by at most what its processes admit locally, not by
 * a whole budget each.
 */
export class LocalFallback {
  private store: StateStore = memoryStore();
  /** Counter key -> spent plus reserved in Redis, USD, as last seen. */
  private readonly sharedUsed = new Map<string, number>();
  /** Reservation ids held locally, so that their settlement is applied here too. */
  private readonly localHolds = new Set<string>();

  get local(): StateStore {
    return this.store;
  }

  /** The link went down: a new local count. */
  restart(): void {
    void this.store.close();
    this.store = memoryStore();
    this.localHolds.clear();
  }

  /** Remembers what Redis said a counter holds (after this reservation, when it was taken). */
  rememberShared(counters: readonly BudgetCounter[], result: BudgetResult, amountUsd: number): void {
    for (let index = 0; index < counters.length; index++) {
      const used = (result.spentUsd[index] ?? 0) + (result.ok ? amountUsd : 0);
      const key = counters[index]!.key;
      this.sharedUsed.delete(key);
      this.sharedUsed.set(key, used);
      if (this.sharedUsed.size > MAX_REMEMBERED_COUNTERS) this.sharedUsed.delete(this.sharedUsed.keys().next().value!);
    }
  }

  /** Reserves locally against what is left of each limit after the last shared total seen. */
  async reserve(reservation: BudgetReservation, counters: readonly BudgetCounter[], now: number): Promise<BudgetResult> {
    const remaining = counters.map((counter) => ({
      ...counter,
      limitUsd: Math.max(0, counter.limitUsd - (this.sharedUsed.get(counter.key) ?? 0)),
    }));
    const result = await this.store.reserveBudget(reservation, remaining, now);
    if (result.ok) {
      this.localHolds.add(reservation.id);
      if (this.localHolds.size > MAX_LOCAL_HOLDS) this.localHolds.delete(this.localHolds.values().next().value!);
    }
    // Report totals as the caller knows them: the shared part plus the local part.
    return {
      ...result,
      spentUsd: result.spentUsd.map((local, index) => local + (this.sharedUsed.get(counters[index]!.key) ?? 0)),
    };
  }

  /**
   * Counters as this process knows them while Redis is away: the shared total last seen (spent
   * and reserved together, counted as spent) plus what this process counted since.
   */
  async read(counters: readonly BudgetCounter[], now: number): Promise<BudgetReading[]> {
    const local = (await this.store.readBudgets?.(counters, now)) ?? counters.map(() => ({ spentUsd: 0, reservedUsd: 0 }));
    return local.map((reading, index) => ({
      spentUsd: reading.spentUsd + (this.sharedUsed.get(counters[index]!.key) ?? 0),
      reservedUsd: reading.reservedUsd,
    }));
  }

  /** True (once) when the reservation was held locally. */
  takeLocalHold(reservationId: string): boolean {
    return this.localHolds.delete(reservationId);
  }
}
