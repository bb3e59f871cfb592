import { LRUCache } from "lru-cache";
import type { BudgetAlertEvent } from "../core/events.js";
import type { SettledSpend as SpendRecord } from "./settled-spend.js";

type Period = BudgetAlertEvent["period"];

/** A budget as the config declares it. */
export interface BudgetRule {
  readonly usd: number;
  readonly period: Period;
}

/** The calendar window of a period containing `now` (the limits' own period maths, passed in). */
export type PeriodWindowOf = (period: Period, now: number) => { label: string; startsAt: number; endsAt: number };

/** `gateway.budgets.get(...)`: one budget's state in its current period. */
export interface BudgetState {
  scope: "key" | "user";
  key: string | undefined;
  user: string | undefined;
  limitUsd: number;
  spentUsd: number;
  /** Held by calls in flight. This process settles spend from its own records and reports 0 here. */
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
  evictedUsers = 0;

  constructor(private readonly options: BudgetAlertOptions) {
    this.thresholds = [...new Set(options.thresholds)].sort((a, b) => a - b);
    this.userTallies = new LRUCache({
      max: options.maxTrackedUsers,
      dispose: (_value, _key, reason) => {
        if (reason === "evict") this.evictedUsers++;
      },
    });
  }

  get applies(): boolean {
    return this.options.users?.budget !== undefined || Object.values(this.options.keys).some((key) => key.budget !== undefined);
  }

  observe(record: SpendRecord): void {
    if (record.costUsd <= 0) return;
    const keyBudget = record.key === undefined ? undefined : this.options.keys[record.key]?.budget;
    if (keyBudget) this.add(this.keyTallies, record.key!, keyBudget, record, "key");
    const userBudget = this.options.users?.budget;
    if (userBudget && record.user !== undefined) this.add(this.userTallies, userId(record.key, record.user), userBudget, record, "user");
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

  private add(tallies: Map<string, Tally> | LRUCache<string, Tally>, id: string, budget: BudgetRule, record: SpendRecord, scope: "key" | "user"): void {
    const window = this.windowOf(budget.period, record.time);
    let tally = tallies.get(id);
    if (!tally || tally.label !== window.label) {
      // A record from an older period (a late settlement) does not reset the current one.
      if (tally && window.label < tally.label) return;
      tally = { label: window.label, spentUsd: 0, fired: 0 };
      tallies.set(id, tally);
    }
    tally.spentUsd = roundUsd(tally.spentUsd + record.costUsd);
    while (tally.fired < this.thresholds.length && budget.usd > 0 && tally.spentUsd >= this.thresholds[tally.fired]! * budget.usd) {
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
