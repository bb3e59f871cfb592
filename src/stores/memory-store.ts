import { refilledLevel, tokensNeeded, waitForTokens } from "../core/token-bucket.js";
import type { BudgetCounter, BudgetReading, BudgetReservation, BudgetResult, BudgetSeed, StateStore, TokenDraw, TokenResult } from "./store.js";

interface Bucket {
  level: number;
  updatedAt: number;
  capacity: number;
  refillPerMs: number;
}

interface Counter {
  /** Settled spend, in nanodollars: integers, so that sums never drift past a limit. */
  spent: number;
  /** Sum of live reservations, in nanodollars. */
  reserved: number;
  /** Live reservations in insertion order (about expiry order), for the lazy sweep. */
  readonly reservations: Map<string, { amount: number; expiresAt: number }>;
  /** No hold expires before this: the hot path skips the sweep until then. */
  nextHoldExpiry: number;
  expiresAt: number;
}

/** Nanodollars per USD: budgets up to $9M stay exact integers. */
const NANO_PER_USD = 1e9;
/** How often (by the `now` callers pass) expired buckets, counters and holds are dropped. */
const SWEEP_EVERY_MS = 60_000;

const resolved = Promise.resolve();

/**
 * The default `StateStore`: one process's buckets and budget counters in maps. Every operation
 * runs synchronously inside the call and returns a settled promise, so a limit check costs well
 * under a microsecond. Full buckets and past-period counters are dropped by a sweep that runs at
 * most once a minute, inline in an operation, so no timer outlives the gateway.
 *
 * @example
 * import { createGateway, memoryStore } from "modelgate";
 * const gateway = createGateway({ providers, keys: { app: { rpm: 60 } }, store: memoryStore() });
 */
export function memoryStore(): StateStore {
  const buckets = new Map<string, Bucket>();
  const counters = new Map<string, Counter>();
  /** `claimOnce` markers -> when each expires, epoch ms. */
  const markers = new Map<string, number>();
  let nextSweepAt = 0;

  const sweep = (now: number): void => {
    if (now < nextSweepAt) return;
    nextSweepAt = now + SWEEP_EVERY_MS;
    // A full bucket is the same as no bucket: dropping it keeps one entry per active caller only.
    for (const [key, bucket] of buckets) {
      if (refilledLevel(bucket.level, bucket.updatedAt, bucket.capacity, bucket.refillPerMs, now) >= bucket.capacity) {
        buckets.delete(key);
      }
    }
    for (const [key, counter] of counters) {
      if (counter.expiresAt <= now) counters.delete(key);
      else dropExpiredHolds(counter, now, true);
    }
    for (const [key, expiresAt] of markers) if (expiresAt <= now) markers.delete(key);
  };

  const levelOf = (draw: TokenDraw, now: number): number => {
    const bucket = buckets.get(draw.key);
    return bucket ? refilledLevel(bucket.level, bucket.updatedAt, draw.capacity, draw.refillPerMs, now) : draw.capacity;
  };

  const check = (draws: readonly TokenDraw[], now: number): TokenResult => {
    const levels: number[] = [];
    let retryAfterMs = 0;
    let blocking = -1;
    for (let index = 0; index < draws.length; index++) {
      const draw = draws[index]!;
      const level = levelOf(draw, now);
      levels.push(level);
      const waitMs = waitForTokens(level, tokensNeeded(draw.amount, draw.capacity), draw.refillPerMs);
      if (waitMs > retryAfterMs) {
        retryAfterMs = waitMs;
        blocking = index;
      }
    }
    return { ok: blocking === -1, retryAfterMs, blocking, levels };
  };

  const setLevel = (draw: TokenDraw, level: number, now: number): void => {
    const bucket = buckets.get(draw.key);
    if (bucket) {
      bucket.level = level;
      bucket.updatedAt = now;
      bucket.capacity = draw.capacity;
      bucket.refillPerMs = draw.refillPerMs;
    } else {
      buckets.set(draw.key, { level, updatedAt: now, capacity: draw.capacity, refillPerMs: draw.refillPerMs });
    }
  };

  const counterFor = (spec: BudgetCounter): Counter => {
    let counter = counters.get(spec.key);
    if (!counter) {
      counter = { spent: 0, reserved: 0, reservations: new Map(), nextHoldExpiry: Number.POSITIVE_INFINITY, expiresAt: spec.expiresAt };
      counters.set(spec.key, counter);
    }
    return counter;
  };

  return {
    scope: "process",
    consumeTokens(draws, now) {
      sweep(now);
      const result = check(draws, now);
      if (result.ok) {
        for (let index = 0; index < draws.length; index++) {
          const level = result.levels[index]! - draws[index]!.amount;
          result.levels[index] = level;
          setLevel(draws[index]!, level, now);
        }
      }
      return Promise.resolve(result);
    },
    peekTokens(draws, now) {
      return Promise.resolve(check(draws, now));
    },
    refundTokens(draws, now) {
      for (const draw of draws) {
        if (draw.amount === 0) continue;
        const level = Math.max(-draw.capacity, Math.min(draw.capacity, levelOf(draw, now) + draw.amount));
        setLevel(draw, level, now);
      }
      return resolved;
    },
    reserveBudget(reservation, specs, now) {
      sweep(now);
      const amount = toNano(reservation.amountUsd, Math.ceil);
      const spentUsd: number[] = [];
      let blocking = -1;
      for (let index = 0; index < specs.length; index++) {
        const spec = specs[index]!;
        const counter = counters.get(spec.key);
        if (counter) dropExpiredHolds(counter, now, false);
        const used = counter ? counter.spent + counter.reserved : 0;
        spentUsd.push(used / NANO_PER_USD);
        if (blocking === -1 && used + amount > toNano(spec.limitUsd, Math.floor)) blocking = index;
      }
      if (blocking === -1) {
        for (const spec of specs) {
          const counter = counterFor(spec);
          counter.reservations.set(reservation.id, { amount, expiresAt: reservation.expiresAt });
          counter.reserved += amount;
          if (reservation.expiresAt < counter.nextHoldExpiry) counter.nextHoldExpiry = reservation.expiresAt;
        }
      }
      return Promise.resolve({ ok: blocking === -1, blocking, spentUsd } satisfies BudgetResult);
    },
    settleBudget(reservationId, specs, actualUsd, now) {
      const actual = toNano(actualUsd, Math.round);
      for (const spec of specs) {
        const counter = counterFor(spec);
        const hold = counter.reservations.get(reservationId);
        if (hold) {
          counter.reservations.delete(reservationId);
          counter.reserved -= hold.amount;
        }
        counter.spent += actual;
      }
      sweep(now);
      return resolved;
    },
    seedBudgets(seeds: readonly BudgetSeed[], now: number) {
      for (const seed of seeds) {
        if (counters.has(seed.counter.key) || seed.counter.expiresAt <= now) continue;
        counterFor(seed.counter).spent = toNano(seed.spentUsd, Math.round);
      }
      return resolved;
    },
    readBudgets(specs: readonly BudgetCounter[], now: number) {
      const readings: BudgetReading[] = specs.map((spec) => {
        const counter = counters.get(spec.key);
        if (!counter || counter.expiresAt <= now) return { spentUsd: 0, reservedUsd: 0 };
        dropExpiredHolds(counter, now, false);
        return { spentUsd: counter.spent / NANO_PER_USD, reservedUsd: counter.reserved / NANO_PER_USD };
      });
      return Promise.resolve(readings);
    },
    claimOnce(markerKey: string, expiresAt: number, now: number) {
      sweep(now);
      const held = markers.get(markerKey);
      if (held !== undefined && held > now) return Promise.resolve(false);
      markers.set(markerKey, expiresAt);
      return Promise.resolve(true);
    },
    close() {
      buckets.clear();
      counters.clear();
      markers.clear();
      return resolved;
    },
  };
}

/** USD to whole nanodollars; negative and non-finite amounts count as 0. */
function toNano(usd: number, round: (value: number) => number): number {
  return Number.isFinite(usd) && usd > 0 ? round(usd * NANO_PER_USD) : 0;
}

/**
 * Drops holds past their expiry. Holds are kept in insertion order with about one lifetime, so
 * the hot path does nothing until the earliest known expiry and then walks from the oldest;
 * a hold that expires out of order waits for the periodic sweep (`all`), which checks every one.
 * Until then it is over-counted: a budget may refuse early, never overspend.
 */
function dropExpiredHolds(counter: Counter, now: number, all: boolean): void {
  if (!all && now < counter.nextHoldExpiry) return;
  let next = Number.POSITIVE_INFINITY;
  for (const [id, hold] of counter.reservations) {
    if (hold.expiresAt > now) {
      next = Math.min(next, hold.expiresAt);
      if (all) continue;
      break;
    }
    counter.reservations.delete(id);
    counter.reserved -= hold.amount;
  }
  counter.nextHoldExpiry = next;
}
