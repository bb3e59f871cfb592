import { findPostgresBin } from "./postgres-server.js";
import { inCI, missingInCI, skipLine } from "./require-binary.js";

const WHAT = "Postgres server tests";
const INSTALL = "`apt-get install -y postgresql` (.ci/run does this), or set MODELGATE_PG_BIN";

/**
 * The PostgreSQL server binaries, or undefined (with one visible line) on a machine without
 * them. They live off PATH (/usr/lib/postgresql/<version>/bin), so `requireBinary` cannot find
 * them; the skip and CI rules are the same: under CI a missing server is a failure, never a skip.
 */
export function postgresBinOrSkip(): string | undefined {
  const bin = findPostgresBin();
  if (bin) return bin;
  if (inCI()) throw new Error(missingInCI("initdb", WHAT, INSTALL));
  console.warn(skipLine("initdb", WHAT, INSTALL));
  return undefined;
}
