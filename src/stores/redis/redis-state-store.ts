import { StoreUnavailableError } from "../../core/errors.js";
import type { AfterCallBatch } from "./after-call-batch.js";
import type { BudgetCounter, BudgetReading, BudgetResult, BudgetSeed, StateStore, TokenDraw, TokenResult } from "../store.js";
import { RESERVE_BUDGET, SETTLE_BUDGET } from "./budget-scripts.js";
import { SEED_BUDGETS } from "./seed-scripts.js";
import { READ_BUDGETS } from "./read-budget-scripts.js";
import { BudgetReads, type BudgetReadCounts } from "./budget-reads.js";
import type { LocalFallback } from "./local-fallback.js";
import { limitNanodollars, nanodollars, toUsd } from "./nanodollars.js";
import type { RedisLink, ScriptRunner } from "./redis-link.js";
import type { RedisKeys } from "./redis-keys.js";
import { SettlementQueue } from "./settlement-queue.js";
import { CONSUME_TOKENS } from "./token-scripts.js";

/** What happens to limits or budgets while Redis cannot be reached. */
export type FailurePolicy = "open" | "closed";

export interface FailurePolicies {
  readonly limits: FailurePolicy;
  readonly budgets: FailurePolicy;
}

/**
 * (call, counter) settlements kept for Redis while it is down, by reservation id; past this,
 * costs are folded into one total per counter (see `SettlementQueue`). About 100 bytes each.
 */
const MAX_PENDING_ENTRIES = 200_000;
/** Longest a `claimOnce` marker lives (a `total` budget's never-ending period): a year. */
const MAX_MARKER_MS = 366 * 86_400_000;
/** Backstop between replay attempts while Redis is down; a link that comes back replays at once. */
const RETRY_MS = 250;

/** What the store counts of its settlements, for `stats()`. */
export type SettlementCounts = {
  /** Settlements waiting for Redis (one per call and budget counter). */
  readonly pendingSettlements: number;
  /** Settlements that found the queue full: their cost was folded into a per-counter total (never lost), their hold left to lapse. */
  readonly foldedSettlements: number;
  /** Alert claims made in this process alone because Redis could not be asked (an alert may then fire once per process). */
  readonly claimedLocally: number;
} & Readonly<BudgetReadCounts>;

/** The `StateStore` half of `redisStore`, with its settlement backlog. */
export interface RedisStateStore extends StateStore {
  seedBudgets(seeds: readonly BudgetSeed[], now: number): Promise<void>;
  readBudgets(counters: readonly BudgetCounter[], now: number): Promise<BudgetReading[]>;
  claimOnce(markerKey: string, expiresAt: number, now: number): Promise<boolean>;
  /** Settlements waiting for Redis (for tests and stats). */
  readonly pendingSettlements: number;
  counts(): SettlementCounts;
  /** The link works again: replay what is waiting now, not at the next retry. */
  replayNow(): void;
}

/**
 * Buckets and budget counters in Redis, one Lua script per operation. When Redis cannot be
 * reached, each concern follows its policy: `open` counts in this process (`LocalFallback`),
 * `closed` refuses with `StoreUnavailableError`. Settlements never fail a call: one Redis does
 * not take now is kept (per counter, see `SettlementQueue`) and replayed as soon as the link
 * works again, so every cost reaches the shared total once Redis is back, exactly once (the
 * settle script is idempotent by reservation id). A reservation Redis may run after the call
 * gave up on it is cancelled the same way. A lost token refund is only dropped: the bucket
 * refills on its own within its window.
 */
export function redisStateStore(
  link: RedisLink,
  keys: RedisKeys,
  policies: FailurePolicies,
  fallback: LocalFallback,
  /** TPM refunds and settlements of the calls that end in one turn of the event loop: one script. */
  afterCalls: AfterCallBatch,
  onFold: (counterKey: string) => void = () => undefined,
): RedisStateStore {
  const consumeScript: ScriptRunner = link.defineScript("consume_tokens", CONSUME_TOKENS);
  const reserveScript: ScriptRunner = link.defineScript("reserve_budget", RESERVE_BUDGET);
  const settleScript: ScriptRunner = link.defineScript("settle_budget", SETTLE_BUDGET);
  const seedScript: ScriptRunner = link.defineScript("seed_budgets", SEED_BUDGETS);
  const readScript: ScriptRunner = link.defineScript("read_budgets", READ_BUDGETS);
  const reads = new BudgetReads(
    link,
    async (counters) => {
      const reply = replyArray(await readScript(counters.length * 2, ...counterKeys(counters)), counters.length * 2);
      return counters.map((_, index) => ({ spentUsd: toUsd(Number(reply[index * 2])), reservedUsd: toUsd(Number(reply[index * 2 + 1])) }));
    },
    // A read sees the settlements of its counters requested before it.
    (counters) => afterCalls.flushBefore(counters),
  );
  /** Alert claims made in this process alone because Redis could not be asked. */
  let claimedLocally = 0;

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

  /** One Lua call: ends each id's hold on every counter and adds its cost, once per id. */
  function settleInRedis(counters: readonly BudgetCounter[], pairs: readonly (readonly [string, string])[], now: number): Promise<unknown> {
    return link.run(() =>
      settleScript(counters.length * 2, ...counterKeys(counters), ...counters.map((counter) => ttlOf(counter.expiresAt, now)), ...pairs.flat()),
    );
  }

  const queue = new SettlementQueue(MAX_PENDING_ENTRIES, onFold);
  let replaying: Promise<void> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const inFlight = new Set<Promise<void>>();

  /**
   * Sends the backlog, batch by batch, until it is empty or Redis fails; then tries again after
   * `RETRY_MS` (or as soon as the link is seen working). `force` (at close) ignores the pause
   * after a failure: the last chance to deliver should not be skipped because of an old error.
   */
  async function replay(force: boolean): Promise<void> {
    for (;;) {
      const batch = queue.next(Date.now());
      if (!batch) return;
      const usable = force ? link.connected : await link.usable();
      if (!usable) break;
      try {
        await settleInRedis([batch.counter], batch.pairs, Date.now());
        queue.delivered(batch);
      } catch {
        break;
      }
    }
    if (!closed && !retryTimer) {
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        replayNow();
      }, RETRY_MS);
      // A retry must not keep the process alive on its own.
      retryTimer.unref?.();
    }
  }

  function replayNow(): void {
    if (replaying || queue.isEmpty) return;
    replaying = replay(false).finally(() => {
      replaying = undefined;
    });
  }

  /** Keeps a settlement for Redis (a cost of "0" cancels a reservation Redis may still run). */
  function keep(reservationId: string, counters: readonly BudgetCounter[], nano: string): void {
    queue.add(reservationId, counters, nano);
    replayNow();
  }

  return {
    get pendingSettlements() {
      return queue.counts.pending;
    },
    counts() {
      const { pending, folded } = queue.counts;
      return { pendingSettlements: pending, foldedSettlements: folded, ...reads.counts(), claimedLocally };
    },
    replayNow,
    consumeTokens(draws, now) {
      return drawTokens(draws, true, now);
    },
    peekTokens(draws, now) {
      return drawTokens(draws, false, now);
    },
    async refundTokens(draws, now) {
      if (draws.length === 0) return;
      // Not applied (Redis down): dropped there, the bucket is only lower than it should be and
      // refills within its window.
      if (await afterCalls.refund(draws)) return;
      if (policies.limits === "open") await fallback.local.refundTokens(draws, now);
    },
    async reserveBudget(reservation, counters, now) {
      if (counters.length === 0) return { ok: true, blocking: -1, spentUsd: [] };
      // True once the command may have reached Redis: if no answer comes, Redis may still run
      // it later (a stalled server resumes), and a call refused here must not hold there then.
      let sent = false;
      // Settlements of these counters waiting for the end of this turn go first.
      afterCalls.flushBefore(counters);
      if (await link.usable()) {
        try {
          sent = true;
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
      if (policies.budgets === "closed") {
        if (sent) keep(reservation.id, counters, "0");
        throw new StoreUnavailableError("budgets", link.lastError);
      }
      const local = await fallback.reserve(reservation, counters, now);
      // Admitted locally: its settlement (same id) ends a late Redis hold too. Refused: cancel it.
      if (sent && !local.ok) keep(reservation.id, counters, "0");
      return local;
    },
    settleBudget(reservationId, counters, actualUsd, now) {
      // Tracked so close() waits for a settlement still in flight before its last replay.
      const settling = settle(reservationId, counters, actualUsd, now);
      inFlight.add(settling);
      void settling.finally(() => inFlight.delete(settling)).catch(() => undefined);
      return settling;
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
    async readBudgets(counters, now) {
      if (counters.length === 0) return [];
      // Never waits for the link and never moves it: see `BudgetReads`. Under "open", a link
      // that is not up (or a read that failed) reads as this process's last shared figures.
      try {
        return await Promise.all(counters.map((counter) => reads.read(counter)));
      } catch (error) {
        if (policies.budgets === "closed") throw error instanceof StoreUnavailableError ? error : new StoreUnavailableError("budgets", error);
        return fallback.read(counters, now);
      }
    },
    async claimOnce(markerKey, expiresAt, now) {
      // Like the reads: sent only while the link is up, and its failure leaves the link alone.
      if (link.ready) {
        try {
          const ttl = String(Math.max(1, Math.ceil(Math.min(expiresAt, now + MAX_MARKER_MS) - now)));
          const reply = await link.runAside(() => link.client.set(keys.marker(markerKey), "1", "PX", ttl, "NX"));
          return reply === "OK";
        } catch {
          // Redis cannot say who claimed first.
        }
      }
      claimedLocally++;
      // Claimed in this process only: a marker may then be claimed once per process, which is
      // better for an alert than not at all.
      return (await fallback.local.claimOnce?.(markerKey, expiresAt, now)) ?? true;
    },
    async close() {
      // Delivers what is waiting, ignoring the pause after an old failure; what Redis still
      // does not take (it is down) is lost with the process, and its holds lapse.
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      await Promise.allSettled([...inFlight]);
      await replaying;
      await replay(true);
      await fallback.local.close();
    },
  };

  async function settle(reservationId: string, counters: readonly BudgetCounter[], actualUsd: number, now: number): Promise<void> {
      if (fallback.takeLocalHold(reservationId)) await fallback.local.settleBudget(reservationId, counters, actualUsd, now);
      // Every cost reaches the shared total, now or when Redis is back, held there or locally.
      // The script is idempotent by id, so a settlement that timed out here but ran there, and
      // is then replayed, counts once.
      const wallNow = Date.now();
      const live = counters.filter((counter) => counter.expiresAt > wallNow);
      if (live.length === 0) return;
      const nano = nanodollars(actualUsd, Math.round);
      // With the other calls that end in this turn; kept for later when that batch fails.
      if (await afterCalls.settle(reservationId, live, nano)) return;
      keep(reservationId, live, nano);
  }
}

/** A key's TTL for Redis, in ms from `now`; "-1" for a counter that never expires. */
export function ttlOf(expiresAt: number, now: number): string {
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
