/**
 * Runs a measurement on each control-plane backend this machine has: embedded PGlite in a temp
 * directory, then a real Postgres server on loopback when its binaries are installed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PostgresControlPlaneOptions } from "../src/postgres.js";
import { findPostgresBin, startPostgresServer } from "../test/fakes/postgres-server.js";

export async function onEachPostgresBackend(measure: (label: string, options: PostgresControlPlaneOptions) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "modelgate-bench-pg-"));
  try {
    await measure("PGlite", { dataDir });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const bin = findPostgresBin();
  if (!bin) {
    console.log("Postgres: skipped (no PostgreSQL server binaries)");
    return;
  }
  const server = await startPostgresServer(bin);
  try {
    await measure("Postgres (loopback)", { url: server.url });
  } finally {
    await server.stop();
  }
}
