import { LRUCache } from "lru-cache";
import type { BudgetAlertEvent } from "../core/events.js";
import type { BudgetCounter, BudgetReading, StateStore } from "../stores/store.js";
import type { SettledSpend as SpendRecord } from "./settled-spend.js";

type Period = BudgetAlertEvent["period"];

/** A budget as the config declares it. */
export interface BudgetRule {
  readonly usd: number;
  readonly period: Period;
}

/** The calendar window of a period containing `now` (the limits' own period maths, passed in). */
export type PeriodWindowOf = (period: Period, now: number) => { label: string; startsAt: number; endsAt: number };

/** The store counter of a budget in the period containing `now` (the limits' own naming, passed in). */
export type BudgetCounterOf = (scope: "key" | "user", key: string | undefined, user: string | undefined, budget: BudgetRule, now: number) => BudgetCounter;

/** The store that holds the budget counters, when alerts and `gateway.budgets` read them there. */
export interface SharedBudgets {
  /** A function: the gateway makes its store after the alerts. */
  readonly store: () => Pick<StateStore, "readBudgets" | "claimOnce"> | undefined;
  readonly counterOf: BudgetCounterOf;
  /**
   * Whether thresholds fire from the store (a store given in the config, perhaps shared) rather
   * than from this process's records (the gateway's own memoryStore: the same figures, and
   * alerts fire before the call returns).
   */
  readonly alertsFromStore: boolean;
}

/** Fleet checks waiting for the store at once; past this a record is not checked (the next one is). */
const MAX_PENDING_CHECKS = 1_000;

/** `gateway.budgets.get(...)`: one budget's state in its current period. */
export interface BudgetState {
  scope: "key" | "user";
  key: string | undefined;
  user: string | undefined;
  limitUsd: number;
  spentUsd: number;
  /** Held by calls in flight, as the store reads it (0 for a store that cannot say). */
  reservedUsd: number;
  remainingUsd: number;
  period: Period;
  /** When the period ends, epoch ms; `null` for `total`. */
  resetsAt: number | null;
}

interface Tally {
  label: string;
  spentUsd: number;
  /** How many thresholds (sorted ascending) have fired this period. */
  fired: number;
}

export interface BudgetAlertOptions {
  keys: Readonly<Record<string, { budget?: BudgetRule | undefined }>>;
  users: { budget?: BudgetRule | undefined } | undefined;
  thresholds: readonly number[];
  maxTrackedUsers: number;
  periodWindow: PeriodWindowOf;
  emit(event: BudgetAlertEvent): void;
  now(): number;
  /**
   * When set and its store can read counters, `get`/`list` report the store's spent and reserved,
   * and thresholds fire from the store's spent, once per threshold and period across every
   * process sharing the store (a `claimOnce` marker); else from this process's records.
   */
  shared?: SharedBudgets | undefined;
}

/**
 * Sums each budget's settled spend per period from the spend records and fires a `budget` event
 * the first time a period's spend reaches each threshold. O(1) per record; user tallies live in
 * an LRU of `maxTrackedUsers` (evictions counted: an evicted user's tally restarts at 0).
 */
export class BudgetAlerts {
  private readonly keyTallies = new Map<string, Tally>();
  private readonly userTallies: LRUCache<string, Tally>;
  private readonly thresholds: number[];
  /** The latest window per period: its date maths (slow: toISOString) runs once per period, not per record. */
  private readonly windows = new Map<Period, ReturnType<PeriodWindowOf>>();
  /** Per store counter key (it names the period): how many thresholds this process saw fired. */
  private readonly sharedFired: LRUCache<string, number>;
  private readonly pendingChecks = new Set<Promise<void>>();
  evictedUsers = 0;
  /** Fleet checks whose store read or claim failed (that record raised no alert). */
  sharedFailures = 0;
  /** Records not checked because `MAX_PENDING_CHECKS` were waiting for the store. */
  sharedSkipped = 0;

  constructor(private readonly options: BudgetAlertOptions) {
    this.thresholds = [...new Set(options.thresholds)].sort((a, b) => a - b);
    this.userTallies = new LRUCache({
      max: options.maxTrackedUsers,
      dispose: (_value, _key, reason) => {
        if (reason === "evict") this.evictedUsers++;
      },
    });
    this.sharedFired = new LRUCache({ max: options.maxTrackedUsers + Object.keys(options.keys).length + 1 });
  }

  /** True when thresholds fire from the store's counters rather than this process's records. */
  get sharedAlerts(): boolean {
    if (!this.options.shared?.alertsFromStore) return false;
    const store = this.options.shared.store();
    return store?.readBudgets !== undefined && store.claimOnce !== undefined;
  }

  /** Waits for fleet checks in flight (at close). */
  async drain(): Promise<void> {
    while (this.pendingChecks.size > 0) await Promise.allSettled([...this.pendingChecks]);
  }

  get applies(): boolean {
    return this.options.users?.budget !== undefined || Object.values(this.options.keys).some((key) => key.budget !== undefined);
  }

  observe(record: SpendRecord): void {
    if (record.costUsd <= 0) return;
    const keyBudget = record.key === undefined ? undefined : this.options.keys[record.key]?.budget;
    const userBudget = this.options.users?.budget;
    const fireHere = !this.sharedAlerts;
    if (keyBudget) this.add(this.keyTallies, record.key!, keyBudget, record, "key", fireHere);
    if (userBudget && record.user !== undefined) this.add(this.userTallies, userId(record.key, record.user), userBudget, record, "user", fireHere);
    if (fireHere || (!keyBudget && !(userBudget && record.user !== undefined))) return;
    if (this.pendingChecks.size >= MAX_PENDING_CHECKS) {
      this.sharedSkipped++;
      return;
    }
    // After this turn: the call's settlement (sent to the store just before this record) goes
    // first on the store's connection, so the read below includes it.
    const check = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.checkShared(record, keyBudget, userBudget))
      .catch(() => {
        this.sharedFailures++;
      })
      .finally(() => this.pendingChecks.delete(check));
    this.pendingChecks.add(check);
  }

  /** One store read for the record's budgets, then a claim per threshold newly crossed. */
  private async checkShared(record: SpendRecord, keyBudget: BudgetRule | undefined, userBudget: BudgetRule | undefined): Promise<void> {
    const { counterOf } = this.options.shared!;
    const store = this.options.shared!.store()!;
    const now = this.options.now();
    const scopes: { scope: "key" | "user"; budget: BudgetRule; counter: BudgetCounter }[] = [];
    if (keyBudget) scopes.push({ scope: "key", budget: keyBudget, counter: counterOf("key", record.key, undefined, keyBudget, record.time) });
    if (userBudget && record.user !== undefined) {
      scopes.push({ scope: "user", budget: userBudget, counter: counterOf("user", record.key, record.user, userBudget, record.time) });
    }
    const readings = await store.readBudgets!(scopes.map((entry) => entry.counter), now);
    for (let index = 0; index < scopes.length; index++) {
      const { scope, budget, counter } = scopes[index]!;
      const spentUsd = roundUsd(readings[index]?.spentUsd ?? 0);
      let fired = this.sharedFired.get(counter.key) ?? 0;
      while (fired < this.thresholds.length && budget.usd > 0 && spentUsd >= this.thresholds[fired]! * budget.usd) {
        const threshold = this.thresholds[fired]!;
        fired++;
        // Counted before the claim's round trip, so a concurrent check here never claims it too.
        this.sharedFired.set(counter.key, fired);
        if (!(await store.claimOnce!(`budget-alert:${counter.key}:${threshold}`, counter.expiresAt, now))) continue;
        this.options.emit({ scope, key: record.key, user: scope === "user" ? record.user : undefined, threshold, spentUsd, limitUsd: budget.usd, period: budget.period });
      }
    }
  }

  /** Replaces this process's figures with the store's, when it can read them; else leaves them. */
  async fromStore(states: BudgetState[]): Promise<BudgetState[]> {
    const shared = this.options.shared;
    const store = shared?.store();
    if (!shared || !store?.readBudgets || states.length === 0) return states;
    const now = this.options.now();
    let readings: BudgetReading[];
    try {
      readings = await store.readBudgets(
        states.map((state) => shared.counterOf(state.scope, state.key, state.user, { usd: state.limitUsd, period: state.period }, now)),
        now,
      );
    } catch {
      // The store is unreachable and its policy is closed: this process's own figures are all there is.
      this.sharedFailures++;
      return states;
    }
    return states.map((state, index) => {
      const spentUsd = roundUsd(readings[index]?.spentUsd ?? 0);
      const reservedUsd = roundUsd(readings[index]?.reservedUsd ?? 0);
      return { ...state, spentUsd, reservedUsd, remainingUsd: Math.max(0, roundUsd(state.limitUsd - spentUsd - reservedUsd)) };
    });
  }

  get(query: { key?: string | undefined; user?: string | undefined }): BudgetState | undefined {
    const now = this.options.now();
    if (query.user !== undefined) {
      const budget = this.options.users?.budget;
      if (!budget) return undefined;
      return this.state("user", query.key, query.user, budget, this.userTallies.peek(userId(query.key, query.user)), now);
    }
    if (query.key === undefined) return undefined;
    const budget = this.options.keys[query.key]?.budget;
    return budget ? this.state("key", query.key, undefined, budget, this.keyTallies.get(query.key), now) : undefined;
  }

  /** Every key budget, then the tracked users with spend this period, most spent first. */
  list(): BudgetState[] {
    const now = this.options.now();
    const states: BudgetState[] = [];
    for (const [key, config] of Object.entries(this.options.keys)) {
      if (config.budget) states.push(this.state("key", key, undefined, config.budget, this.keyTallies.get(key), now));
    }
    const budget = this.options.users?.budget;
    if (budget) {
      const users: BudgetState[] = [];
      for (const [id, tally] of this.userTallies.entries()) {
        const [key, user] = splitUserId(id);
        const state = this.state("user", key, user, budget, tally, now);
        if (state.spentUsd > 0) users.push(state);
      }
      states.push(...users.sort((a, b) => b.spentUsd - a.spentUsd));
    }
    return states;
  }

  private add(tallies: Map<string, Tally> | LRUCache<string, Tally>, id: string, budget: BudgetRule, record: SpendRecord, scope: "key" | "user", fire: boolean): void {
    const window = this.windowOf(budget.period, record.time);
    let tally = tallies.get(id);
    if (!tally || tally.label !== window.label) {
      // A record from an older period (a late settlement) does not reset the current one.
      if (tally && window.label < tally.label) return;
      tally = { label: window.label, spentUsd: 0, fired: 0 };
      tallies.set(id, tally);
    }
    tally.spentUsd = roundUsd(tally.spentUsd + record.costUsd);
    while (fire && tally.fired < this.thresholds.length && budget.usd > 0 && tally.spentUsd >= this.thresholds[tally.fired]! * budget.usd) {
      const threshold = this.thresholds[tally.fired]!;
      tally.fired++;
      this.options.emit({
        scope,
        key: record.key,
        user: scope === "user" ? record.user : undefined,
        threshold,
        spentUsd: tally.spentUsd,
        limitUsd: budget.usd,
        period: budget.period,
      });
    }
  }

  private windowOf(period: Period, time: number): ReturnType<PeriodWindowOf> {
    const cached = this.windows.get(period);
    if (cached && time >= cached.startsAt && time < cached.endsAt) return cached;
    const window = this.options.periodWindow(period, time);
    // Keep the newest window: a late record from an older period must not evict it.
    if (!cached || window.startsAt > cached.startsAt) this.windows.set(period, window);
    return window;
  }

  private state(scope: "key" | "user", key: string | undefined, user: string | undefined, budget: BudgetRule, tally: Tally | undefined, now: number): BudgetState {
    const window = this.windowOf(budget.period, now);
    const spentUsd = tally && tally.label === window.label ? tally.spentUsd : 0;
    return {
      scope,
      key,
      user,
      limitUsd: budget.usd,
      spentUsd,
      reservedUsd: 0,
      remainingUsd: Math.max(0, roundUsd(budget.usd - spentUsd)),
      period: budget.period,
      resetsAt: Number.isFinite(window.endsAt) ? window.endsAt : null,
    };
  }
}

/** Users are counted per key, as the limits count them. */
function userId(key: string | undefined, user: string): string {
  return `${key ?? ""}\u0000${user}`;
}

function splitUserId(id: string): [string | undefined, string] {
  const cut = id.indexOf("\u0000");
  const key = id.slice(0, cut);
  return [key === "" ? undefined : key, id.slice(cut + 1)];
}

/** Sums of float costs drift in the last bits; keep what was billed (1e-10 USD). */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e10) / 1e10;
}
