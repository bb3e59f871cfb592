import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

/** The README's first command: `npm run demo` must run to its end on a fresh clone, offline. */
it("npm run demo runs to the end", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "examples/demo.ts"], { timeout: 120_000 });
  expect(stdout).toContain("Done. The primary fake saw");
}, 150_000);
