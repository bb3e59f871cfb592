import { findPostgresBin } from "./postgres-server.js";

/**
 * The PostgreSQL server binaries, or undefined (with one visible line) on a machine without
 * them. Under CI=true a missing server is a failure, never a skip: .ci/run installs it.
 */
export function postgresBinOrSkip(): string | undefined {
  const bin = findPostgresBin();
  if (bin) return bin;
  if (process.env.CI === "true") {
    throw new Error("CI=true but no PostgreSQL server binaries were found: apt-get install -y postgresql (.ci/run does this)");
  }
  console.warn("SKIPPED: Postgres server tests (no PostgreSQL binaries; apt-get install -y postgresql, or set MODELGATE_PG_BIN)");
  return undefined;
}
