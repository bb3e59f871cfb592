import { BudgetExceededError } from "../core/errors.js";
import type { BudgetCounter, StateStore } from "../stores/store.js";
import { uniqueIds } from "../core/unique-ids.js";
import { periodWindow, type BudgetPeriod, type PeriodWindow } from "./budget-period.js";
import type { BudgetConfig } from "./limits-schema.js";
import { budgetCounter } from "./budget-counter.js";

/** One scope's budget as it applies to a call. */
export interface BudgetScope {
  readonly scope: "key" | "user";
  /** Identifies the scope in counter keys: `key:team-a`, `user:team-a:u42`. */
  readonly id: string;
  /** For messages: `key 'team-a'`, `user` (user ids stay out of errors). */
  readonly label: string;
  readonly budget: BudgetConfig;
}

/** What a call holds against budgets while it runs. */
export interface BudgetHold {
  readonly id: string;
  readonly counters: readonly BudgetCounter[];
}

/**
 * USD budgets per key and per user. Before a call, its worst-case cost is reserved on every
 * budget that applies, in one atomic store operation: rejected when spent + reserved + this
 * would pass a limit, so concurrent calls cannot overspend. After the call the hold is replaced
 * by the actual cost (settled in the period the call started in). A hold that is never settled
 * (a stream nobody reads or closes, a process that died) lapses at its expiry.
 */
export class BudgetGuard {
  /** The current window per period: date math once per period, not per call. */
  private readonly windows = new Map<BudgetPeriod, PeriodWindow>();
  /**
   * Each scope's counter in its period's current window: its name is a string built from the
   * scope and the window, the same for every call of the window. Scopes are built once per key
   * and per (key, user) by the limits step, so this holds one entry per live scope.
   */
  private readonly counters = new WeakMap<BudgetScope, { readonly window: PeriodWindow; readonly counter: BudgetCounter }>();
  private readonly nextId = uniqueIds();

  constructor(
    private readonly store: StateStore,
    private readonly now: () => number,
  ) {}

  /** Reserves `amountUsd` on every scope, or throws `BudgetExceededError` naming the first that refused. */
  async reserve(scopes: readonly BudgetScope[], amountUsd: number, holdMs: number): Promise<BudgetHold> {
    const now = this.now();
    const counters = scopes.map((scope) => this.counterFor(scope, now));
    const hold: BudgetHold = { id: this.nextId(), counters };
    const result = await this.store.reserveBudget({ id: hold.id, amountUsd, expiresAt: now + holdMs }, counters, now);
    if (result.ok) return hold;
    const refused = scopes[result.blocking] ?? scopes[0]!;
    throw new BudgetExceededError(
      refused.scope,
      refused.budget.usd,
      result.spentUsd[result.blocking] ?? 0,
      `${refused.label} (${refused.budget.period}; this call may cost up to $${amountUsd.toFixed(6)})`,
    );
  }

  /** Replaces the hold by what the call cost; never throws. */
  settle(hold: BudgetHold, actualUsd: number): void {
    const usd = Number.isFinite(actualUsd) && actualUsd > 0 ? actualUsd : 0;
    void this.store.settleBudget(hold.id, hold.counters, usd, this.now()).catch(() => {
      // A store that failed leaves the hold to lapse at its expiry; the ledger still has the cost.
    });
  }

  private counterFor(scope: BudgetScope, now: number): BudgetCounter {
    const period = scope.budget.period;
    let window = this.windows.get(period);
    if (!window || now < window.startsAt || now >= window.endsAt) {
      window = periodWindow(period, now);
      this.windows.set(period, window);
    }
    const known = this.counters.get(scope);
    if (known && known.window === window) return known.counter;
    const counter = budgetCounter(scope.id, scope.budget, window);
    this.counters.set(scope, { window, counter });
    return counter;
  }
}
