/**
 * Budget reads beside the calls (alerts, `gateway.budgets`) against a real redis-server: at most
 * one read on the wire per counter (bursts coalesce), never sent while the link is not up, and a
 * read stuck on a stalled server (SIGSTOP) leaves the link up and its calls alone.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../src/index.js";
import { redisStore } from "../src/redis.js";
import type { BudgetCounter } from "../src/stores/store.js";
import { REDIS_SERVER, startRedisServer, type RedisServer } from "./fakes/redis-server.js";
import { requireBinary } from "./fakes/require-binary.js";

const redis = requireBinary({ ...REDIS_SERVER, what: "the budget read tests (test/budget-reads.test.ts)" });
let server: RedisServer;

beforeAll(async () => {
  if (redis.skip) return;
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

const counter = (): BudgetCounter => ({ key: `budget:key:${randomUUID()}:day:x`, limitUsd: 1, expiresAt: Date.now() + 3_600_000 });

describe.skipIf(redis.skip)("budget reads on a redisStore", () => {
  it("coalesces a burst on one counter into one read on the wire and one queued behind it", async () => {
    const store = redisStore({ url: server.url }, { prefix: `reads:${randomUUID()}:` });
    const budget = counter();
    // The first reservation connects the link (reads never wait for it) and puts a hold on the counter.
    expect((await store.reserveBudget({ id: "r1", amountUsd: 0.25, expiresAt: Date.now() + 60_000 }, [budget], Date.now())).ok).toBe(true);
    const readings = await Promise.all(Array.from({ length: 50 }, () => store.readBudgets!([budget], Date.now())));
    expect(readings.every((reading) => reading[0]!.reservedUsd === 0.25 && reading[0]!.spentUsd === 0)).toBe(true);
    expect(store.stats()).toMatchObject({ budgetReadsSent: 2, budgetReadsCoalesced: 48, budgetReadsSkipped: 0, budgetReadsFailed: 0 });
    // A request made after a settlement sees it (the follow-up read starts after it).
    await store.settleBudget("r1", [budget], 0.1, Date.now());
    expect(await store.readBudgets!([budget], Date.now())).toEqual([{ spentUsd: 0.1, reservedUsd: 0 }]);
    await store.close();
  });

  it("a read stuck on a stalled Redis times out, is counted, and leaves the link up; reads are not sent while the link is down", async () => {
    const states: string[] = [];
    const store = redisStore(
      { url: server.url },
      { prefix: `reads:${randomUUID()}:`, onError: "closed", commandTimeoutMs: 300, pauseAfterFailureMs: 60_000, onStateChange: (state) => states.push(state) },
    );
    const budget = counter();
    expect(await store.readBudgets!([budget], Date.now()).catch((error: unknown) => error)).toBeInstanceOf(StoreUnavailableError);
    expect(store.stats()).toMatchObject({ budgetReadsSent: 0, budgetReadsSkipped: 1 });
    await store.reserveBudget({ id: "r1", amountUsd: 0.25, expiresAt: Date.now() + 60_000 }, [budget], Date.now());
    server.pause();
    try {
      const stuck = await store.readBudgets!([budget], Date.now()).catch((error: unknown) => error);
      expect(stuck).toBeInstanceOf(StoreUnavailableError);
      expect(store.stats()).toMatchObject({ state: "up", budgetReadsSent: 1, budgetReadsFailed: 1 });
      expect(states).toEqual([]);
      // A call's command judges the link: it goes down, and reads are then not sent at all.
      await expect(store.reserveBudget({ id: "r2", amountUsd: 0.25, expiresAt: Date.now() + 60_000 }, [budget], Date.now())).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(states).toEqual(["down"]);
      await expect(store.readBudgets!([budget], Date.now())).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.claimOnce!("m", Date.now() + 1_000, Date.now())).resolves.toBe(true);
      expect(store.stats()).toMatchObject({ budgetReadsSent: 1, budgetReadsSkipped: 2, claimedLocally: 1 });
    } finally {
      server.resume();
    }
    await store.close();
  }, 20_000);
});
