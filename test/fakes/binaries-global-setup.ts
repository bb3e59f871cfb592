/**
 * Vitest global setup: one line per server binary the suite needs but this machine lacks,
 * before any test runs. Under `CI=true` a missing binary fails the run here, at once.
 * Test files still call `requireBinary` themselves to decide what to skip.
 */
import { CHROMIUM } from "./chromium.js";
import { REDIS_SERVER } from "./redis-server.js";
import { SKIPS_REPORTED, binaryAvailable, inCI, missingInCI, skipLine, type RequiredBinary } from "./require-binary.js";

/** Every server binary some test needs, with the tests that skip without it. */
export const SERVER_BINARIES: RequiredBinary[] = [
  { ...REDIS_SERVER, what: "the Redis tests (test/redis-fleet.test.ts, redis-faults, redis-settlements, budget-reads, and the Redis halves of redis-store, alerts-fleet, budget-seed and control-plane-gateway)" },
  CHROMIUM,
];

export default function setup(): void {
  const missing = SERVER_BINARIES.filter((binary) => !binaryAvailable(binary.command, binary.versionArgs));
  if (missing.length > 0 && inCI()) {
    throw new Error(missing.map((binary) => missingInCI(binary.command, binary.what ?? "its tests", binary.install)).join("\n"));
  }
  for (const binary of missing) console.log(skipLine(binary.command, binary.what ?? "its tests", binary.install));
  process.env[SKIPS_REPORTED] = "1";
}
