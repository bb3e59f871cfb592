import { StoreUnavailableError } from "../../core/errors.js";
import { Outbox } from "../../core/outbox.js";
import type { BudgetCounter, BudgetResult, BudgetSeed, StateStore, TokenDraw, TokenResult } from "../store.js";
import { RESERVE_BUDGET, SETTLE_BUDGET } from "./budget-scripts.js";
import { SEED_BUDGETS } from "./seed-scripts.js";
import type { LocalFallback } from "./local-fallback.js";
import { limitNanodollars, nanodollars, toUsd } from "./nanodollars.js";
import type { RedisLink, ScriptRunner } from "./redis-link.js";
import type { RedisKeys } from "./redis-keys.js";
import { CONSUME_TOKENS, REFUND_TOKENS } from "./token-scripts.js";

/** What happens to limits or budgets while Redis cannot be reached. */
export type FailurePolicy = "open" | "closed";

export interface FailurePolicies {
  readonly limits: FailurePolicy;
  readonly budgets: FailurePolicy;
}

/** A settlement Redis did not take yet: retried until it does (bounded), so no cost is lost. */
interface PendingSettlement {
  readonly reservationId: string;
  readonly counters: readonly BudgetCounter[];
  readonly actualUsd: number;
}

/** Settlements kept for Redis while it is down; past this the oldest are dropped. */
const MAX_PENDING_SETTLEMENTS = 10_000;

/** The `StateStore` half of `redisStore`, with the count of settlements still waiting for Redis. */
export interface RedisStateStore extends StateStore {
  seedBudgets(seeds: readonly BudgetSeed[], now: number): Promise<void>;
  /** Settlements waiting for Redis (for tests and stats). */
  readonly pendingSettlements: number;
}

/**
 * Buckets and budget counters in Redis, one Lua script per operation. When Redis cannot be
 * reached, each concern follows its policy: `open` counts in this process (`LocalFallback`),
 * `closed` refuses with `StoreUnavailableError`. Settlements never fail a call: one Redis does
 * not take now is kept and retried with backoff, so every cost reaches the shared total once
 * Redis is back (at most once: a settled hold leaves a tombstone). A lost token refund is only
 * dropped: the bucket refills on its own within its window.
 */
export function redisStateStore(
  link: RedisLink,
  keys: RedisKeys,
  policies: FailurePolicies,
  fallback: LocalFallback,
): RedisStateStore {
  const consumeScript: ScriptRunner = link.defineScript("consume_tokens", CONSUME_TOKENS);
  const refundScript: ScriptRunner = link.defineScript("refund_tokens", REFUND_TOKENS);
  const reserveScript: ScriptRunner = link.defineScript("reserve_budget", RESERVE_BUDGET);
  const settleScript: ScriptRunner = link.defineScript("settle_budget", SETTLE_BUDGET);
  const seedScript: ScriptRunner = link.defineScript("seed_budgets", SEED_BUDGETS);

  const bucketKeys = (draws: readonly TokenDraw[]): string[] => draws.map((draw) => keys.bucket(draw.key));
  const bucketShapes = (draws: readonly TokenDraw[]): string[] =>
    draws.flatMap((draw) => [String(draw.amount), String(draw.capacity), String(draw.refillPerMs)]);

  const counterKeys = (counters: readonly BudgetCounter[]): string[] => {
    const result: string[] = [];
    for (const counter of counters) result.push(keys.counter(counter.key), keys.holds(counter.key));
    return result;
  };

  async function drawTokens(draws: readonly TokenDraw[], take: boolean, now: number): Promise<TokenResult> {
    if (draws.length === 0) return { ok: true, retryAfterMs: 0, blocking: -1, levels: [] };
    if (await link.usable()) {
      try {
        const reply = await link.run(() => consumeScript(draws.length, ...bucketKeys(draws), take ? "1" : "0", ...bucketShapes(draws)));
        return toTokenResult(reply, draws.length);
      } catch {
        // The link is down now; the policy below decides.
      }
    }
    if (policies.limits === "closed") throw new StoreUnavailableError("limits", link.lastError);
    return take ? fallback.local.consumeTokens(draws, now) : fallback.local.peekTokens(draws, now);
  }

  async function settleInRedis(settlement: PendingSettlement): Promise<void> {
    const now = Date.now();
    // A counter past its expiry is gone from Redis; settling it would only recreate it.
    const live = settlement.counters.filter((counter) => counter.expiresAt > now);
    if (live.length === 0) return;
    await link.run(() =>
      settleScript(
        live.length * 2,
        ...counterKeys(live),
        settlement.reservationId,
        nanodollars(settlement.actualUsd, Math.round),
        ...live.map((counter) => ttlOf(counter.expiresAt, now)),
      ),
    );
  }

  // Counted here: the outbox's own size leaves out a delivery in flight.
  let queued = 0;
  let delivered = 0;
  const pending = new Outbox<PendingSettlement>({
    maxPending: MAX_PENDING_SETTLEMENTS,
    minRetryMs: 250,
    maxRetryMs: 5_000,
    batchSize: 100,
    async deliver(settlements) {
      if (!(await link.usable())) return 0;
      for (let index = 0; index < settlements.length; index++) {
        try {
          await settleInRedis(settlements[index]!);
          delivered++;
        } catch {
          return index;
        }
      }
      return settlements.length;
    },
  });

  return {
    get pendingSettlements() {
      return queued - delivered - pending.dropped;
    },
    consumeTokens(draws, now) {
      return drawTokens(draws, true, now);
    },
    peekTokens(draws, now) {
      return drawTokens(draws, false, now);
    },
    async refundTokens(draws, now) {
      if (draws.length === 0) return;
      if (!link.isDown && (await link.usable())) {
        try {
          await link.run(() => refundScript(draws.length, ...bucketKeys(draws), ...bucketShapes(draws)));
          return;
        } catch {
          // Dropped: the bucket is only lower than it should be, and refills within its window.
        }
      }
      if (policies.limits === "open") await fallback.local.refundTokens(draws, now);
    },
    async reserveBudget(reservation, counters, now) {
      if (counters.length === 0) return { ok: true, blocking: -1, spentUsd: [] };
      if (await link.usable()) {
        try {
          const reply = await link.run(() =>
            reserveScript(
              counters.length * 2,
              ...counterKeys(counters),
              reservation.id,
              nanodollars(reservation.amountUsd, Math.ceil),
              String(Math.max(1, Math.ceil(reservation.expiresAt - now))),
              ...counters.flatMap((counter) => [limitNanodollars(counter.limitUsd), ttlOf(counter.expiresAt, now)]),
            ),
          );
          const result = toBudgetResult(reply, counters.length);
          fallback.rememberShared(counters, result, reservation.amountUsd);
          return result;
        } catch {
          // The link is down now; the policy below decides.
        }
      }
      if (policies.budgets === "closed") throw new StoreUnavailableError("budgets", link.lastError);
      return fallback.reserve(reservation, counters, now);
    },
    async settleBudget(reservationId, counters, actualUsd, now) {
      if (fallback.takeLocalHold(reservationId)) await fallback.local.settleBudget(reservationId, counters, actualUsd, now);
      // Every cost reaches the shared total, now or when Redis is back, held there or locally.
      const settlement: PendingSettlement = { reservationId, counters, actualUsd };
      if (queued - delivered - pending.dropped === 0 && (await link.usable())) {
        try {
          await settleInRedis(settlement);
          return;
        } catch {
          // Kept for later, below.
        }
      }
      queued++;
      pending.push(settlement);
    },
    async seedBudgets(seeds, now) {
      const live = seeds.filter((seed) => seed.counter.expiresAt > now);
      if (live.length === 0) return;
      if (await link.usable()) {
        try {
          await link.run(() =>
            seedScript(
              live.length,
              ...live.map((seed) => keys.counter(seed.counter.key)),
              ...live.flatMap((seed) => [nanodollars(seed.spentUsd, Math.round), ttlOf(seed.counter.expiresAt, now)]),
            ),
          );
          return;
        } catch {
          // The link is down now; the policy below decides.
        }
      }
      if (policies.budgets === "closed") throw new StoreUnavailableError("budgets", link.lastError);
      // Open: while Redis is away, local counting starts from the ledger's totals, not from 0.
      for (const seed of live) {
        fallback.rememberShared([seed.counter], { ok: false, blocking: -1, spentUsd: [seed.spentUsd] }, 0);
      }
    },
    async close() {
      // One last delivery of what is waiting; what Redis still does not take is lost.
      await pending.close();
      await fallback.local.close();
    },
  };
}

/** A key's TTL for Redis, in ms from `now`; "-1" for a counter that never expires. */
function ttlOf(expiresAt: number, now: number): string {
  return expiresAt === Number.POSITIVE_INFINITY ? "-1" : String(Math.max(1, Math.ceil(expiresAt - now)));
}

function replyArray(reply: unknown, length: number): unknown[] {
  if (!Array.isArray(reply) || reply.length !== length) throw new Error("modelgate: unexpected reply from a Redis script");
  return reply;
}

function toTokenResult(reply: unknown, draws: number): TokenResult {
  const values = replyArray(reply, 3 + draws);
  return {
    ok: Number(values[0]) === 1,
    retryAfterMs: Number(values[1]),
    blocking: Number(values[2]),
    levels: values.slice(3).map(Number),
  };
}

function toBudgetResult(reply: unknown, counters: number): BudgetResult {
  const values = replyArray(reply, 2 + counters);
  return {
    ok: Number(values[0]) === 1,
    blocking: Number(values[1]),
    spentUsd: values.slice(2).map((nano) => toUsd(Number(nano))),
  };
}
