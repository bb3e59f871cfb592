import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, InvalidRequestError } from "../src/index.js";
import { MIGRATIONS, postgresControlPlane, type PostgresControlPlane } from "../src/postgres.js";
import { postgresBinOrSkip } from "./fakes/postgres-available.js";
import { startPostgresServer, type PostgresServer } from "./fakes/postgres-server.js";
import { spendRecord } from "./fakes/spend-records.js";

/** The same contract on both shapes: embedded PGlite, and a real Postgres server on loopback. */
interface Backend {
  open(): PostgresControlPlane;
  cleanup(): Promise<void>;
}

const bin = postgresBinOrSkip();
const backends: [string, () => Promise<Backend>][] = [
  [
    "pglite",
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "modelgate-pglite-"));
      return { open: () => postgresControlPlane({ dataDir }), cleanup: async () => rmSync(dataDir, { recursive: true, force: true }) };
    },
  ],
];
if (bin) {
  backends.push([
    "postgres",
    async () => {
      const server: PostgresServer = await startPostgresServer(bin);
      return { open: () => postgresControlPlane({ url: server.url }), cleanup: () => server.stop() };
    },
  ]);
}

/**
 * A UTC day of its own (three days apart) per call, so tests sharing one fresh database never
 * see each other's records.
 */
let daySeed = 0;
const ownHour = (): number => Date.UTC(2030, 0, 1) + daySeed++ * 3 * 86_400_000;

describe.each(backends)("control plane on %s", (_name, setup) => {
  let backend: Backend;
  let controlPlane: PostgresControlPlane;

  beforeAll(async () => {
    backend = await setup();
    controlPlane = backend.open();
    await controlPlane.ready();
  }, 180_000);

  afterAll(async () => {
    await controlPlane?.close();
    await backend?.cleanup();
  }, 60_000);

  it("writes every record exactly once, also when a batch is appended again", async () => {
    const start = ownHour();
    const first = [0, 1, 2].map((index) => spendRecord({ time: start + index, key: "once" }));
    controlPlane.spend.append(first);
    await controlPlane.spend.flush();
    // A retried batch (its commit was not acknowledged) holds the same ids, plus a new one.
    controlPlane.spend.append([...first, spendRecord({ time: start + 3, key: "once" })]);
    const rows = await controlPlane.spend.report({ by: "key", since: start, until: start + 3_600_000 });
    expect(rows).toEqual([{ group: "once", requests: 4, inputTokens: 400, outputTokens: 40, costUsd: 0.004, savedUsd: 0 }]);
    expect(controlPlane.stats()).toMatchObject({ pendingRecords: 0, droppedRecords: 0 });
  });

  it("reports by key, user, model, provider and tag with exact sums and (none) groups", async () => {
    const start = ownHour();
    controlPlane.spend.append([
      spendRecord({ time: start, key: "k1", user: "alice", tags: ["checkout", "eu"], costUsd: 0.1 }),
      spendRecord({ time: start + 1, key: "k1", user: undefined, tags: ["eu"], costUsd: 0.2, model: "fast", provider: "anthropic" }),
      spendRecord({ time: start + 2, key: undefined, user: "alice", costUsd: 0.0000000001, provider: "", deployment: "", cache: "exact", savedUsd: 0.5 }),
    ]);
    const range = { since: start, until: start + 3_600_000 };
    const by = async (dimension: "key" | "user" | "model" | "provider" | "tag") =>
      (await controlPlane.spend.report({ by: dimension, ...range })).map((row) => [row.group, row.requests, row.costUsd]);
    // 0.1 + 0.2 summed as numeric: exactly 0.3, not 0.30000000000000004.
    expect(await by("key")).toEqual([
      ["k1", 2, 0.3],
      ["(none)", 1, 0.0000000001],
    ]);
    expect(await by("user")).toEqual([
      ["(none)", 1, 0.2],
      ["alice", 2, 0.1000000001],
    ]);
    expect(await by("model")).toEqual([
      ["fast", 1, 0.2],
      ["smart", 2, 0.1000000001],
    ]);
    expect(await by("provider")).toEqual([
      ["anthropic", 1, 0.2],
      ["openai", 1, 0.1],
      ["(none)", 1, 0.0000000001],
    ]);
    expect(await by("tag")).toEqual([
      ["eu", 2, 0.3],
      ["checkout", 1, 0.1],
      ["(none)", 1, 0.0000000001],
    ]);
    const [none] = await controlPlane.spend.report({ by: "provider", since: start + 2, until: start + 3 });
    expect(none).toMatchObject({ group: "(none)", savedUsd: 0.5 });
  });

  it("buckets a report by UTC hour and day", async () => {
    const day = ownHour();
    controlPlane.spend.append([
      spendRecord({ time: day + 5 * 60_000, key: "bucketed", costUsd: 1 }),
      spendRecord({ time: day + 59 * 60_000, key: "bucketed", costUsd: 2 }),
      spendRecord({ time: day + 3 * 3_600_000, key: "bucketed", costUsd: 4 }),
      spendRecord({ time: day + 86_400_000 + 1, key: "bucketed", costUsd: 8 }),
    ]);
    const range = { since: day, until: day + 2 * 86_400_000 };
    const hourly = await controlPlane.spend.report({ by: "key", bucket: "hour", ...range });
    expect(hourly.map((row) => [row.bucket, row.costUsd])).toEqual([
      [day, 3],
      [day + 3 * 3_600_000, 4],
      [day + 86_400_000, 8],
    ]);
    const daily = await controlPlane.spend.report({ by: "key", bucket: "day", ...range });
    expect(daily.map((row) => [row.bucket, row.requests, row.costUsd])).toEqual([
      [day, 3, 7],
      [day + 86_400_000, 1, 8],
    ]);
    await expect(controlPlane.spend.report({ by: "key", bucket: "week" as "day" })).rejects.toThrow(/bucket: expected hour or day/);
    await expect(controlPlane.spend.report({ by: "nope" as "key" })).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it("exports CSV with fields escaped (RFC 4180) and JSON lines that round-trip", async () => {
    const start = ownHour();
    const tricky = spendRecord({ time: start, key: 'acme, "west"', user: "line\nbreak", tags: ["a,b"], costUsd: 0.000123 });
    const plain = spendRecord({ time: start + 1, key: "plain", user: undefined });
    controlPlane.spend.append([tricky, plain]);
    const collect = async (format: "csv" | "jsonl", pageSize?: number): Promise<string> => {
      let text = "";
      for await (const chunk of controlPlane.exportSpend({ since: start, until: start + 3_600_000, format, pageSize })) text += chunk;
      return text;
    };
    const csv = await collect("csv");
    const lines = csv.split("\r\n");
    expect(lines[0]).toBe("id,time,key,user,tags,model,route,deployment,provider,input_tokens,output_tokens,cached_tokens,cost_usd,saved_usd,cache,estimated");
    expect(csv).toContain(`${tricky.id},${new Date(start).toISOString()},"acme, ""west""","line\nbreak","[""a,b""]",smart,`);
    expect(csv).toContain(",0.000123,0,miss,false\r\n");
    expect(csv).toContain(`${plain.id},${new Date(start + 1).toISOString()},plain,,,smart`);
    // Paged one row at a time: the same two records, in time order, none twice.
    const jsonl = await collect("jsonl", 1);
    const parsed = jsonl.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed).toEqual([
      { ...tricky, tags: ["a,b"] },
      { ...plain, user: undefined },
    ].map((record) => JSON.parse(JSON.stringify(record)) as Record<string, unknown>));
    expect(() => controlPlane.exportSpend({ format: "xml" as "csv" })).toThrow(/format: expected csv or jsonl/);
  });

  it("answers what a key and a user spent in the current period, for seeding budgets", async () => {
    const key = `seed-${randomUUID()}`;
    const now = Date.UTC(2031, 5, 18, 12); // a Wednesday
    controlPlane.spend.append([
      spendRecord({ key, user: "bob", time: Date.UTC(2031, 5, 18, 1), costUsd: 1.25 }), // today
      spendRecord({ key, user: "bob", time: Date.UTC(2031, 5, 16, 1), costUsd: 2 }), // Monday: this week
      spendRecord({ key, user: "eve", time: Date.UTC(2031, 5, 2, 1), costUsd: 4 }), // this month
      spendRecord({ key, user: "bob", time: Date.UTC(2031, 4, 31, 23), costUsd: 8 }), // last month
    ]);
    expect(await controlPlane.spentInPeriod({ key, period: "day", now })).toBe(1.25);
    expect(await controlPlane.spentInPeriod({ key, period: "week", now })).toBe(3.25);
    expect(await controlPlane.spentInPeriod({ key, period: "month", now })).toBe(7.25);
    expect(await controlPlane.spentInPeriod({ key, period: "total", now })).toBe(15.25);
    expect(await controlPlane.spentInPeriod({ key, user: "bob", period: "month", now })).toBe(3.25);
    const byKey = await controlPlane.spentBy({ by: "key", period: "month", now });
    expect(byKey.get(key)).toBe(7.25);
    await expect(controlPlane.spentInPeriod({ key, period: "year" as "day" })).rejects.toThrow(/period: expected day, week, month or total/);
  });

  it("creates, verifies, updates and revokes runtime keys, auditing every change", async () => {
    const since = new Date(Date.now() - 1_000);
    const name = `team-${randomUUID().slice(0, 8)}`;
    const changes: string[] = [];
    const stop = controlPlane.keys.onChange((change) => changes.push(`${change.name}:${change.key ? change.key.rpm ?? "-" : "revoked"}`));
    const { secret, key } = await controlPlane.keys.create({ name, rpm: 60, budget: { usd: 100, period: "month" }, models: ["smart"] }, { actor: "alice" });
    expect(secret).toMatch(/^mg-[A-Za-z0-9_-]{32}$/);
    expect(key).toMatchObject({ name, rpm: 60, budget: { usd: 100, period: "month" }, models: ["smart"], secretHint: `${secret.slice(0, 7)}…` });
    expect(controlPlane.keys.verify(secret)?.name).toBe(name);
    expect(controlPlane.keys.verify(`${secret}x`)).toBeUndefined();

    const listed = await controlPlane.keys.list();
    const entry = listed.find((candidate) => candidate.name === name);
    expect(entry).toBeDefined();
    expect(JSON.stringify(listed)).not.toContain(secret.slice(3));

    await controlPlane.keys.update(name, { budget: { usd: 200, period: "month" } }, { actor: "bob" });
    const updated = await controlPlane.keys.update(name, { rpm: 120, models: null });
    expect(updated).toMatchObject({ rpm: 120, budget: { usd: 200, period: "month" } });
    expect(updated.models).toBeUndefined();
    expect(controlPlane.keys.verify(secret)?.rpm).toBe(120);

    await controlPlane.keys.revoke(name, { actor: "carol" });
    expect(controlPlane.keys.verify(secret)).toBeUndefined();
    expect((await controlPlane.keys.list()).some((candidate) => candidate.name === name)).toBe(false);
    stop();
    expect(changes).toEqual([`${name}:60`, `${name}:60`, `${name}:120`, `${name}:revoked`]);

    const audit = await controlPlane.audit({ since, key: name });
    expect(audit.map((row) => [row.actor, row.action])).toEqual([
      ["alice", "key.create"],
      ["bob", "budget.update"],
      ["api", "key.update"],
      ["carol", "key.revoke"],
    ]);
    expect(audit[1]).toMatchObject({ before: { budget: { usd: 100 } }, after: { budget: { usd: 200 } } });
    expect(audit[3]?.after).toMatchObject({ revoked: true });
    expect(audit[0]?.at).toBeInstanceOf(Date);
    expect(JSON.stringify(audit)).not.toContain(secret.slice(3));
  });

  it("refuses bad key input with the field named, and a taken name", async () => {
    const name = `dup-${randomUUID().slice(0, 8)}`;
    await controlPlane.keys.create({ name });
    await expect(controlPlane.keys.create({ name })).rejects.toThrow(/name: a key named .* already exists/);
    await expect(controlPlane.keys.create({ name: "has space" })).rejects.toThrow(/name: expected 1 to 128 printable/);
    await expect(controlPlane.keys.create({ name: `x-${name}`, rpm: -1 })).rejects.toThrow(/key\.rpm/);
    await expect(controlPlane.keys.update(name, { budget: { usd: 5, period: "fortnight" as "day" } })).rejects.toThrow(/patch\.budget\.period/);
    await expect(controlPlane.keys.update("no-such-key", { rpm: 1 })).rejects.toThrow(/name: no active key named 'no-such-key'/);
  });
  it("keeps the ledger and the keys across a restart (a new control plane on the same data)", async () => {
    const start = ownHour();
    controlPlane.spend.append([spendRecord({ time: start, key: "durable", costUsd: 0.75 })]);
    const name = `durable-${randomUUID().slice(0, 8)}`;
    const { secret } = await controlPlane.keys.create({ name, tpm: 1_000 });
    await controlPlane.close();
    controlPlane = backend.open();
    await controlPlane.ready();
    expect(controlPlane.keys.verify(secret)).toMatchObject({ name, tpm: 1_000 });
    expect(await controlPlane.spend.report({ by: "key", since: start, until: start + 1 })).toMatchObject([{ group: "durable", costUsd: 0.75 }]);
  }, 120_000);
});

describe("control plane options", () => {
  it("refuses a schema name that is not a plain identifier", () => {
    expect(() => postgresControlPlane({ schema: 'x"; DROP TABLE y; --' })).toThrow(ConfigError);
    expect(() => postgresControlPlane({ schema: "pg_catalog" })).toThrow(/controlPlane\.schema: expected a lowercase identifier/);
    expect(() => postgresControlPlane({ url: "postgres://x", dataDir: "./y" })).toThrow(/controlPlane\.dataDir/);
  });

  it("ships migrations that only add: versions grow and nothing drops, deletes or rewrites", () => {
    const versions = MIGRATIONS.map((migration) => migration.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    for (const migration of MIGRATIONS) {
      for (const statement of migration.statements('"s"')) {
        expect(statement).not.toMatch(/^\s*(DROP|DELETE|TRUNCATE|UPDATE)\b|\bDROP\s+(COLUMN|TABLE|INDEX|SCHEMA|CONSTRAINT)\b|\bRENAME\b|\bALTER\s+COLUMN\b/i);
      }
    }
  });
});
