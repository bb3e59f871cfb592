import { StoreUnavailableError } from "../core/errors.js";
import type { PostgresControlPlane } from "../control-plane/postgres-control-plane.js";
import type { BudgetScope } from "../limits/budget-guard.js";
import { budgetCounter, keyScopeId, userScopeId } from "../limits/budget-counter.js";
import { periodWindow, type BudgetPeriod } from "../limits/budget-period.js";
import type { BudgetSeeding } from "../limits/call-limits.js";
import type { BudgetConfig, KeyConfig, LimitConfig } from "../limits/limits-schema.js";
import type { BudgetSeed, StateStore } from "../stores/store.js";

export interface BudgetSeederOptions {
  controlPlane: PostgresControlPlane;
  store: StateStore;
  staticKeys: Readonly<Record<string, KeyConfig>>;
  users: LimitConfig | undefined;
  /** Longest a call waits for the start seeding (and a lazy seed), ms. */
  timeoutMs: number;
  now: () => number;
}

/** After a lazy seed failed, that counter is not asked again for this long (each try may wait `timeoutMs`). */
const LAZY_RETRY_MS = 5_000;

/**
 * Starts budget counters from the ledger, so a restarted gateway does not start a month's
 * budget again from $0. At start: one `spentBy` query per distinct period for key budgets
 * (static and runtime keys) and one per-(key, user) query for the users' budget, written into
 * the store with `seedBudgets` (set-if-absent: counters the store already holds, such as a
 * shared Redis's live ones, stay as they are). Later, a key whose budget counter was not seeded
 * at start (a runtime key created or given a budget since) is seeded from `spentInPeriod` on its
 * first budgeted call.
 *
 * Only periods that began before this gateway started need it: from its start on, the store
 * counted every call itself. Calls wait for the seeding up to `timeoutMs`; past it the store's
 * `budgetFailurePolicy` decides: `closed` refuses budgeted calls, `open` lets them run on what
 * the store holds (the seeding goes on in the background and fills counters not yet touched).
 */
export class BudgetSeeder implements BudgetSeeding {
  private readonly startedAt: number;
  private readonly startup: Promise<void>;
  private started = false;
  private startError: unknown;
  /** Counter keys seeded (or found to need nothing). */
  private readonly seeded = new Set<string>();
  private readonly lazy = new Map<string, Promise<void>>();
  private readonly failedAt = new Map<string, number>();

  constructor(private readonly options: BudgetSeederOptions) {
    this.startedAt = options.now();
    this.startup = this.seedAtStart().then(
      () => {
        this.started = true;
      },
      (error: unknown) => {
        this.startError = error;
      },
    );
  }

  async ready(scopes: readonly BudgetScope[], now: number): Promise<void> {
    if (!this.started) {
      const finished = await within(this.startup, this.startedAt + this.options.timeoutMs - this.options.now());
      if (!this.started) {
        this.refuseIfClosed(finished ? this.startError : undefined);
        return;
      }
    }
    const pending: Promise<void>[] = [];
    for (const scope of scopes) {
      const window = periodWindow(scope.budget.period, now);
      if (window.startsAt >= this.startedAt) continue;
      const counter = budgetCounter(scope.id, scope.budget, window);
      if (this.seeded.has(counter.key)) continue;
      // User budgets are static config: every (key, user) pair with spend was seeded at start.
      if (scope.scope === "user") continue;
      pending.push(this.seedKey(scope.id, scope.budget, now, counter.key));
    }
    if (pending.length > 0) await Promise.all(pending);
  }

  /** Waits for the start seeding (tests, `close`); never rejects. */
  settled(): Promise<void> {
    return this.startup;
  }

  private async seedAtStart(): Promise<void> {
    const { controlPlane, store } = this.options;
    await controlPlane.ready();
    const now = this.options.now();
    const keyBudgets = new Map<string, BudgetConfig>();
    for (const [name, config] of Object.entries(this.options.staticKeys)) if (config.budget) keyBudgets.set(name, config.budget);
    for (const key of controlPlane.keys.cached()) {
      if (key.budget && !Object.hasOwn(this.options.staticKeys, key.name)) keyBudgets.set(key.name, key.budget);
    }
    const periods = new Set<BudgetPeriod>([...keyBudgets.values()].map((budget) => budget.period));
    const seeds: BudgetSeed[] = [];
    for (const period of periods) {
      const window = periodWindow(period, now);
      if (window.startsAt >= this.startedAt) continue;
      const spent = await controlPlane.spentBy({ by: "key", period, now });
      for (const [name, budget] of keyBudgets) {
        if (budget.period !== period) continue;
        const counter = budgetCounter(keyScopeId(name), budget, window);
        const usd = spent.get(name) ?? 0;
        if (usd > 0) seeds.push({ counter, spentUsd: usd });
        this.seeded.add(counter.key);
      }
    }
    const userBudget = this.options.users?.budget;
    if (userBudget) {
      const window = periodWindow(userBudget.period, now);
      if (window.startsAt < this.startedAt) {
        for (const pair of await controlPlane.spentByKeyAndUser({ period: userBudget.period, now })) {
          if (pair.usd > 0) seeds.push({ counter: budgetCounter(userScopeId(pair.key, pair.user), userBudget, window), spentUsd: pair.usd });
        }
      }
    }
    if (seeds.length > 0) await store.seedBudgets?.(seeds, now);
  }

  /** One key's counter from `spentInPeriod`, once (concurrent calls share the query). */
  private seedKey(scopeId: string, budget: BudgetConfig, now: number, counterKey: string): Promise<void> {
    const failed = this.failedAt.get(counterKey);
    if (failed !== undefined && this.options.now() - failed < LAZY_RETRY_MS) {
      this.refuseIfClosed(undefined);
      return Promise.resolve();
    }
    let seeding = this.lazy.get(counterKey);
    if (!seeding) {
      const name = scopeId.slice("key:".length);
      seeding = (async () => {
        const usd = await this.options.controlPlane.spentInPeriod({ key: name, period: budget.period, now });
        const window = periodWindow(budget.period, now);
        if (usd > 0) await this.options.store.seedBudgets?.([{ counter: budgetCounter(scopeId, budget, window), spentUsd: usd }], now);
        this.seeded.add(counterKey);
        this.failedAt.delete(counterKey);
      })().finally(() => this.lazy.delete(counterKey));
      this.lazy.set(counterKey, seeding);
    }
    const outcome = seeding.then(
      () => undefined,
      (error: unknown) => error,
    );
    return within(outcome.then(() => undefined), this.options.timeoutMs).then(async (finished) => {
      if (this.seeded.has(counterKey)) return;
      // Timed out, or the ledger could not be read: not asked again for a while; the policy decides.
      this.failedAt.set(counterKey, this.options.now());
      this.refuseIfClosed(finished ? await outcome : undefined);
    });
  }

  /** `closed`: a budget the gateway cannot start from the ledger refuses the call. */
  private refuseIfClosed(cause: unknown): void {
    if ((this.options.store.budgetFailurePolicy ?? "open") === "closed") throw new StoreUnavailableError("budgets", cause);
  }
}

/** True when `work` settled within `ms` (a rejection counts as settled; it is not rethrown here). */
function within(work: Promise<void>, ms: number): Promise<boolean> {
  if (ms <= 0) return Promise.race([work.then(() => true, () => true), Promise.resolve(false)]);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref?.();
    work.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}
