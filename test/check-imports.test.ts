import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";

const run = promisify(execFile);
const script = join(dirname(fileURLToPath(import.meta.url)), "..", "scripts", "check-imports.mjs");
const made: string[] = [];

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "modelgate-imports-"));
  made.push(root);
  for (const [path, source] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), source);
  }
  return root;
}

async function check(root?: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, root ? [script, root] : [script]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

afterEach(async () => {
  await Promise.all(made.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

describe("scripts/check-imports.mjs", () => {
  it("passes on src/", async () => {
    const { code, output } = await check();
    expect(output).toMatch(/imports ok/);
    expect(code).toBe(0);
  });

  it("fails on a cycle", async () => {
    const root = await tree({
      "core/a.ts": 'import { b } from "./b.js";\nexport const a = b;\n',
      "core/b.ts": 'import type { a } from "./a.js";\nexport const b = 1;\n',
    });
    const { code, output } = await check(root);
    expect(code).toBe(1);
    expect(output).toContain("cycle: core/a.ts -> core/b.ts -> core/a.ts");
  });

  it("fails on core importing a feature, a feature importing another, a provider importing another", async () => {
    const root = await tree({
      "core/x.ts": 'import { r } from "../routing/r.js";\nexport const x = r;\n',
      "routing/r.ts": "export const r = 1;\n",
      "cache/c.ts": 'import { r } from "../routing/r.js";\nexport const c = r;\n',
      "providers/one/a.ts": 'import { b } from "../two/b.js";\nexport const a = b;\n',
      "providers/two/b.ts": "export const b = 1;\n",
      "providers/shared/k.ts": "export const k = 1;\n",
      "providers/two/ok.ts": 'import { k } from "../../providers/shared/k.js";\nexport const ok = k;\n',
    });
    const { code, output } = await check(root);
    expect(code).toBe(1);
    expect(output).toContain("layer: core/x.ts -> routing/r.ts: core/ imports nothing above it");
    expect(output).toContain("layer: cache/c.ts -> routing/r.ts");
    expect(output).toContain("layer: providers/one/a.ts -> providers/two/b.ts");
    expect(output).not.toContain("providers/two/ok.ts");
    expect(output).toContain("3 import problem(s)");
  });
});
