/**
 * The control plane wired into the gateway: budgets that survive a restart (memory store with
 * the ledger as the source of truth; a Redis store whose live counters win), runtime keys
 * through `gateway.keys`, and what happens when the database does not answer at start.
 * Calls go through the official `openai` SDK to a fake OpenAI server on loopback.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  BudgetExceededError,
  ConfigError,
  InvalidRequestError,
  ModelNotAllowedError,
  RateLimitError,
  StoreUnavailableError,
  createGateway,
  memoryStore,
  type Gateway,
  type GatewayConfig,
  type StateStore,
} from "../src/index.js";
import { openai } from "../src/openai.js";
import { postgresControlPlane, type PostgresControlPlane } from "../src/postgres.js";
import { redisStore } from "../src/redis.js";
import { createAuthenticate } from "../src/server/auth.js";
import { freePort } from "./fakes/free-port.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";
import { REDIS_SERVER, startRedisServer, type RedisServer } from "./fakes/redis-server.js";
import { requireBinary } from "./fakes/require-binary.js";

const redisBinary = requireBinary({ ...REDIS_SERVER, what: "the Redis half of test/control-plane-gateway.test.ts" });

/** $1 per 1M input tokens, output free: each call reports 1,000 prompt tokens, so costs $0.001. */
const UNIT = 0.001;
const prices = { "gpt-4o-mini": { input: 1, output: 0 } };
const ask = { model: "fast", messages: [{ role: "user" as const, content: "hello" }], max_tokens: 10 };

let fake: FakeOpenAI;
const dirs: string[] = [];
const open: Gateway[] = [];

beforeAll(async () => {
  fake = await startFakeOpenAI();
  fake.setDefault({ usage: { promptTokens: 1_000, completionTokens: 10 } });
});
afterAll(async () => {
  await fake.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((gateway) => gateway.close()));
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "modelgate-cp-gateway-"));
  dirs.push(dir);
  return dir;
}

function gatewayOn(controlPlane: PostgresControlPlane | undefined, extra: Partial<GatewayConfig> = {}): Gateway {
  const gateway = createGateway({
    providers: { openai: openai({ baseURL: fake.url, apiKey: "sk-test" }) },
    models: { fast: "openai/gpt-4o-mini", smart: "openai/gpt-4o" },
    // A retry covers a keep-alive socket the fake server closed while PGlite was starting (ECONNRESET).
    retry: { retries: 2, minDelayMs: 1, maxDelayMs: 10 },
    prices,
    controlPlane,
    ...extra,
  });
  open.push(gateway);
  return gateway;
}

/** Serves calls until one is refused; returns how many were served and the refusal. */
async function callsUntilRefused(gateway: Gateway, options: { key?: string; user?: string }, max = 10): Promise<{ served: number; error: unknown }> {
  for (let served = 0; served < max; served++) {
    try {
      await gateway.chat(ask, options);
    } catch (error) {
      return { served, error };
    }
  }
  return { served: max, error: undefined };
}

describe("budgets across a restart (memory store: the ledger is the source of truth)", () => {
  it("a restarted gateway continues key and user budgets from what the ledger holds", async () => {
    const dataDir = tempDir();
    const config: Partial<GatewayConfig> = {
      keys: { app: { budget: { usd: 3 * UNIT, period: "total" } } },
      users: { budget: { usd: 2 * UNIT, period: "total" } },
    };
    const first = gatewayOn(postgresControlPlane({ dataDir }), config);
    await first.chat(ask, { key: "app" });
    await first.chat(ask, { key: "app", user: "u1" });
    await first.close();

    // Same data directory, a new process's view: key app has 1 unit left, user u1 (of app) 1.
    const second = gatewayOn(postgresControlPlane({ dataDir }), config);
    const u1 = await callsUntilRefused(second, { key: "app", user: "u1" });
    expect(u1.served).toBe(1);
    expect(u1.error).toBeInstanceOf(BudgetExceededError);
    expect(u1.error).toMatchObject({ scope: "key" });
    // The key's budget was the one used up: even a fresh user is refused now.
    await expect(second.chat(ask, { key: "app", user: "u2" })).rejects.toBeInstanceOf(BudgetExceededError);
    const [row] = await second.spend.report({ by: "key" });
    expect(row).toMatchObject({ group: "app", requests: 3, costUsd: 3 * UNIT });
  }, 180_000);

  it("seeds user budgets per key: a user's spend under one key does not count under another", async () => {
    const dataDir = tempDir();
    const config: Partial<GatewayConfig> = { keys: { a: {}, b: {} }, users: { budget: { usd: 2 * UNIT, period: "total" } } };
    const first = gatewayOn(postgresControlPlane({ dataDir }), config);
    await first.chat(ask, { key: "a", user: "u1" });
    await first.close();
    const second = gatewayOn(postgresControlPlane({ dataDir }), config);
    expect((await callsUntilRefused(second, { key: "a", user: "u1" })).served).toBe(1);
    expect((await callsUntilRefused(second, { key: "b", user: "u1" })).served).toBe(2);
  }, 180_000);

  it("without seeding (no control plane) a restart starts again from zero: what the feature fixes", async () => {
    const config = { keys: { app: { budget: { usd: 2 * UNIT, period: "total" as const } } } };
    const first = gatewayOn(undefined, config);
    expect((await callsUntilRefused(first, { key: "app" })).served).toBe(2);
    const second = gatewayOn(undefined, config);
    expect((await callsUntilRefused(second, { key: "app" })).served).toBe(2);
  });
});

describe("runtime keys through gateway.keys", () => {
  let controlPlane: PostgresControlPlane;
  let gateway: Gateway;
  beforeAll(async () => {
    controlPlane = postgresControlPlane({ dataDir: tempDir() });
    await controlPlane.ready();
  }, 180_000);
  afterAll(async () => {
    await controlPlane.close();
  });
  beforeEach(() => {
    // The gateway would close the control plane; these tests share one, so they close only theirs.
    gateway = createGateway({
      providers: { openai: openai({ baseURL: fake.url, apiKey: "sk-test" }) },
      models: { fast: "openai/gpt-4o-mini", smart: "openai/gpt-4o" },
      // A retry covers a keep-alive socket the fake server closed while PGlite was starting (ECONNRESET).
    retry: { retries: 2, minDelayMs: 1, maxDelayMs: 10 },
      prices,
      keys: { fixed: {} },
      controlPlane: { ...controlPlane, close: async () => undefined } as PostgresControlPlane,
    });
  });
  afterEach(async () => {
    await gateway.close();
  });

  it("creates a key (secret once, hashed), serves it, lists it without secrets, refuses it once revoked", async () => {
    const name = `team-${randomUUID().slice(0, 8)}`;
    const created = await gateway.keys.create({ name, models: ["fast"] });
    expect(created.secret).toMatch(/^mg-/);
    expect(await gateway.keys.verify(created.secret)).toBe(name);
    expect(await gateway.keys.verify(`${created.secret}x`)).toBeUndefined();
    const listed = await gateway.keys.list();
    expect(listed.map((key) => key.name)).toContain(name);
    expect(JSON.stringify(listed)).not.toContain(created.secret);

    const res = await gateway.chat(ask, { key: name });
    expect(res.gateway.costUsd).toBeCloseTo(UNIT, 12);
    await expect(gateway.chat({ ...ask, model: "smart" }, { key: name })).rejects.toBeInstanceOf(ModelNotAllowedError);

    await gateway.keys.revoke(name);
    await expect(gateway.chat(ask, { key: name })).rejects.toBeInstanceOf(InvalidRequestError);
    expect(await gateway.keys.verify(created.secret)).toBeUndefined();
  });

  it("refuses static key names and models the gateway does not serve, naming the field", async () => {
    await expect(gateway.keys.create({ name: "fixed" })).rejects.toThrow(/name: 'fixed' is a key in the gateway config/);
    await expect(gateway.keys.create({ name: `x-${randomUUID()}`, models: ["fast", "nope"] })).rejects.toThrow(/models\[1\]: 'nope' is not a declared model/);
    const name = `y-${randomUUID().slice(0, 8)}`;
    await gateway.keys.create({ name });
    await expect(gateway.keys.update(name, { models: ["nope"] })).rejects.toThrow(/patch\.models\[0\]/);
    await expect(gateway.keys.update("fixed", { rpm: 1 })).rejects.toBeInstanceOf(InvalidRequestError);
    // Unknown keys stay refused, without echoing the name (it may be a pasted secret).
    const unknown = await gateway.chat(ask, { key: "mg-pasted-secret" }).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(InvalidRequestError);
    expect(String(unknown)).not.toContain("mg-pasted-secret");
  });

  it("applies an RPM change from the next call", async () => {
    const name = `rpm-${randomUUID().slice(0, 8)}`;
    await gateway.keys.create({ name, rpm: 100 });
    await gateway.chat(ask, { key: name });
    await gateway.chat(ask, { key: name });
    await gateway.keys.update(name, { rpm: 1 });
    // The bucket is resized to 1: one more call, then refused.
    await gateway.chat(ask, { key: name });
    await expect(gateway.chat(ask, { key: name })).rejects.toBeInstanceOf(RateLimitError);
  });

  it("seeds a budget given to a key after start from what it already spent (spentInPeriod)", async () => {
    const name = `late-${randomUUID().slice(0, 8)}`;
    await gateway.keys.create({ name });
    // Spent before this gateway started (another gateway, earlier): straight into the ledger.
    controlPlane.spend.append([ledgerRecord(name, 2 * UNIT)]);
    await controlPlane.spend.flush();
    await gateway.keys.update(name, { budget: { usd: 3 * UNIT, period: "total" } });
    const run = await callsUntilRefused(gateway, { key: name });
    expect(run.served).toBe(1);
    expect(run.error).toBeInstanceOf(BudgetExceededError);
  });

  it("without a control plane, gateway.keys says one is needed", async () => {
    const plain = createGateway({ providers: { openai: openai({ baseURL: fake.url, apiKey: "sk-test" }) } });
    await expect(plain.keys.create({ name: "x" })).rejects.toBeInstanceOf(ConfigError);
    await expect(plain.keys.list()).rejects.toThrow(/controlPlane: gateway.keys needs a control plane/);
    expect(plain.keys.available).toBe(false);
    expect(await plain.keys.verify("mg-x")).toBeUndefined();
    await plain.close();
  });

  it("reports spend by time bucket", async () => {
    const name = `bucket-${randomUUID().slice(0, 8)}`;
    await gateway.keys.create({ name });
    await gateway.chat(ask, { key: name });
    const rows = await gateway.spend.report({ by: "key", bucket: "hour", since: Date.now() - 3_600_000 });
    const mine = rows.find((row) => row.group === name);
    expect(mine).toMatchObject({ requests: 1, costUsd: UNIT });
    expect(mine!.bucket! % 3_600_000).toBe(0);
    await expect(gateway.spend.report({ by: "key", bucket: "week" as "day" })).rejects.toThrow(/bucket: expected hour or day/);
  });
});

describe("when the control plane does not answer at start", () => {
  const budgeted = { keys: { app: { budget: { usd: 1, period: "month" as const } } }, controlPlaneTimeoutMs: 200 };

  it("open (default): budgeted calls run after the bounded wait", async () => {
    const port = await freePort(); // nothing listens there
    const gateway = gatewayOn(postgresControlPlane({ url: `postgres://u:pw@127.0.0.1:${port}/db`, maxRetryMs: 50 }), budgeted);
    const res = await gateway.chat(ask, { key: "app" });
    expect(res.choices[0]!.message.content).toContain("hello");
  });

  it("closed: budgeted calls are refused with StoreUnavailableError; unbudgeted ones run", async () => {
    const port = await freePort();
    const closedStore: StateStore = { ...memoryStore(), budgetFailurePolicy: "closed" };
    const gateway = gatewayOn(postgresControlPlane({ url: `postgres://u:pw@127.0.0.1:${port}/db`, maxRetryMs: 50 }), {
      ...budgeted,
      keys: { ...budgeted.keys, free: {} },
      store: closedStore,
    });
    await expect(gateway.chat(ask, { key: "app" })).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(gateway.chat(ask, { key: "free" })).resolves.toBeDefined();
  });
});

describe.skipIf(redisBinary.skip)("budgets across a restart with a Redis store (Redis live counters are the source of truth)", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("keeps Redis's counters over the ledger, and seeds from the ledger when Redis lost them", async () => {
    const dataDir = tempDir();
    const prefix = `cp:${randomUUID()}:`;
    const config = (): Partial<GatewayConfig> => ({
      keys: { app: { budget: { usd: 4 * UNIT, period: "total" } } },
      store: redisStore({ url: redis.url }, { prefix }),
    });
    const first = gatewayOn(postgresControlPlane({ dataDir }), config());
    await first.chat(ask, { key: "app" });
    await first.close();

    // The ledger now says more than Redis (a record Redis never counted): Redis wins.
    const writer = postgresControlPlane({ dataDir });
    writer.spend.append([ledgerRecord("app", 2 * UNIT)]);
    await writer.close();
    const second = gatewayOn(postgresControlPlane({ dataDir }), config());
    expect((await callsUntilRefused(second, { key: "app" })).served).toBe(3);
    await second.close();

    // Redis restarted empty: the ledger (1 + 2 + 3 units) seeds the counter, so nothing is left.
    await redis.restart();
    const third = gatewayOn(postgresControlPlane({ dataDir }), config());
    const run = await callsUntilRefused(third, { key: "app" });
    expect(run.served).toBe(0);
    expect(run.error).toBeInstanceOf(BudgetExceededError);
    expect(run.error).toMatchObject({ spentUsd: 6 * UNIT });
  }, 180_000);
});

describe("server auth with runtime keys", () => {
  it("tries static tokens, then auth.verify, then the gateway's runtime keys; is on with runtime keys alone", async () => {
    const runtime = async (token: string) => (token === "mg-runtime" ? "rt" : undefined);
    const both = createAuthenticate({ tokens: { "tok-a": "a" }, verify: (token) => (token === "v-1" ? "v" : undefined) }, runtime)!;
    expect(await both("Bearer tok-a")).toEqual({ ok: true, key: "a" });
    expect(await both("Bearer v-1")).toEqual({ ok: true, key: "v" });
    expect(await both("Bearer mg-runtime")).toEqual({ ok: true, key: "rt" });
    expect(await both("Bearer mg-other")).toMatchObject({ ok: false });
    const alone = createAuthenticate(undefined, runtime);
    expect(alone).toBeDefined();
    expect(await alone!("Bearer mg-runtime")).toEqual({ ok: true, key: "rt" });
    expect(await alone!(undefined)).toMatchObject({ ok: false });
    expect(createAuthenticate(undefined, undefined)).toBeUndefined();
  });
});

/** A record as a gateway writes it, for spend made elsewhere (another gateway, earlier). */
function ledgerRecord(key: string, costUsd: number) {
  return {
    id: randomUUID(),
    time: Date.now() - 1_000,
    key,
    user: undefined,
    tags: [],
    model: "fast",
    route: "fast",
    deployment: "openai/gpt-4o-mini",
    provider: "openai",
    inputTokens: 0,
    outputTokens: 0,
    cachedTokens: 0,
    costUsd,
    savedUsd: 0,
    cache: "miss" as const,
    estimated: false,
  };
}
