/**
 * A fleet of four gateway processes sharing one redis-server: limits, budgets, cache and
 * cooldowns hold across processes, and survive Redis being killed and restarted.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatewayConfig } from "../src/index.js";
import { startFleet, type FleetProcess } from "./fakes/fleet.js";
import type { FleetOutcome, FleetStart } from "./fakes/fleet-worker.js";
import { REDIS_SERVER, startRedisServer, type RedisServer } from "./fakes/redis-server.js";
import { requireBinary } from "./fakes/require-binary.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const RPM = 20;
const BUDGET_USD = 0.3;
/**
 * Output at $2,000 per 1M tokens, input free: a call's 10 output tokens cost $0.02, exactly its
 * reservation (max_tokens 10), whatever the prompt's upper bound.
 */
const PRICE = { input: 0, output: 2_000 };

const fleetConfig: Omit<GatewayConfig, "providers" | "store"> = {
  models: { m: "mock/m", smart: { deployments: ["flaky/m", "good/m"], strategy: "ordered" } },
  keys: { "rpm-key": { rpm: RPM }, "budget-key": { budget: { usd: BUDGET_USD, period: "day" } }, "open-key": {} },
  users: { rpm: 2 },
  prices: { m: PRICE },
  cache: { exact: { maxBytes: 2 ** 20, ttlMs: 60_000 } },
  cooldown: { failures: 1, windowMs: 60_000, durationMs: 60_000 },
  retry: { retries: 0, minDelayMs: 1, maxDelayMs: 10 },
};

function processSpec(name: string, url: string, prefix: string, onError: "open" | "closed", flakyFails = false): Omit<FleetStart, "type"> {
  return {
    url,
    prefix,
    onError,
    // A loaded machine can take longer than the 100 ms default for a round trip to a live
    // Redis; the store would then count locally, as if Redis were down, which these tests do
    // not mean to test. A stopped Redis still fails at once (no offline queue).
    storeOptions: { commandTimeoutMs: 5_000 },
    providers: {
      mock: { reply: `answer from ${name}` },
      flaky: { reply: `flaky ${name}`, failStatus: flakyFails ? 503 : undefined },
      good: { reply: `good ${name}` },
    },
    config: fleetConfig,
  };
}

const admitted = (outcomes: FleetOutcome[][]): FleetOutcome[] => outcomes.flat().filter((outcome) => outcome.ok);
const codes = (outcomes: FleetOutcome[][]): string[] => [...new Set(outcomes.flat().flatMap((outcome) => (outcome.ok ? [] : [outcome.code!])))];

const redis = requireBinary({ ...REDIS_SERVER, what: "the Redis fleet tests (test/redis-fleet.test.ts)" });

describe.skipIf(redis.skip)("a fleet of 4 processes sharing one Redis", () => {
  let server: RedisServer;
  let fleet: FleetProcess[] = [];
  const prefix = `fleet:${randomUUID()}:`;

  beforeAll(async () => {
    server = await startRedisServer();
    fleet = await startFleet(["A", "B", "C", "D"].map((name) => processSpec(name, server.url, prefix, "open", name === "A")));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(fleet.map((member) => member.close()));
    await server?.stop();
  });

  it(`admits at most ${RPM} calls across all processes on a key limit of ${RPM} RPM`, async () => {
    const started = performance.now();
    const outcomes = await Promise.all(
      fleet.map((member, index) =>
        member.chat(Array.from({ length: 15 }, (_, call) => ({ model: "m", key: "rpm-key", content: `rpm ${index}-${call}` }))),
      ),
    );
    // The bucket refills one token every 3 s: allow what refilled while the test ran.
    const refilled = Math.floor(((performance.now() - started) * RPM) / 60_000);
    expect(admitted(outcomes).length).toBeGreaterThanOrEqual(RPM);
    expect(admitted(outcomes).length).toBeLessThanOrEqual(RPM + refilled);
    // Counted per process, each would admit all its 15 (60 in all).
    expect(codes(outcomes)).toEqual(["rate_limited"]);
  });

  it(`never overspends a shared budget of $${BUDGET_USD}`, async () => {
    const outcomes = await Promise.all(
      fleet.map((member, index) =>
        member.chat(Array.from({ length: 10 }, (_, call) => ({ model: "m", key: "budget-key", content: `spend ${index}-${call}` }))),
      ),
    );
    const spent = admitted(outcomes).reduce((sum, outcome) => sum + (outcome.costUsd ?? 0), 0);
    expect(admitted(outcomes)[0]?.costUsd).toBeCloseTo(0.02, 9);
    expect(spent).toBeLessThanOrEqual(BUDGET_USD + 1e-9);
    // Close to the limit, not trivially under it: the budget was used, then refused.
    expect(spent).toBeGreaterThan(BUDGET_USD - 0.05);
    expect(codes(outcomes)).toEqual(["budget_exceeded"]);
  });

  it("serves in process B an answer process A stored", async () => {
    const [a, b] = fleet;
    const content = `cached ${randomUUID()}`;
    const [first] = await a!.chat([{ model: "m", key: "open-key", content }]);
    expect(first).toMatchObject({ ok: true, cache: "miss", content: "answer from A" });
    // A stores its answer after replying: wait (bounded) until Redis has it.
    const admin = new Redis(server.url);
    try {
      for (let tries = 0; tries < 100 && (await admin.keys(`${prefix}cache:*`)).length === 0; tries++) await sleep(10);
    } finally {
      admin.disconnect();
    }
    const callsBefore = (await b!.calls()).mock!;
    const [second] = await b!.chat([{ model: "m", key: "open-key", content }]);
    expect(second).toMatchObject({ ok: true, cache: "exact", content: "answer from A" });
    expect((await b!.calls()).mock).toBe(callsBefore);
  });

  it("honours in process B a cooldown decided in process A", async () => {
    const [a, b] = fleet;
    const [served] = await a!.chat([{ model: "smart", key: "open-key", content: `cooldown ${randomUUID()}` }]);
    expect(served).toMatchObject({ ok: true, deployment: "good/m" });
    const cooling = async (): Promise<boolean> => (await b!.health()).some((row) => row.deployment === "flaky/m" && row.state === "cooling");
    for (let tries = 0; tries < 100 && !(await cooling()); tries++) await sleep(10);
    expect(await cooling()).toBe(true);
    const [skipped] = await b!.chat([{ model: "smart", key: "open-key", content: `cooldown ${randomUUID()}` }]);
    expect(skipped).toMatchObject({ ok: true, deployment: "good/m", content: `good B` });
    expect((await b!.calls()).flaky).toBe(0);
  });
});

describe.skipIf(redis.skip)("a fleet while Redis is killed and restarted", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** Two calls as a new user in A, then one in B: B is refused only when the 2-RPM user limit is shared. */
  async function sharedRound(a: FleetProcess, b: FleetProcess): Promise<{ a: FleetOutcome[]; b: FleetOutcome }> {
    const user = `u-${randomUUID()}`;
    const inA = await a.chat([0, 1].map((call) => ({ model: "m", key: "open-key", user, content: `round ${user} ${call}` })));
    const [inB] = await b.chat([{ model: "m", key: "open-key", user, content: `round ${user} b` }]);
    return { a: inA, b: inB! };
  }

  it('onError "open": chats keep succeeding, counted locally; sharing resumes after a restart, without restarting the processes', async () => {
    const prefix = `open:${randomUUID()}:`;
    const [a, b] = await startFleet(["A", "B"].map((name) => processSpec(name, server.url, prefix, "open")));
    try {
      const before = await sharedRound(a!, b!);
      expect(before.a.every((outcome) => outcome.ok)).toBe(true);
      expect(before.b).toMatchObject({ ok: false, code: "rate_limited" });

      await server.kill();
      const outage = await sharedRound(a!, b!);
      expect(outage.a.every((outcome) => outcome.ok)).toBe(true);
      // Counted in each process alone: B has not seen this user's calls.
      expect(outage.b).toMatchObject({ ok: true });
      const more = await a!.chat(Array.from({ length: 5 }, (_, call) => ({ model: "m", key: "open-key", content: `outage ${call}` })));
      expect(more.every((outcome) => outcome.ok)).toBe(true);

      await server.restart();
      let shared = false;
      for (let round = 0; round < 60 && !shared; round++) {
        const after = await sharedRound(a!, b!);
        expect(after.a.every((outcome) => outcome.ok)).toBe(true);
        shared = !after.b.ok && after.b.code === "rate_limited";
        if (!shared) await sleep(100);
      }
      expect(shared).toBe(true);
    } finally {
      await Promise.all([a?.close(), b?.close()]);
    }
  }, 120_000);

  it('onError "closed": chats get StoreUnavailableError (store_unavailable) while Redis is down, and succeed again after a restart', async () => {
    const prefix = `closed:${randomUUID()}:`;
    const [a] = await startFleet([processSpec("A", server.url, prefix, "closed")]);
    try {
      const [ok] = await a!.chat([{ model: "m", key: "rpm-key", content: "closed before" }]);
      expect(ok).toMatchObject({ ok: true });

      await server.kill();
      const [refused] = await a!.chat([{ model: "m", key: "rpm-key", content: "closed during" }]);
      expect(refused).toMatchObject({ ok: false, code: "store_unavailable" });
      expect(refused!.message).toContain('onError: "closed"');

      await server.restart();
      let outcome: FleetOutcome | undefined;
      for (let tries = 0; tries < 60; tries++) {
        [outcome] = await a!.chat([{ model: "m", key: "rpm-key", content: `closed after ${tries}` }]);
        if (outcome!.ok) break;
        expect(outcome).toMatchObject({ code: "store_unavailable" });
        await sleep(100);
      }
      expect(outcome).toMatchObject({ ok: true });
    } finally {
      await a?.close();
    }
  }, 120_000);
});
