/**
 * Ledger write throughput: 20,000 records appended at once to a control plane, timed until the
 * database holds them all, on embedded PGlite and (when the machine has one) a real Postgres.
 * `npx tsx bench/ledger.ts`
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postgresControlPlane, type PostgresControlPlane } from "../src/postgres.js";
import { findPostgresBin, startPostgresServer } from "../test/fakes/postgres-server.js";
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

const dataDir = mkdtempSync(join(tmpdir(), "modelgate-bench-"));
try {
  await measure("pglite", postgresControlPlane({ dataDir }));
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
const bin = findPostgresBin();
if (bin) {
  const server = await startPostgresServer(bin);
  try {
    await measure("postgres (pg)", postgresControlPlane({ url: server.url }));
  } finally {
    await server.stop();
  }
} else {
  console.log("postgres: skipped (no PostgreSQL server binaries)");
}
