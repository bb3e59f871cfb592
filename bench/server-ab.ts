/**
 * `npx tsx bench/server-ab.ts [git ref] [fake|mock] [all|bare]`: the server at a git ref (default
 * HEAD) against the working tree, in one interleaved run: two server children (each serving
 * its own bundle of src/, as tsup ships it) over the same upstream, the openai SDK calling
 * both in alternating blocks, p50 of the round trip and, less sensitive to other jobs on the
 * box, each server's CPU per request. For before/after figures of a change to src/server.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { bundleSources } from "./bundle.js";
import { spawnTracked, stop, waitForLine, startFakeServerChild } from "./children.js";
import { BENCH_ROUTE, BENCH_TOKEN } from "./features.js";
import { smallBody } from "./fixtures.js";
import { measureInterleaved, summarize } from "./stats.js";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const [ref = "HEAD", upstream = "mock", setup = "all"] = process.argv.slice(2);
const quick = process.env.BENCH_QUICK === "1";
// Inside node_modules, so the bundles' bare imports (zod, openai, ...) resolve as in the repo.
const work = join(root, "node_modules", ".server-ab");
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, "before-src"), { recursive: true });
execFileSync("sh", ["-c", `git archive ${JSON.stringify(ref)} src | tar -x -C ${JSON.stringify(join(work, "before-src"))}`], { cwd: root });

await bundleSources(join(work, "before-src"), join(work, "before"));
await bundleSources(root, join(work, "after"));

const { url: fakeUrl, child: fake } = await startFakeServerChild(root);
type Child = ReturnType<typeof spawnTracked>;
async function start(dir: string): Promise<{ url: string; child: Child }> {
  const child = spawnTracked(process.execPath, ["--import", "tsx", "bench/server-child.ts", fakeUrl, "node", upstream, setup, dir], { cwd: root });
  child.stderr?.resume();
  const url = (await waitForLine(child, /SERVER_URL (\S+)/, 60_000))[1]!;
  child.stdout?.resume();
  return { url, child };
}
const servers = { [`before (${ref})`]: await start(join(work, "before")), "after (working tree)": await start(join(work, "after")) };
async function cpuUs(child: Child): Promise<number> {
  const line = waitForLine(child, /CPU_US (\d+)/, 10_000);
  child.stdin?.write("cpu\n");
  return Number((await line)[1]);
}

let n = 0;
const calls = new Map<string, number>();
const candidates = Object.fromEntries(
  Object.entries(servers).map(([name, { url }]) => {
    const client = new OpenAI({ apiKey: BENCH_TOKEN, baseURL: `${url}/v1`, maxRetries: 0, defaultHeaders: { "x-modelgate-user": "u42", "x-modelgate-tags": "bench" } });
    return [
      name,
      {
        prepare: () => smallBody(BENCH_ROUTE, n++),
        run: (input: ReturnType<typeof smallBody>) => {
          calls.set(name, (calls.get(name) ?? 0) + 1);
          return client.chat.completions.create(input);
        },
      },
    ];
  }),
);
const loadAtStart = loadavg();
const before = await Promise.all(Object.values(servers).map(({ child }) => cpuUs(child)));
const runs = await measureInterleaved(candidates, { iterations: quick ? 500 : 3_000, warmup: 300, warmupMs: 2_000, block: 100 });
const after = await Promise.all(Object.values(servers).map(({ child }) => cpuUs(child)));
console.log(`load average ${loadAtStart.map((v) => v.toFixed(2)).join(" ")} -> ${loadavg().map((v) => v.toFixed(2)).join(" ")}; upstream ${upstream}, ${setup}`);
Object.keys(servers).forEach((name, index) => {
  const summary = summarize(runs[name]!);
  const cpu = (after[index]! - before[index]!) / Math.max(1, calls.get(name) ?? 0);
  console.log(`${name.padEnd(22)} p50 ${(summary.p50 / 1000).toFixed(3)} ms  p99 ${(summary.p99 / 1000).toFixed(3)} ms  server CPU ${cpu.toFixed(0)} µs/request`);
});
await Promise.all([...Object.values(servers).map(({ child }) => stop(child)), stop(fake)]);
rmSync(work, { recursive: true, force: true });
process.exit(0);
