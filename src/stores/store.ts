/**
 * State that outlives a call: token buckets (RPM/TPM) and budget counters (USD). Every
 * operation is one atomic step over all the buckets or counters it names (all or nothing),
 * so that a shared implementation maps each to one server-side script (one Lua call in Redis)
 * and concurrent calls, in one process or a fleet, can neither over-admit nor overspend.
 * Everything a store holds expires: buckets once refilled, counters at the end of their
 * period, reservations at their `expiresAt`.
 *
 * Times are epoch milliseconds passed in by the caller (`now`), so one clock decides.
 */
export interface StateStore {
  /**
   * Takes `amount` tokens from every bucket, or from none: all succeed or nothing changes.
   * A bucket holds at most `capacity` tokens and refills continuously at `refillPerMs`.
   * A draw larger than `capacity` is admitted once the bucket is full and leaves it in debt
   * (a negative level the refill pays off), so an oversized request is slow, never impossible.
   *
   * @example
   * await store.consumeTokens([{ key: "rpm:key:team-a", amount: 1, capacity: 60, refillPerMs: 60 / 60_000 }], Date.now());
   * // { ok: true, retryAfterMs: 0, blocking: -1, levels: [59] }
   */
  consumeTokens(draws: readonly TokenDraw[], now: number): Promise<TokenResult>;
  /** What `consumeTokens` would answer, changing nothing (for queue wait estimates). */
  peekTokens(draws: readonly TokenDraw[], now: number): Promise<TokenResult>;
  /**
   * Gives `amount` tokens back to each bucket (capped at `capacity`); a negative `amount`
   * takes more (debt floored at `-capacity`): how a reservation is settled to actual usage.
   */
  refundTokens(draws: readonly TokenDraw[], now: number): Promise<void>;
  /**
   * Reserves `amountUsd` on every counter, or on none: rejected when, on any counter,
   * spent + reserved + `amountUsd` would exceed its `limitUsd`. Reservations past their
   * `expiresAt` no longer count (a process that died cannot hold a budget forever).
   */
  reserveBudget(reservation: BudgetReservation, counters: readonly BudgetCounter[], now: number): Promise<BudgetResult>;
  /**
   * Ends a reservation on each counter and adds what the call actually cost. Safe to call for
   * a reservation that already expired: the actual cost is added all the same, once.
   */
  settleBudget(reservationId: string, counters: readonly BudgetCounter[], actualUsd: number, now: number): Promise<void>;
  /**
   * Sets each counter's settled spend when the store does not hold that counter yet, and
   * leaves counters it holds alone (set-if-absent: `SET NX` semantics). How a gateway with a
   * control plane starts budgets from the durable ledger: a store that already counts a period
   * (a shared Redis) stays the source of truth. Optional: a store without it starts budgets at 0.
   */
  seedBudgets?(seeds: readonly BudgetSeed[], now: number): Promise<void>;
  /**
   * What a gateway does with budgets when it cannot learn what was already spent (the control
   * plane's database is down at start): `"open"` admits calls on counters that start from what
   * the store has, `"closed"` refuses budgeted calls with `StoreUnavailableError`. Default `"open"`.
   */
  readonly budgetFailurePolicy?: "open" | "closed";
  /**
   * Who sees this store's counts: `"process"` (memoryStore: one process alone) or `"shared"`
   * (redisStore: every process on the same server). `modelgate serve --workers N` refuses
   * limits and budgets on a store that is not `"shared"` (unset included: a store written
   * before this field may count in its own process), where each worker would spend the budget.
   */
  readonly scope?: "process" | "shared";
  /**
   * Each counter's settled spend and what live reservations hold on it now, in USD, in the
   * order given; a counter the store does not hold reads as 0 and 0, and lapsed holds do not
   * count. Changes nothing a reservation would see. Optional: how `gateway.budgets` reports
   * the shared (fleet-wide, seeded) figures rather than this process's own.
   */
  readBudgets?(counters: readonly BudgetCounter[], now: number): Promise<BudgetReading[]>;
  /**
   * Sets `markerKey` unless it is set already (until `expiresAt`, epoch ms) and answers whether
   * this call set it: of many callers sharing the store, exactly one gets `true` per marker
   * lifetime. How a fleet fires each budget alert once. Optional.
   */
  claimOnce?(markerKey: string, expiresAt: number, now: number): Promise<boolean>;
  /** Releases timers and connections. */
  close(): Promise<void>;
  /** Optional counts for `gateway.stats().store` (redisStore: link state, settlements waiting or folded). */
  stats?(): StoreStats;
}

/** What a store reports of itself in `gateway.stats().store`. */
export type StoreStats = Readonly<Record<string, number | string>>;
/** A counter's spend before this store counted it, for `seedBudgets`. */
export interface BudgetSeed {
  readonly counter: BudgetCounter;
  readonly spentUsd: number;
}

/** One counter as `readBudgets` reads it. */
export interface BudgetReading {
  readonly spentUsd: number;
  readonly reservedUsd: number;
}

/** One token bucket touched by an operation, with its shape (the store keeps only levels). */
export interface TokenDraw {
  /** Unique per scope and limit, e.g. `rpm:key:team-a`. */
  readonly key: string;
  /** Tokens to take (consume) or give back (refund). */
  readonly amount: number;
  /** Most tokens the bucket holds: the burst. */
  readonly capacity: number;
  /** Tokens added per millisecond (`rpm / 60_000`). */
  readonly refillPerMs: number;
}

/** The answer of `consumeTokens` and `peekTokens`. */
export interface TokenResult {
  ok: boolean;
  /** 0 when `ok`; else milliseconds until every bucket holds enough for its draw. */
  retryAfterMs: number;
  /** Index of the draw whose bucket makes the caller wait longest; -1 when `ok`. */
  blocking: number;
  /** Each bucket's level, in tokens: after the take when `ok`, else as it stands. */
  levels: number[];
}

/** One budget counter: what a scope may spend in one period. */
export interface BudgetCounter {
  /** Unique per scope and period, e.g. `budget:key:team-a:month:2025-06-01`. */
  readonly key: string;
  readonly limitUsd: number;
  /** When the counter may be forgotten (end of its period plus a grace), epoch ms; `Infinity` for never. */
  readonly expiresAt: number;
}

/** A worst-case amount held against budgets while a call runs. */
export interface BudgetReservation {
  /** Unique across every process sharing the store. */
  readonly id: string;
  readonly amountUsd: number;
  /** When the hold lapses if never settled, epoch ms. */
  readonly expiresAt: number;
}

/** The answer of `reserveBudget`. */
export interface BudgetResult {
  ok: boolean;
  /** Index of the first counter that refused; -1 when `ok`. */
  blocking: number;
  /** Per counter: spent plus reserved by other calls, in USD (before this reservation). */
  spentUsd: number[];
}
