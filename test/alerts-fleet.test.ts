/**
 * Budgets and budget alerts read from the state store: what calls in flight hold (memoryStore),
 * and a fleet of gateways sharing one Redis (a real redis-server) counting each other's spend
 * and firing each threshold once between them.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createGateway, memoryStore, type BudgetAlertEvent, type ChatBody } from "../src/index.js";
import { redisStore } from "../src/redis.js";
import { mockProvider } from "../src/testing.js";
import { REDIS_SERVER, startRedisServer, type RedisServer } from "./fakes/redis-server.js";
import { requireBinary } from "./fakes/require-binary.js";

const ask = (): Omit<ChatBody, "stream"> => ({ model: "p/x", messages: [{ role: "user", content: "hello" }], max_tokens: 100 });
/** $1 per 1M tokens in, $2 out: 1,000 in + 100 out costs $0.0012 a call. */
const prices = { x: { input: 1, output: 2 } };
const usage = { prompt_tokens: 1_000, completion_tokens: 100 };

describe("gateway.budgets reads the store", () => {
  it("reports what a call in flight holds as reservedUsd, and its cost once settled", async () => {
    const gateway = createGateway({
      providers: { p: mockProvider({ usage, latencyMs: 3_000 }) },
      prices,
      keys: { "team-a": { budget: { usd: 1, period: "day" } } },
      store: memoryStore(),
    });
    const call = gateway.chat(ask(), { key: "team-a" });
    await vi.waitFor(async () => expect((await gateway.budgets.get({ key: "team-a" }))!.reservedUsd).toBeGreaterThan(0), { timeout: 2_500, interval: 5 });
    const during = (await gateway.budgets.get({ key: "team-a" }))!;
    expect(during.spentUsd).toBe(0);
    expect(during.remainingUsd).toBe(Math.round((1 - during.reservedUsd) * 1e10) / 1e10);
    await call;
    expect(await gateway.budgets.get({ key: "team-a" })).toMatchObject({ spentUsd: 0.0012, reservedUsd: 0, remainingUsd: 0.9988 });
    expect(await gateway.budgets.list()).toMatchObject([{ key: "team-a", spentUsd: 0.0012, reservedUsd: 0 }]);
    await gateway.close();
  });
});

const redis = requireBinary({ ...REDIS_SERVER, what: "the fleet budget alert tests (test/alerts-fleet.test.ts)" });
let server: RedisServer;

beforeAll(async () => {
  if (redis.skip) return;
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

describe.skipIf(redis.skip)("budget alerts across a fleet on one Redis", () => {
  it("counts spend from both gateways and fires the 50% threshold exactly once between them", async () => {
    const prefix = `alerts:${randomUUID()}:`;
    const start = () =>
      createGateway({
        providers: { p: mockProvider({ usage }) },
        prices,
        // $0.01 a day: 50% is $0.005, reached at the 5th call of the fleet ($0.006).
        keys: { "team-a": { budget: { usd: 0.01, period: "day" } } },
        alerts: { budgetThresholds: [0.5, 1] },
        store: redisStore({ url: server.url }, { prefix }),
      });
    const gateways = [start(), start()];
    // 3 calls on each: neither alone reaches 50% ($0.0036), together they do ($0.0072).
    for (let i = 0; i < 3; i++) {
      for (const gateway of gateways) await gateway.chat(ask(), { key: "team-a" });
    }
    // Settlements reach Redis after each call returns: wait for the last one, from either side.
    for (const gateway of gateways) {
      await vi.waitFor(async () => expect(await gateway.budgets.get({ key: "team-a" })).toMatchObject({ spentUsd: 0.0072, reservedUsd: 0, remainingUsd: 0.0028 }), {
        timeout: 10_000,
        interval: 20,
      });
    }
    // close() waits for the budget checks still reading Redis; listeners are gone by then, so
    // count what each gateway recorded.
    await Promise.all(gateways.map((gateway) => gateway.close()));
    const all = gateways.flatMap((gateway) => gateway.alerts.recent()).filter((alert) => alert.type === "budget");
    expect(gateways.reduce((sum, gateway) => sum + (gateway.stats().alerts?.budgetAlerts ?? 0), 0)).toBe(1);
    expect(all.map((event) => event.threshold)).toEqual([0.5]);
    expect(all[0]).toMatchObject({ scope: "key", key: "team-a", limitUsd: 0.01, period: "day" });
    expect((all[0] as BudgetAlertEvent).spentUsd).toBeGreaterThanOrEqual(0.005);
  });
  it("budgets.get on one gateway shows the other's spend and what its call in flight holds", async () => {
    const prefix = `alerts:${randomUUID()}:`;
    const start = (latencyMs: number) =>
      createGateway({
        providers: { p: mockProvider({ usage, latencyMs }) },
        prices,
        keys: { "team-a": { budget: { usd: 1, period: "day" } } },
        store: redisStore({ url: server.url }, { prefix }),
      });
    // The slow gateway's call is held at the provider (a minute) until this test aborts it,
    // so its reservation is in flight however slowly this machine runs.
    const [quick, slow] = [start(0), start(60_000)];
    await quick.chat(ask(), { key: "team-a" });
    const abort = new AbortController();
    const inFlight = slow.chat(ask(), { key: "team-a", signal: abort.signal }).catch(() => undefined);
    // The slow gateway's reservation, seen from the quick one (settlements and holds reach Redis asynchronously).
    await vi.waitFor(async () => expect((await quick.budgets.get({ key: "team-a" }))!.reservedUsd).toBeGreaterThan(0), { timeout: 30_000, interval: 10 });
    await vi.waitFor(async () => expect((await quick.budgets.get({ key: "team-a" }))!.spentUsd).toBe(0.0012), { timeout: 30_000, interval: 10 });
    const seen = (await quick.budgets.get({ key: "team-a" }))!;
    expect(seen.remainingUsd).toBe(Math.round((1 - 0.0012 - seen.reservedUsd) * 1e10) / 1e10);
    // And the quick gateway's spend, seen from the slow one while its call still runs.
    expect(await slow.budgets.get({ key: "team-a" })).toMatchObject({ spentUsd: 0.0012, reservedUsd: seen.reservedUsd });
    // Aborted before any output: the hold is released, nothing more is spent.
    abort.abort();
    await inFlight;
    await vi.waitFor(async () => expect(await quick.budgets.get({ key: "team-a" })).toMatchObject({ spentUsd: 0.0012, reservedUsd: 0 }), { timeout: 30_000, interval: 20 });
    await Promise.all([quick.close(), slow.close()]);
  }, 120_000);
});
