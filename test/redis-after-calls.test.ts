/**
 * What calls send once they are over (TPM refunds, budget settlements), gathered over one turn
 * of the event loop into one script (`AfterCallBatch`), against a real redis-server: exact
 * sums (whole nanodollars, past 2^53 in total), each (counter, id) once, refunds summed per
 * bucket, answers of the cache's shared tier stored with them, a reservation or read after a
 * settlement seeing it, a stalled batch replayed exactly once; and budget reads started in one
 * turn sharing one script.
 * Figures are read back from Redis itself.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { redisStore, type RedisStore } from "../src/redis.js";
import type { BudgetCounter } from "../src/stores/store.js";
import { MAX_BATCH_SETTLEMENTS } from "../src/stores/redis/after-call-batch.js";
import { REDIS_SERVER, startRedisServer, type RedisServer } from "./fakes/redis-server.js";
import { requireBinary } from "./fakes/require-binary.js";

let server: RedisServer;
let reader: Redis;
const stores: RedisStore[] = [];

const redis = requireBinary({ ...REDIS_SERVER, what: "the Redis after-call batch tests (test/redis-after-calls.test.ts)" });

beforeAll(async () => {
  if (redis.skip) return;
  server = await startRedisServer();
  reader = new Redis(server.url, { lazyConnect: true });
  await reader.connect();
});

afterAll(async () => {
  for (const store of stores) await store.close();
  reader?.disconnect();
  await server?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const counterOf = (limitUsd = 1e6): BudgetCounter => ({ key: `budget:key:${randomUUID()}:total:all`, limitUsd, expiresAt: Number.POSITIVE_INFINITY });
const holdOf = (amountUsd: number) => ({ id: randomUUID(), amountUsd, expiresAt: Date.now() + 3_600_000 });

function storeFor(prefix: string, commandTimeoutMs = 1_000): RedisStore {
  const store = redisStore({ url: server.url }, { prefix, commandTimeoutMs, pauseAfterFailureMs: 50 });
  stores.push(store);
  return store;
}

/** Spent and reserved nanodollars as decimal strings (exact past 2^53). */
async function counterIn(prefix: string, counter: BudgetCounter): Promise<{ spent: string; reserved: string }> {
  const [spent, reserved] = await reader.hmget(`${prefix}counter:${counter.key}`, "spent", "reserved");
  return { spent: spent ?? "0", reserved: reserved ?? "0" };
}

/** Calls to the after-call script Redis ran, from its command stats. */
async function scriptCalls(): Promise<number> {
  const stats = await reader.info("commandstats");
  return Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(stats)?.[1] ?? 0) + Number(/^cmdstat_eval:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
}

describe.skipIf(redis.skip)("refunds and settlements sent after calls, batched per turn", () => {
  it("settles many calls over shared and own counters in one script, each exactly once, holds released", async () => {
    const prefix = `batch:${randomUUID()}:`;
    const store = storeFor(prefix);
    const shared = counterOf();
    const users = [counterOf(), counterOf(), counterOf()];
    const holds = Array.from({ length: 60 }, (_, index) => ({ hold: holdOf(0.01), user: users[index % 3]! }));
    for (const { hold, user } of holds) expect((await store.reserveBudget(hold, [shared, user], Date.now())).ok).toBe(true);
    expect(await counterIn(prefix, shared)).toEqual({ spent: "0", reserved: String(60 * 10_000_000) });

    const before = await scriptCalls();
    // All in one turn, the first settlement twice: it counts once.
    await Promise.all([
      ...holds.map(({ hold, user }, index) => store.settleBudget(hold.id, [shared, user], 0.001 * (index + 1), Date.now())),
      store.settleBudget(holds[0]!.hold.id, [shared, holds[0]!.user], 0.001, Date.now()),
    ]);
    expect((await scriptCalls()) - before).toBe(1);
    // 1 + 2 + ... + 60 thousandths of a dollar: 1.83 USD.
    expect(await counterIn(prefix, shared)).toEqual({ spent: "1830000000", reserved: "0" });
    for (const [index, user] of users.entries()) {
      let spent = 0;
      for (let call = index; call < 60; call += 3) spent += (call + 1) * 1_000_000;
      expect(await counterIn(prefix, user)).toEqual({ spent: String(spent), reserved: "0" });
    }
    // Settled again in a later batch (a replay): nothing added.
    await Promise.all(holds.map(({ hold, user }) => store.settleBudget(hold.id, [shared, user], 5, Date.now())));
    expect((await counterIn(prefix, shared)).spent).toBe("1830000000");
    // Applied by the batch itself, not by a replay after Redis refused it.
    expect(store.stats()).toMatchObject({ state: "up", pendingSettlements: 0 });
  });

  it("keeps sums exact in whole nanodollars when a batch adds up past 2^53", async () => {
    const prefix = `big:${randomUUID()}:`;
    const store = storeFor(prefix);
    const counter = counterOf(Number.POSITIVE_INFINITY);
    // Three amounts at the cap (2^53 - 1 nanodollars each) and one of 1: summed as doubles
    // they would come to 3 * 2^53 - 4, not 3 * 2^53 - 2.
    const ids = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await Promise.all([...ids.slice(0, 3).map((id) => store.settleBudget(id, [counter], 1e7, Date.now())), store.settleBudget(ids[3]!, [counter], 1e-9, Date.now())]);
    expect((await counterIn(prefix, counter)).spent).toBe(String(3n * BigInt(Number.MAX_SAFE_INTEGER) + 1n));
  });

  it("sends a full batch at once and the rest in the next, still exactly once each", async () => {
    const prefix = `full:${randomUUID()}:`;
    const store = storeFor(prefix);
    const counter = counterOf();
    const count = MAX_BATCH_SETTLEMENTS + 10;
    const before = await scriptCalls();
    await Promise.all(Array.from({ length: count }, () => store.settleBudget(randomUUID(), [counter], 0.000001, Date.now())));
    expect((await scriptCalls()) - before).toBe(2);
    expect((await counterIn(prefix, counter)).spent).toBe(String(count * 1_000));
  });

  it("sums refunds on one bucket in a turn, and gives back what each call did not use", async () => {
    const prefix = `refund:${randomUUID()}:`;
    const store = storeFor(prefix);
    const draw = { key: `tpm:${randomUUID()}`, amount: 900, capacity: 1_000, refillPerMs: 1e-9 };
    expect((await store.consumeTokens([draw], Date.now())).ok).toBe(true);
    expect((await store.consumeTokens([{ ...draw, amount: 50 }], Date.now())).ok).toBe(true);
    // Two calls end together: one used 400 of its 900, the other 20 more than its 50.
    await Promise.all([store.refundTokens([{ ...draw, amount: 500 }], Date.now()), store.refundTokens([{ ...draw, amount: -20 }], Date.now())]);
    const level = Number(await reader.hget(`${prefix}bucket:${draw.key}`, "level"));
    expect(level).toBeCloseTo(1_000 - 950 + 480, 3);
  });

  it("a reservation sent after a settlement of its counter sees that settlement", async () => {
    const prefix = `order:${randomUUID()}:`;
    const store = storeFor(prefix);
    const counter = counterOf(1);
    const first = holdOf(0.1);
    expect((await store.reserveBudget(first, [counter], Date.now())).ok).toBe(true);
    // Cost more than was held (a provider that billed past the bound): the next call must see it.
    void store.settleBudget(first.id, [counter], 0.95, Date.now());
    const next = await store.reserveBudget(holdOf(0.1), [counter], Date.now());
    expect(next.ok).toBe(false);
    expect(next.spentUsd[0]).toBeCloseTo(0.95, 9);
  });

  it("a batch that times out on a stalled Redis is kept and replayed: counted once", async () => {
    const prefix = `stall:${randomUUID()}:`;
    const store = storeFor(prefix, 100);
    const counter = counterOf();
    const holds = Array.from({ length: 20 }, () => holdOf(0.01));
    for (const hold of holds) await store.reserveBudget(hold, [counter], Date.now());
    server.pause();
    try {
      // Written to the socket, then timed out: Redis runs the batch when it resumes.
      await Promise.all(holds.map((hold) => store.settleBudget(hold.id, [counter], 0.002, Date.now())));
      expect(store.pendingSettlements).toBe(20);
    } finally {
      server.resume();
    }
    for (let tries = 0; tries < 400 && store.pendingSettlements > 0; tries++) await sleep(25);
    expect(store.pendingSettlements).toBe(0);
    expect(await counterIn(prefix, counter)).toEqual({ spent: String(20 * 2_000_000), reserved: "0" });
  });

  it("stores the answers of calls that end in a turn with their settlements, in the same script", async () => {
    const prefix = `answers:${randomUUID()}:`;
    // A client of our own, to see that no SET of its own is sent.
    const client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false, lazyConnect: true });
    await client.connect();
    const store = redisStore({ client }, { prefix, commandTimeoutMs: 1_000 });
    try {
      const ownSets = vi.spyOn(client, "set");
      const counter = counterOf();
      const hold = holdOf(0.01);
      await store.reserveBudget(hold, [counter], Date.now());
      const before = await scriptCalls();
      await Promise.all([store.set("a1", "first answer", 60_000), store.set("a2", "second answer", 60_000), store.settleBudget(hold.id, [counter], 0.004, Date.now())]);
      expect((await scriptCalls()) - before).toBe(1);
      expect(ownSets).not.toHaveBeenCalled();
      expect(await reader.get(`${prefix}cache:a1`)).toBe("first answer");
      expect(await reader.pttl(`${prefix}cache:a2`)).toBeGreaterThan(50_000);
      expect(await store.getEntry("a2")).toMatchObject({ value: "second answer" });
      expect((await counterIn(prefix, counter)).spent).toBe("4000000");
    } finally {
      await store.close();
      client.disconnect();
    }
  });

  it("reads the counters asked for in one turn with one script, after their waiting settlements", async () => {
    const prefix = `reads:${randomUUID()}:`;
    const store = storeFor(prefix);
    const counters = [counterOf(), counterOf(), counterOf()];
    const hold = holdOf(0.5);
    // The reservation connects the link (reads never wait for it).
    await store.reserveBudget(hold, counters, Date.now());
    const before = await scriptCalls();
    // A read asked for first, a settlement, then the other reads: all go out at the end of the
    // turn, the settlement first.
    const first = store.readBudgets!([counters[0]!], Date.now());
    void store.settleBudget(hold.id, counters, 0.3, Date.now());
    const readings = await Promise.all([first, ...counters.slice(1).map((counter) => store.readBudgets!([counter], Date.now()))]);
    // The settlement's batch, then one read for the three counters.
    expect((await scriptCalls()) - before).toBe(2);
    expect(readings.flat()).toEqual(counters.map(() => ({ spentUsd: 0.3, reservedUsd: 0 })));
  });

  it("sends what is waiting for the end of the turn when the store closes", async () => {
    const prefix = `closing:${randomUUID()}:`;
    const store = redisStore({ url: server.url }, { prefix, commandTimeoutMs: 1_000 });
    const draw = { key: `tpm:${randomUUID()}`, amount: 600, capacity: 1_000, refillPerMs: 1e-9 };
    await store.consumeTokens([draw], Date.now());
    void store.set("last", "answer", 60_000);
    void store.refundTokens([{ ...draw, amount: 100 }], Date.now());
    await store.close();
    expect(await reader.get(`${prefix}cache:last`)).toBe("answer");
    expect(Number(await reader.hget(`${prefix}bucket:${draw.key}`, "level"))).toBeCloseTo(500, 3);
  });
});
