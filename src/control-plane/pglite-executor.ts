import { mkdirSync } from "node:fs";
import type { PGlite, Transaction } from "@electric-sql/pglite";
import { loadDriver } from "./load-driver.js";
import type { SqlExecutor, SqlSession } from "./sql-executor.js";

/**
 * An embedded Postgres (PGlite, WebAssembly) persisted in `directory`: one process, one
 * connection, no server to run. Only one process may open a directory at a time.
 */
export async function pgliteExecutor(directory: string): Promise<SqlExecutor> {
  const { PGlite: Database } = await loadDriver("@electric-sql/pglite", "dataDir", () => import("@electric-sql/pglite"));
  mkdirSync(directory, { recursive: true });
  const db: PGlite = await Database.create(directory);

  const session = (target: PGlite | Transaction): SqlSession => ({
    async query<Row extends object>(text: string, params: readonly unknown[] = []) {
      const result = await target.query<Row>(text, [...params]);
      return result.rows;
    },
  });
  const direct = session(db);

  return {
    kind: "pglite",
    query: direct.query,
    transaction: (work) => db.transaction((tx) => work(session(tx))),
    async listen(channel, onNotify) {
      // One process, one database: no connection to lose, so no reconnect to report.
      const unlisten = await db.listen(channel, onNotify);
      return unlisten;
    },
    async close() {
      await db.close();
    },
  };
}
