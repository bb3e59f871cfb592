import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, StoreUnavailableError } from "../src/index.js";
import { memoryStore } from "../src/stores/memory-store.js";
import type { BudgetCounter, StateStore, TokenDraw } from "../src/stores/store.js";
import { redisStore, type RedisStore } from "../src/redis.js";
import { REDIS_SERVER, startRedisServer, type RedisServer } from "./fakes/redis-server.js";
import { requireBinary } from "./fakes/require-binary.js";

let server: RedisServer;
const opened: { close(): Promise<void> }[] = [];

// Without redis-server (and outside CI) only the memoryStore half of the contract runs.
const redis = requireBinary({ ...REDIS_SERVER, what: "the redisStore tests (test/redis-store.test.ts; memoryStore's still run)" });

beforeAll(async () => {
  if (!redis.skip) server = await startRedisServer();
});

afterAll(async () => {
  for (const store of opened) await store.close();
  await server?.stop();
});

/** A Redis store on the test server, under a prefix of its own so cases never share a key. */
function openRedis(options: Parameters<typeof redisStore>[1] = {}): RedisStore {
  const store = redisStore({ url: server.url }, { prefix: `test:${randomUUID()}:`, ...options });
  opened.push(store);
  return store;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const rpm = (perMinute: number, amount = 1, key = "rpm:key:a"): TokenDraw => ({
  key,
  amount,
  capacity: perMinute,
  refillPerMs: perMinute / 60_000,
});
const counter = (key: string, limitUsd: number, expiresAt = Date.now() + 86_400_000): BudgetCounter => ({ key, limitUsd, expiresAt });
const hold = (amountUsd: number, lifetimeMs = 60_000) => ({ id: randomUUID(), amountUsd, expiresAt: Date.now() + lifetimeMs });

const implementations: [string, () => StateStore][] = [
  ["memoryStore", () => memoryStore()],
  ...(redis.skip ? [] : [["redisStore", () => openRedis()] as [string, () => StateStore]]),
];

describe.each(implementations)("StateStore contract: %s", (_name, open) => {
  it("takes from every bucket or from none, and names the bucket that blocked", async () => {
    const store = open();
    const minute = rpm(10, 1, "rpm:key:a");
    const user = rpm(2, 1, "rpm:user:a:u1");
    expect((await store.consumeTokens([minute, user], Date.now())).ok).toBe(true);
    expect((await store.consumeTokens([minute, user], Date.now())).ok).toBe(true);
    const refused = await store.consumeTokens([minute, user], Date.now());
    expect(refused).toMatchObject({ ok: false, blocking: 1 });
    // The key bucket was not charged for the refused call: 8 left, not 7.
    const peek = await store.peekTokens([minute], Date.now());
    expect(peek.levels[0]).toBeGreaterThanOrEqual(8);
    expect(peek.levels[0]).toBeLessThan(8.1);
  });

  it("answers a retryAfterMs after which the draw succeeds", async () => {
    const store = open();
    const draw = rpm(10);
    for (let index = 0; index < 10; index++) expect((await store.consumeTokens([draw], Date.now())).ok).toBe(true);
    const refused = await store.consumeTokens([draw], Date.now());
    expect(refused.ok).toBe(false);
    expect(refused.blocking).toBe(0);
    // One token at 10 per minute: 6 s, less the time since the bucket was drained.
    expect(refused.retryAfterMs).toBeGreaterThan(5_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(6_000);
  });

  it("refills continuously at refillPerMs", async () => {
    const store = open();
    // One token a millisecond; bounds from timestamps taken around each read, so a loaded
    // machine changes the numbers, never the verdict.
    const draw: TokenDraw = { key: "rpm:key:fast", amount: 100_000, capacity: 100_000, refillPerMs: 1 };
    expect((await store.consumeTokens([draw], Date.now())).ok).toBe(true);
    const before1 = Date.now();
    const first = (await store.peekTokens([draw], before1)).levels[0]!;
    const after1 = Date.now();
    await sleep(100);
    const before2 = Date.now();
    const second = (await store.peekTokens([draw], before2)).levels[0]!;
    const after2 = Date.now();
    expect(first).toBeLessThan(100_000);
    expect(second - first).toBeGreaterThanOrEqual(before2 - after1 - 2);
    expect(second - first).toBeLessThanOrEqual(after2 - before1 + 2);
  });

  it("admits a draw larger than the bucket once it is full, into debt", async () => {
    const store = open();
    const result = await store.consumeTokens([{ key: "tpm:key:a", amount: 1_500, capacity: 1_000, refillPerMs: 1_000 / 60_000 }], Date.now());
    expect(result.ok).toBe(true);
    expect(result.levels[0]).toBeCloseTo(-500, 0);
    const next = await store.consumeTokens([{ key: "tpm:key:a", amount: 1, capacity: 1_000, refillPerMs: 1_000 / 60_000 }], Date.now());
    expect(next.ok).toBe(false);
    expect(next.retryAfterMs).toBeGreaterThan(29_000);
  });

  it("refunds up to capacity, and a negative refund takes more", async () => {
    const store = open();
    const draw = rpm(10, 6);
    await store.consumeTokens([draw], Date.now());
    await store.refundTokens([{ ...draw, amount: 2 }], Date.now());
    expect((await store.peekTokens([draw], Date.now())).levels[0]).toBeCloseTo(6, 1);
    await store.refundTokens([{ ...draw, amount: 100 }], Date.now());
    expect((await store.peekTokens([draw], Date.now())).levels[0]).toBe(10);
    await store.refundTokens([{ ...draw, amount: -25 }], Date.now());
    // Debt is floored at -capacity.
    expect((await store.peekTokens([draw], Date.now())).levels[0]).toBeCloseTo(-10, 1);
  });

  it("reserves against spent plus reserved, and settles to the actual cost", async () => {
    const store = open();
    const budget = [counter("budget:key:a:month:2025-06-01", 1)];
    const first = hold(0.6);
    expect(await store.reserveBudget(first, budget, Date.now())).toEqual({ ok: true, blocking: -1, spentUsd: [0] });
    const second = await store.reserveBudget(hold(0.6), budget, Date.now());
    expect(second).toMatchObject({ ok: false, blocking: 0 });
    expect(second.spentUsd[0]).toBeCloseTo(0.6, 9);
    await store.settleBudget(first.id, budget, 0.1, Date.now());
    const third = await store.reserveBudget(hold(0.6), budget, Date.now());
    expect(third.ok).toBe(true);
    expect(third.spentUsd[0]).toBeCloseTo(0.1, 9);
    // 0.1 spent + 0.6 held: 0.3 more fits exactly, a nanodollar more does not.
    expect((await store.reserveBudget(hold(0.300000001), budget, Date.now())).ok).toBe(false);
    expect((await store.reserveBudget(hold(0.3), budget, Date.now())).ok).toBe(true);
  });

  it("reserves on every counter or on none", async () => {
    const store = open();
    const key = counter("budget:key:b:month:2025-06-01", 1);
    const user = counter("budget:user:b:u1:day:2025-06-04", 0.5);
    const refused = await store.reserveBudget(hold(0.6), [key, user], Date.now());
    expect(refused).toMatchObject({ ok: false, blocking: 1 });
    // Nothing was held on the key's counter.
    expect((await store.reserveBudget(hold(1), [key], Date.now())).ok).toBe(true);
  });

  it("forgets a reservation past its expiry, and still adds its cost when settled late", async () => {
    const store = open();
    const budget = [counter("budget:key:c:day:2025-06-04", 1)];
    const lapsing = hold(0.9, 80);
    expect((await store.reserveBudget(lapsing, budget, Date.now())).ok).toBe(true);
    expect((await store.reserveBudget(hold(0.9), budget, Date.now())).ok).toBe(false);
    await sleep(150);
    const after = await store.reserveBudget(hold(0.5), budget, Date.now());
    expect(after).toMatchObject({ ok: true, spentUsd: [0] });
    await store.settleBudget(lapsing.id, budget, 0.4, Date.now());
    // 0.4 settled late + 0.5 held: 0.1 left.
    expect((await store.reserveBudget(hold(0.2), budget, Date.now())).ok).toBe(false);
    expect((await store.reserveBudget(hold(0.1), budget, Date.now())).ok).toBe(true);
  });

  it("keeps a total budget, which never expires", async () => {
    const store = open();
    const total = [counter("budget:key:d:total:all", 0.5, Number.POSITIVE_INFINITY)];
    const first = hold(0.5);
    expect((await store.reserveBudget(first, total, Date.now())).ok).toBe(true);
    await store.settleBudget(first.id, total, 0.5, Date.now());
    expect((await store.reserveBudget(hold(0.000001), total, Date.now())).ok).toBe(false);
  });

  it("admits exactly 50 of 200 concurrent reservations against a budget that fits 50", async () => {
    const store = open();
    const budget = [counter("budget:key:e:month:2025-06-01", 1)];
    const results = await Promise.all(Array.from({ length: 200 }, () => store.reserveBudget(hold(0.02), budget, Date.now())));
    expect(results.filter((result) => result.ok)).toHaveLength(50);
  });

  it("admits exactly 50 of 200 concurrent draws on a bucket of 50", async () => {
    const store = open();
    const draw: TokenDraw = { key: "rpm:key:f", amount: 1, capacity: 50, refillPerMs: 1 / 3_600_000 };
    const results = await Promise.all(Array.from({ length: 200 }, () => store.consumeTokens([draw], Date.now())));
    expect(results.filter((result) => result.ok)).toHaveLength(50);
  });
});

describe.skipIf(redis.skip)("redisStore", () => {
  it("refills by the server's clock, not by the now a caller passes", async () => {
    const store = openRedis();
    const draw = rpm(5);
    expect((await store.consumeTokens([{ ...draw, amount: 5 }], Date.now())).ok).toBe(true);
    // A caller whose clock runs an hour ahead cannot refill the shared bucket early.
    const ahead = await store.consumeTokens([draw], Date.now() + 3_600_000);
    expect(ahead.ok).toBe(false);
    // The memory store, by contrast, trusts `now`: the difference this test shows.
    const local = memoryStore();
    await local.consumeTokens([{ ...draw, amount: 5 }], Date.now());
    expect((await local.consumeTokens([draw], Date.now() + 3_600_000)).ok).toBe(true);
  });

  it("puts a TTL on every key it writes (but a total budget's)", async () => {
    const store = openRedis();
    const now = Date.now();
    await store.consumeTokens([rpm(10), rpm(100, 5, "tpm:key:a")], now);
    const reservation = hold(0.1);
    await store.reserveBudget(reservation, [counter("budget:key:a:day:2025-06-04", 1)], now);
    await store.settleBudget(reservation.id, [counter("budget:key:a:day:2025-06-04", 1)], 0.05, now);
    await store.reserveBudget(hold(0.1), [counter("budget:key:a:total:all", 1, Number.POSITIVE_INFINITY)], now);
    await store.set("answer", "{}", 60_000);
    const admin = new Redis(server.url);
    try {
      const keys = await admin.keys(`${store.prefix}*`);
      expect(keys.length).toBe(7);
      for (const key of keys) {
        const ttl = await admin.pttl(key);
        if (key.includes("total:all")) expect(ttl, key).toBe(-1);
        else expect(ttl, key).toBeGreaterThan(0);
      }
    } finally {
      admin.disconnect();
    }
  });

  it("counts a settlement sent twice once (a replay after a timeout that reached the server)", async () => {
    const store = openRedis();
    const budget = [counter("budget:key:r:day:2025-06-04", 1)];
    const reservation = hold(0.5);
    await store.reserveBudget(reservation, budget, Date.now());
    await store.settleBudget(reservation.id, budget, 0.4, Date.now());
    await store.settleBudget(reservation.id, budget, 0.4, Date.now());
    expect((await store.reserveBudget(hold(0.6), budget, Date.now())).ok).toBe(true);
  });

  it("keeps nanodollar sums exact for large budgets", async () => {
    const store = openRedis();
    const budget = [counter("budget:key:big:month:2025-06-01", 5_000_000)];
    for (let index = 0; index < 5; index++) {
      const reservation = hold(999_999.999999999);
      expect((await store.reserveBudget(reservation, budget, Date.now())).ok).toBe(true);
    }
    // 5 x 999,999.999999999 = 4,999,999.999999995: exactly 5 nanodollars left.
    expect((await store.reserveBudget(hold(0.000000006), budget, Date.now())).ok).toBe(false);
    expect((await store.reserveBudget(hold(0.000000005), budget, Date.now())).ok).toBe(true);
  });

  it("stores answers with a TTL and misses once it lapses; refuses values over maxCacheValueBytes", async () => {
    const store = openRedis({ maxCacheValueBytes: 1_000 });
    await store.set("k1", "answer", 80);
    expect(await store.get("k1")).toBe("answer");
    expect((await store.getEntry("k1"))?.ttlMs).toBeGreaterThan(0);
    await sleep(150);
    expect(await store.get("k1")).toBeUndefined();
    await store.set("k2", "x".repeat(1_001), 60_000);
    expect(await store.get("k2")).toBeUndefined();
    await store.set("k3", "y", 60_000);
    await store.delete("k3");
    expect(await store.get("k3")).toBeUndefined();
  });

  it("never closes a client it was given, but closes its own connections", async () => {
    const client = new Redis(server.url);
    try {
      const store = redisStore({ client }, { prefix: `test:${randomUUID()}:` });
      expect((await store.consumeTokens([rpm(1)], Date.now())).ok).toBe(true);
      await store.close();
      await store.close();
      expect(await client.ping()).toBe("PONG");
    } finally {
      client.disconnect();
    }
    const own = redisStore({ url: server.url }, { prefix: `test:${randomUUID()}:` });
    expect((await own.consumeTokens([rpm(1)], Date.now())).ok).toBe(true);
    const admin = new Redis(server.url);
    try {
      const before = Number(/connected_clients:(\d+)/.exec(await admin.info("clients"))![1]);
      await own.close();
      // Bounded poll: the server notices the disconnect within a few ms.
      let after = before;
      for (let tries = 0; tries < 50 && after >= before; tries++) {
        await sleep(10);
        after = Number(/connected_clients:(\d+)/.exec(await admin.info("clients"))![1]);
      }
      expect(after).toBe(before - 1);
    } finally {
      admin.disconnect();
    }
  });

  it("rejects bad options with ConfigError naming each path", () => {
    let error: unknown;
    try {
      redisStore({ url: "http://x" }, { onError: "maybe" as never, commandTimeoutMs: -1, typo: 1 } as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(["connection.url", "options.onError", "options.commandTimeoutMs", "options.typo"]));
  });
});

describe.skipIf(redis.skip)("redisStore while Redis is unreachable", () => {
  it("fails open: counts locally, from the shared budget total it last saw, and delivers costs when Redis is back", async () => {
    const own = await startRedisServer();
    const states: string[] = [];
    const store = redisStore({ url: own.url }, { prefix: "open:", onStateChange: (state) => states.push(state) });
    try {
      const budget = [counter("budget:key:o:day:2025-06-04", 1)];
      const shared = hold(0.7);
      expect((await store.reserveBudget(shared, budget, Date.now())).ok).toBe(true);
      await store.settleBudget(shared.id, budget, 0.7, Date.now());
      expect((await store.reserveBudget(hold(0.1), budget, Date.now())).ok).toBe(true);

      await own.kill();
      const started = performance.now();
      const local = await store.consumeTokens([rpm(2)], Date.now());
      // Bounded, never hung (generous: the machine may be loaded).
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(local.ok).toBe(true);
      expect(store.state).toBe("down");
      expect(states).toEqual(["down"]);
      // Counted locally, never unlimited: the third draw on a bucket of 2 is refused.
      expect((await store.consumeTokens([rpm(2)], Date.now())).ok).toBe(true);
      expect((await store.consumeTokens([rpm(2)], Date.now())).ok).toBe(false);
      // 0.7 spent + 0.1 held were last seen in Redis: 0.2 is left locally, not a whole dollar.
      const outage = hold(0.2);
      expect((await store.reserveBudget(outage, budget, Date.now())).ok).toBe(true);
      expect((await store.reserveBudget(hold(0.01), budget, Date.now())).ok).toBe(false);
      await store.settleBudget(outage.id, budget, 0.15, Date.now());
      expect(store.pendingSettlements).toBe(1);

      await own.restart();
      // Bounded poll: the client reconnects (backoff up to 2 s), then the settlement is delivered.
      for (let tries = 0; tries < 100 && (store.pendingSettlements > 0 || store.state === "down"); tries++) {
        await sleep(50);
        await store.peekTokens([rpm(2)], Date.now());
      }
      expect(store.state).toBe("up");
      expect(store.pendingSettlements).toBe(0);
      expect(states).toEqual(["down", "up"]);
      // The restarted server is empty but for the outage's cost: 0.15 spent.
      const after = await store.reserveBudget(hold(0.85), budget, Date.now());
      expect(after.ok).toBe(true);
      expect(after.spentUsd[0]).toBeCloseTo(0.15, 9);
    } finally {
      await store.close();
      await own.stop();
    }
  });

  it("fails closed: refuses limits and budgets with StoreUnavailableError, and recovers by itself", async () => {
    const own = await startRedisServer();
    const store = redisStore({ url: own.url }, { prefix: "closed:", onError: "closed" });
    try {
      expect((await store.consumeTokens([rpm(10)], Date.now())).ok).toBe(true);
      await own.kill();
      const refusal = await store.consumeTokens([rpm(10)], Date.now()).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(StoreUnavailableError);
      expect(refusal).toMatchObject({ code: "store_unavailable", concern: "limits" });
      await expect(store.reserveBudget(hold(0.1), [counter("budget:key:z:day:2025-06-04", 1)], Date.now())).rejects.toMatchObject({
        code: "store_unavailable",
        concern: "budgets",
      });
      // Settling never fails a call that was already served.
      await expect(store.settleBudget("gone", [counter("budget:key:z:day:2025-06-04", 1)], 0.1, Date.now())).resolves.toBeUndefined();

      await own.restart();
      let result: unknown;
      for (let tries = 0; tries < 100; tries++) {
        result = await store.consumeTokens([rpm(10)], Date.now()).catch((error: unknown) => error);
        if (!(result instanceof StoreUnavailableError)) break;
        await sleep(50);
      }
      expect(result).toMatchObject({ ok: true });
    } finally {
      await store.close();
      await own.stop();
    }
  });

  it("answers within commandTimeoutMs when Redis stalls, then not at all until the pause ends", async () => {
    const own = await startRedisServer();
    const store = redisStore({ url: own.url }, { prefix: "stall:", commandTimeoutMs: 60, pauseAfterFailureMs: 400 });
    try {
      expect((await store.consumeTokens([rpm(10)], Date.now())).ok).toBe(true);
      own.pause();
      let started = performance.now();
      expect((await store.consumeTokens([rpm(10)], Date.now())).ok).toBe(true);
      const first = performance.now() - started;
      expect(first).toBeGreaterThanOrEqual(55);
      expect(first).toBeLessThan(1_000);
      started = performance.now();
      await store.consumeTokens([rpm(10)], Date.now());
      expect(await store.get("anything")).toBeUndefined();
      // Paused: no command is even tried, so nothing waits on the stalled server.
      expect(performance.now() - started).toBeLessThan(50);
      own.resume();
      await sleep(450);
      for (let tries = 0; tries < 40 && store.state === "down"; tries++) {
        await store.peekTokens([rpm(10)], Date.now());
        if (store.state === "down") await sleep(50);
      }
      expect(store.state).toBe("up");
    } finally {
      own.resume();
      await store.close();
      await own.stop();
    }
  });

  it("misses the cache while Redis is down", async () => {
    const own = await startRedisServer();
    const store = redisStore({ url: own.url }, { prefix: "cache:" });
    try {
      await store.set("k", "v", 60_000);
      expect(await store.get("k")).toBe("v");
      await own.kill();
      expect(await store.get("k")).toBeUndefined();
      await expect(store.set("k", "v", 60_000)).resolves.toBeUndefined();
    } finally {
      await store.close();
      await own.stop();
    }
  });
});
