import type { BudgetCounter } from "../stores/store.js";
import type { PeriodWindow } from "./budget-period.js";
import type { BudgetConfig } from "./limits-schema.js";

/** Counters outlive their period by a day, so a call that started in it still settles there. */
export const COUNTER_GRACE_MS = 86_400_000;

/** A key's scope id in counter and bucket names: `key:team-a`. */
export function keyScopeId(key: string): string {
  return `key:${key}`;
}

/** A user is counted per key: tenants' user ids may collide. Length-prefixed so no two pairs share a name. */
export function userScopeId(key: string | undefined, user: string): string {
  const scope = key ?? "";
  return `user:${scope.length}:${scope}:${user}`;
}

/**
 * The budget counter of a scope in one period's window. One function for the budget guard and
 * for whoever seeds counters (a gateway starting from the ledger), so both name the same counter.
 */
export function budgetCounter(scopeId: string, budget: BudgetConfig, window: PeriodWindow): BudgetCounter {
  return {
    key: `budget:${scopeId}:${budget.period}:${window.label}`,
    limitUsd: budget.usd,
    expiresAt: window.endsAt + COUNTER_GRACE_MS,
  };
}
