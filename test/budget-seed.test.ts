/**
 * `seedBudgets`: set-if-absent on both stores. A counter the store already holds (a Redis that
 * kept counting) is the source of truth; an absent one starts from the seed.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreUnavailableError, memoryStore, type BudgetCounter, type StateStore } from "../src/index.js";
import { redisStore, type RedisStore } from "../src/redis.js";
import { memorySpendStore } from "../src/spend/memory-spend-store.js";
import { REDIS_SERVER, startRedisServer, type RedisServer } from "./fakes/redis-server.js";
import { requireBinary } from "./fakes/require-binary.js";
import { spendRecord } from "./fakes/spend-records.js";

const redisBinary = requireBinary({ ...REDIS_SERVER, what: "the redisStore half of test/budget-seed.test.ts" });

const NOW = Date.UTC(2030, 0, 15, 12);
const counter = (key: string, limitUsd = 1): BudgetCounter => ({ key, limitUsd, expiresAt: NOW + 86_400_000 });

/** What a reservation of `amount` reports as already used on the counter (spent + held). */
async function used(store: StateStore, spec: BudgetCounter): Promise<number> {
  const result = await store.reserveBudget({ id: randomUUID(), amountUsd: 0, expiresAt: NOW + 1_000 }, [spec], NOW);
  return result.spentUsd[0]!;
}

async function contract(store: StateStore): Promise<void> {
  const fresh = counter(`budget:key:${randomUUID()}:month:2030-01-01`);
  const held = counter(`budget:key:${randomUUID()}:month:2030-01-01`);
  // `held` already counts a call settled here.
  const hold = { id: randomUUID(), amountUsd: 0.25, expiresAt: NOW + 60_000 };
  expect((await store.reserveBudget(hold, [held], NOW)).ok).toBe(true);
  await store.settleBudget(hold.id, [held], 0.2, NOW);

  await store.seedBudgets!([{ counter: fresh, spentUsd: 0.7 }, { counter: held, spentUsd: 0.9 }], NOW);
  expect(await used(store, fresh)).toBeCloseTo(0.7, 9);
  expect(await used(store, held)).toBeCloseTo(0.2, 9);
  // Seeding again changes nothing: the counter exists now.
  await store.seedBudgets!([{ counter: fresh, spentUsd: 0.1 }], NOW);
  expect(await used(store, fresh)).toBeCloseTo(0.7, 9);
  // The seed counts against the limit: 0.7 spent, 0.31 more does not fit in 1.
  const over = await store.reserveBudget({ id: randomUUID(), amountUsd: 0.31, expiresAt: NOW + 1_000 }, [fresh], NOW);
  expect(over.ok).toBe(false);
}

describe("seedBudgets", () => {
  it("memoryStore: sets absent counters only", async () => {
    const store = memoryStore();
    await contract(store);
    await store.close();
  });

  describe.skipIf(redisBinary.skip)("redisStore", () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedisServer();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("sets absent counters only (HSETNX), with the counter's TTL", async () => {
      const store: RedisStore = redisStore({ url: server.url }, { prefix: `seed:${randomUUID()}:` });
      await contract(store);
      await store.close();
    });

    it("while Redis is down: closed refuses, open counts locally from the seed", async () => {
      const closed = redisStore({ url: server.url }, { prefix: `seed:${randomUUID()}:`, onError: "closed", commandTimeoutMs: 200 });
      const open = redisStore({ url: server.url }, { prefix: `seed:${randomUUID()}:`, commandTimeoutMs: 200 });
      expect(closed.budgetFailurePolicy).toBe("closed");
      expect(open.budgetFailurePolicy).toBe("open");
      server.pause();
      try {
        const spec = counter("budget:key:down:month:2030-01-01");
        await expect(closed.seedBudgets([{ counter: spec, spentUsd: 0.5 }], NOW)).rejects.toBeInstanceOf(StoreUnavailableError);
        await open.seedBudgets([{ counter: spec, spentUsd: 0.9 }], NOW);
        // Local counting starts from the seed: 0.9 of 1 is gone, 0.2 more does not fit.
        const result = await open.reserveBudget({ id: randomUUID(), amountUsd: 0.2, expiresAt: NOW + 1_000 }, [spec], NOW);
        expect(result).toMatchObject({ ok: false });
      } finally {
        server.resume();
        await closed.close();
        await open.close();
      }
    });
  });
});

describe("memorySpendStore buckets", () => {
  it("reports one row per group and UTC hour or day, buckets in time order", () => {
    const store = memorySpendStore();
    const hour = Date.UTC(2030, 0, 1, 10);
    store.append([
      spendRecord({ time: hour + 5, key: "a", costUsd: 0.1 }),
      spendRecord({ time: hour + 3_600_000 + 1, key: "a", costUsd: 0.2 }),
      spendRecord({ time: hour + 3_600_000 + 2, key: "b", costUsd: 0.3 }),
    ]);
    const byHour = store.report({ by: "key", bucket: "hour" }) as { group: string; bucket?: number; costUsd: number }[];
    expect(byHour.map((row) => [row.bucket, row.group, row.costUsd])).toEqual([
      [hour, "a", 0.1],
      [hour + 3_600_000, "b", 0.3],
      [hour + 3_600_000, "a", 0.2],
    ]);
    const byDay = store.report({ by: "key", bucket: "day" }) as { group: string; bucket?: number; costUsd: number }[];
    expect(byDay.map((row) => [row.bucket, row.group, row.costUsd])).toEqual([
      [Date.UTC(2030, 0, 1), "a", 0.3],
      [Date.UTC(2030, 0, 1), "b", 0.3],
    ]);
    expect((store.report({ by: "key" }) as { bucket?: number }[]).every((row) => row.bucket === undefined)).toBe(true);
  });
});
