/**
 * Ledger write throughput: 20,000 records appended at once to a control plane, timed until the
 * database holds them all, on embedded PGlite and (when the machine has one) a real Postgres.
 * `npx tsx bench/ledger.ts`
 */
import { postgresControlPlane, type PostgresControlPlane } from "../src/postgres.js";
import { onEachPostgresBackend } from "./postgres-backends.js";
import { spendRecord } from "../test/fakes/spend-records.js";

const RECORDS = 20_000;

async function measure(label: string, controlPlane: PostgresControlPlane): Promise<void> {
  await controlPlane.ready();
  const records = Array.from({ length: RECORDS }, (_, index) => spendRecord({ time: Date.UTC(2030, 0, 1) + index, costUsd: 0.000123 }));
  const started = performance.now();
  controlPlane.spend.append(records);
  while (controlPlane.stats().pendingRecords > 0) await controlPlane.spend.flush();
  const seconds = (performance.now() - started) / 1000;
  const reportStarted = performance.now();
  await controlPlane.spend.report({ by: "tag", bucket: "hour" });
  const reportMs = performance.now() - reportStarted;
  console.log(`${label}: ${Math.round(RECORDS / seconds)} records/s written; report by tag and hour over ${RECORDS} rows in ${reportMs.toFixed(0)} ms`);
  await controlPlane.close();
}

await onEachPostgresBackend((label, options) => measure(label, postgresControlPlane(options)));
