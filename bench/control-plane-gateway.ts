/**
 * What a control plane adds to a gateway: per-call cost with a static key and with a runtime
 * key (looked up in the control plane's cache; its limits plan rebuilt only on change), against
 * a gateway without one, and how long the start takes when seeding from a ledger of 20,000
 * records (1,000 keys, 5,000 users). On embedded PGlite and (when the machine has one) a real
 * Postgres server. Sequential calls to a mock provider, so this is the gateway's own cost.
 * `npx tsx bench/control-plane-gateway.ts`
 */
import { createGateway, type Gateway } from "../src/index.js";
import { postgresControlPlane, type PostgresControlPlaneOptions } from "../src/postgres.js";
import { mockProvider } from "../src/testing.js";
import { spendRecord } from "../test/fakes/spend-records.js";
import { onEachPostgresBackend } from "./postgres-backends.js";

const CALLS = 10_000;
const body = { model: "m/x", messages: [{ role: "user" as const, content: "hi" }], max_tokens: 5 };
const config = {
  providers: { m: mockProvider() },
  prices: { x: { input: 1, output: 1 } },
  keys: { fixed: { rpm: 1_000_000, budget: { usd: 1_000, period: "month" as const } } },
  users: { budget: { usd: 1, period: "month" as const } },
};

async function perCall(gateway: Gateway, key: string): Promise<number> {
  for (let index = 0; index < 1_000; index++) await gateway.chat(body, { key }); // warm-up
  const started = performance.now();
  for (let index = 0; index < CALLS; index++) await gateway.chat(body, { key });
  return ((performance.now() - started) * 1000) / CALLS;
}

async function measure(label: string, options: PostgresControlPlaneOptions): Promise<void> {
  const seedPlane = postgresControlPlane(options);
  await seedPlane.ready();
  const now = Date.now();
  seedPlane.spend.append(
    Array.from({ length: 20_000 }, (_, index) =>
      spendRecord({ time: now - 60_000 - index, key: `k${index % 1_000}`, user: `u${index % 5_000}`, costUsd: 0.000123 }),
    ),
  );
  await seedPlane.close();

  const started = performance.now();
  const gateway = createGateway({ ...config, controlPlane: postgresControlPlane(options) });
  // The first budgeted call waits for the start (connect, migrations, keys, seeding).
  await gateway.chat(body, { key: "fixed", user: "u1" });
  console.log(`${label}: start with seeding ${(performance.now() - started).toFixed(0)} ms`);
  await gateway.keys.create({ name: "runtime", rpm: 1_000_000, budget: { usd: 1_000, period: "month" } });
  console.log(`${label}: static key ${(await perCall(gateway, "fixed")).toFixed(1)} µs/call, runtime key ${(await perCall(gateway, "runtime")).toFixed(1)} µs/call`);
  await gateway.close();
}

const plain = createGateway(config);
console.log(`no control plane: static key ${(await perCall(plain, "fixed")).toFixed(1)} µs/call`);
await plain.close();

await onEachPostgresBackend(measure);
