/**
 * Budget settlements through a real redis-server that stalls (SIGSTOP/SIGCONT): applied exactly
 * once whichever path delivers them, never lost at close(), never leaving a hold behind for a
 * call that was refused, never dropped past a bound. Figures are read back from Redis itself.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../src/index.js";
import { redisStore, type RedisStore } from "../src/redis.js";
import type { BudgetCounter } from "../src/stores/store.js";
import { REDIS_SERVER, startRedisServer, type RedisServer } from "./fakes/redis-server.js";
import { requireBinary } from "./fakes/require-binary.js";

let server: RedisServer;
let reader: Redis;

const redis = requireBinary({ ...REDIS_SERVER, what: "the Redis settlement tests (test/redis-settlements.test.ts)" });

beforeAll(async () => {
  if (redis.skip) return;
  server = await startRedisServer();
  reader = new Redis(server.url, { lazyConnect: true });
  await reader.connect();
});

afterAll(async () => {
  reader?.disconnect();
  await server?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const budget = (limitUsd: number): BudgetCounter[] => [{ key: `budget:key:${randomUUID()}:total:all`, limitUsd, expiresAt: Number.POSITIVE_INFINITY }];
const hold = (amountUsd: number) => ({ id: randomUUID(), amountUsd, expiresAt: Date.now() + 3_600_000 });

/** What Redis holds for a counter, in nanodollars. */
async function counterIn(prefix: string, counter: BudgetCounter): Promise<{ spent: number; reserved: number }> {
  const [spent, reserved] = await reader.hmget(`${prefix}counter:${counter.key}`, "spent", "reserved");
  return { spent: Number(spent ?? 0), reserved: Number(reserved ?? 0) };
}

/** Bounded wait (generous, for a loaded machine) until the store has delivered everything. */
async function drained(store: RedisStore, tries = 400): Promise<void> {
  for (let attempt = 0; attempt < tries && store.pendingSettlements > 0; attempt++) await sleep(25);
  expect(store.pendingSettlements).toBe(0);
}

/** Stalls Redis for the duration of `work` (SIGSTOP), and resumes it whatever happens. */
async function duringStall<T>(work: () => Promise<T>): Promise<T> {
  server.pause();
  try {
    return await work();
  } finally {
    server.resume();
  }
}

describe.skipIf(redis.skip)("budget settlements against a stalling Redis", () => {
  it("applies a settlement exactly once when it timed out, ran on resume and is replayed (idempotent by id)", async () => {
    const prefix = `once:${randomUUID()}:`;
    // A short pause after a failure: the reservation below falls in it (held locally, never
    // sent), the settlement after it is sent and times out, and Redis runs it when it resumes.
    const store = redisStore({ url: server.url }, { prefix, onError: "open", pauseAfterFailureMs: 50 });
    try {
      const counters = budget(1);
      await store.settleBudget(randomUUID(), counters, 0, Date.now()); // connected
      const blip = hold(0.2);
      await duringStall(async () => {
        await store.peekTokens([{ key: "rpm:x", amount: 1, capacity: 10, refillPerMs: 1 }], Date.now()); // times out: link down
        expect((await store.reserveBudget(blip, counters, Date.now())).ok).toBe(true); // held locally
        await sleep(100); // past the pause
        await store.settleBudget(blip.id, counters, 0.15, Date.now()); // sent, times out
        expect(store.pendingSettlements).toBe(1);
      });
      await drained(store);
      // Run on resume and replayed: 0.15 once, not 0.30.
      expect(await counterIn(prefix, counters[0]!)).toEqual({ spent: 150_000_000, reserved: 0 });
    } finally {
      await store.close();
    }
  });

  it('cancels under "closed" a reservation the stalled Redis runs after the call was refused: no phantom hold', async () => {
    const prefix = `phantom:${randomUUID()}:`;
    const store = redisStore({ url: server.url }, { prefix, onError: "closed" });
    try {
      const counters = budget(1);
      await store.settleBudget(randomUUID(), counters, 0, Date.now()); // connected
      await duringStall(async () => {
        await expect(store.reserveBudget(hold(1), counters, Date.now())).rejects.toBeInstanceOf(StoreUnavailableError);
      });
      await drained(store);
      expect(await counterIn(prefix, counters[0]!)).toEqual({ spent: 0, reserved: 0 });
      // The whole budget is there for the next call (it was refused with budget_exceeded before).
      await sleep(1_100); // past the pause after the failure
      expect((await store.reserveBudget(hold(1), counters, Date.now())).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("delivers at close() what waits, even during the pause after an error", async () => {
    const prefix = `close:${randomUUID()}:`;
    const store = redisStore({ url: server.url }, { prefix, onError: "open", pauseAfterFailureMs: 60_000 });
    const counters = budget(1);
    const taken = hold(0.5);
    expect((await store.reserveBudget(taken, counters, Date.now())).ok).toBe(true);
    await duringStall(async () => {
      await store.peekTokens([{ key: "rpm:x", amount: 1, capacity: 10, refillPerMs: 1 }], Date.now()); // times out: 60 s pause
      await store.settleBudget(taken.id, counters, 0.25, Date.now()); // kept, never sent
    });
    expect(store.pendingSettlements).toBe(1);
    expect(store.state).toBe("down");
    // Redis is healthy again, the link still in its 60 s pause: close() must deliver anyway.
    await store.close();
    expect(await counterIn(prefix, counters[0]!)).toEqual({ spent: 250_000_000, reserved: 0 });
  });

  it("keeps more than 10,000 settlements of an outage and replays every one, aggregated per counter", async () => {
    const prefix = `many:${randomUUID()}:`;
    const store = redisStore({ url: server.url }, { prefix, onError: "open" });
    try {
      const counters = budget(1_000);
      await store.settleBudget(randomUUID(), counters, 0, Date.now()); // connected
      const calls = 25_000;
      await duringStall(async () => {
        await expect(store.reserveBudget(hold(0.001), counters, Date.now())).resolves.toMatchObject({ ok: true }); // link down
        const settling: Promise<void>[] = [];
        for (let index = 0; index < calls; index++) settling.push(store.settleBudget(randomUUID(), counters, 0.001, Date.now()));
        await Promise.all(settling);
        expect(store.pendingSettlements).toBe(calls);
      });
      // 50 batches of 500 ids; on a loaded machine a batch can outlast commandTimeoutMs, and the
      // replay then waits out the pause after that failure before sending it again (counted once).
      await drained(store, 2_400);
      expect(store.stats()).toMatchObject({ pendingSettlements: 0, foldedSettlements: 0 });
      const { spent } = await counterIn(prefix, counters[0]!);
      expect(spent).toBe(calls * 1_000_000);
    } finally {
      await store.close();
    }
    // 25,000 settlements kept and replayed: seconds of CPU, many more on a loaded 2-core machine.
  }, 90_000);
});

describe.skipIf(redis.skip)("the link to Redis", () => {
  it("ends the pause after a failure as soon as a command succeeds", async () => {
    const { RedisLink } = await import("../src/stores/redis/redis-link.js");
    const client = new Redis(server.url, { lazyConnect: true, enableOfflineQueue: false });
    await client.connect();
    const link = new RedisLink(client, true, { commandTimeoutMs: 100, firstConnectTimeoutMs: 1_000, pauseAfterFailureMs: 60_000, onStateChange: () => undefined });
    try {
      expect(link.usable()).toBe(true);
      link.failed(new Error("a blip"));
      expect(link.usable()).toBe(false);
      await link.run(() => client.ping());
      expect(link.usable()).toBe(true);
      expect(link.isDown).toBe(false);
    } finally {
      link.close();
    }
  });
});

describe.skipIf(redis.skip)("stats", () => {
  it("gateway.stats().store reports the link and its settlement backlog", async () => {
    const { createGateway } = await import("../src/index.js");
    const { mockProvider } = await import("../src/testing.js");
    const store = redisStore({ url: server.url }, { prefix: `stats:${randomUUID()}:` });
    const gateway = createGateway({
      providers: { p: mockProvider({ usage: { completion_tokens: 10 } }) },
      prices: { x: { input: 0, output: 1 } },
      keys: { app: { budget: { usd: 1, period: "day" } } },
      store,
    });
    try {
      await gateway.chat({ model: "p/x", messages: [{ role: "user", content: "hi" }], max_tokens: 10 }, { key: "app" });
      expect(gateway.stats().store).toEqual({
        state: "up",
        pendingSettlements: 0,
        foldedSettlements: 0,
        // No budget alerts or budgets.get: no reads beside the calls.
        budgetReadsSent: 0,
        budgetReadsCoalesced: 0,
        budgetReadsSkipped: 0,
        budgetReadsFailed: 0,
        claimedLocally: 0,
      });
    } finally {
      await gateway.close();
    }
  });
});

describe.skipIf(redis.skip)("a busy start", () => {
  it("waits for the first connection rather than failing (closed) or counting alone from zero (open)", async () => {
    const prefix = `busy:${randomUUID()}:`;
    const store = redisStore({ url: server.url }, { prefix, onError: "closed" });
    try {
      const counters = budget(1);
      const reserving = store.reserveBudget(hold(0.5), counters, Date.now());
      // A start-up that keeps the event loop busy for 300 ms (module loading, warm-up).
      const until = performance.now() + 300;
      while (performance.now() < until) {
        // busy
      }
      await expect(reserving).resolves.toMatchObject({ ok: true });
      expect(store.state).toBe("up");
      expect(await counterIn(prefix, counters[0]!)).toEqual({ spent: 0, reserved: 500_000_000 });
    } finally {
      await store.close();
    }
  });
});
