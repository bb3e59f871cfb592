/**
 * Tests that need a real server binary (redis-server today; postgres and chromium next) run it
 * themselves. On a developer machine without that binary they skip, and say so in one line, so
 * `npm test` passes on a fresh clone. Under `CI=true` nothing skips: a missing binary is a
 * failure, because CI installs what the suite needs (.ci/run) and a silent skip there would
 * hide the whole group.
 *
 * One line per missing binary: test/fakes/binaries-global-setup.ts prints it once per run for
 * every entry of `SERVER_BINARIES` (add yours there), and the test files stay quiet; a file run
 * on its own prints its own line.
 *
 * @example
 * const redis = requireBinary({ command: "redis-server", install: "apt-get install -y redis-server" });
 * describe.skipIf(redis.skip)("redisStore", () => { ... });
 */
import { spawnSync } from "node:child_process";

export interface RequiredBinary {
  /** The executable looked up on PATH, e.g. "redis-server". */
  command: string;
  /** Arguments that make it print its version and exit 0; default `--version`. */
  versionArgs?: string[];
  /** How to install it, shown in the skip line and the CI failure. */
  install: string;
  /** What skips without it, shown in the skip line; defaults to the tests that ask. */
  what?: string;
}

export interface BinaryCheck {
  /** True when the binary is missing and we are not in CI: pass to `describe.skipIf`. */
  readonly skip: boolean;
  /** True when the binary answered its version probe. */
  readonly available: boolean;
}

/** Whether `CI` is set to something truthy, as CI services (and .ci/run) set it. */
export function inCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== "" && value !== "0" && value !== "false";
}

export function binaryAvailable(command: string, versionArgs: string[] = ["--version"]): boolean {
  const probe = spawnSync(command, versionArgs, { stdio: "ignore", timeout: 10_000 });
  return !probe.error && probe.status === 0;
}

/**
 * Checks for the binary once, at collection time. Missing outside CI: prints one line naming
 * what is skipped and how to run it, and returns `skip: true`. Missing under CI: throws, so
 * the test file fails instead of skipping.
 */
export function requireBinary(binary: RequiredBinary): BinaryCheck {
  const available = binaryAvailable(binary.command, binary.versionArgs);
  if (available) return { skip: false, available };
  const what = binary.what ?? `tests in ${callerFile() ?? "this file"}`;
  if (inCI()) throw new Error(missingInCI(binary.command, what, binary.install));
  if (process.env[SKIPS_REPORTED] !== "1") console.warn(skipLine(binary.command, what, binary.install));
  return { skip: true, available };
}

/** Set by the global setup once it has printed the skip lines, so workers do not repeat them. */
export const SKIPS_REPORTED = "MODELGATE_TEST_SKIPS_REPORTED";

export function skipLine(command: string, what: string, install: string): string {
  return `SKIPPED ${what}: ${command} is not on PATH. To run them: ${install}, then npm test.`;
}

export function missingInCI(command: string, what: string, install: string): string {
  return `${command} is not installed and CI=true, so ${what} cannot be skipped. Install it: ${install}`;
}

/** The test file that called `requireBinary`, relative to the repo, for the skip line. */
function callerFile(): string | undefined {
  const stack = new Error().stack?.split("\n") ?? [];
  for (const line of stack) {
    const match = /(test\/[^\s:()]+\.test\.ts)/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}
