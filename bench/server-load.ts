/**
 * `npx tsx bench/server-load.ts [git ref] [mock|fake] [all|bare]`: the server at a git ref
 * (default HEAD) against the working tree under load, and the node floor relay beside them:
 * autocannon at 100 connections (unique bodies) on each in turn, in alternating rounds, with
 * each process's CPU per request (what bounds req/s on this 2-core box, and far less sensitive
 * to other jobs than req/s). The throughput counterpart of bench/server-ab.ts.
 *
 *   LOAD_ROUNDS=4 LOAD_SECONDS=3 npx tsx bench/server-load.ts HEAD mock bare
 *   STRACE=1 ...   also counts each server's syscalls per request (strace -c -f) in one extra round
 */
import autocannon from "autocannon";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleSources } from "./bundle.js";
import { spawnTracked, stop, waitForLine, startFakeServerChild } from "./children.js";
import { BENCH_ROUTE, BENCH_TOKEN } from "./features.js";
import { smallBody } from "./fixtures.js";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const [ref = "HEAD", upstream = "mock", setup = "all"] = process.argv.slice(2);
const rounds = Number(process.env.LOAD_ROUNDS ?? 4);
const seconds = Number(process.env.LOAD_SECONDS ?? 3);
const connections = Number(process.env.LOAD_CONNECTIONS ?? 100);
const work = join(root, "node_modules", ".server-load");
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, "before-src"), { recursive: true });
execFileSync("sh", ["-c", `git archive ${JSON.stringify(ref)} src | tar -x -C ${JSON.stringify(join(work, "before-src"))}`], { cwd: root });
await bundleSources(join(work, "before-src"), join(work, "before"));
await bundleSources(root, join(work, "after"));

type Child = ReturnType<typeof spawnTracked>;
const { url: fakeUrl, child: fake } = await startFakeServerChild(root);
async function start(args: string[], pattern: RegExp): Promise<{ url: string; child: Child }> {
  const child = spawnTracked(process.execPath, ["--import", "tsx", ...args], { cwd: root });
  child.stderr?.resume();
  const url = (await waitForLine(child, pattern, 60_000))[1]!;
  child.stdout?.resume();
  return { url, child };
}
const serverArgs = (dir: string): string[] => ["bench/server-child.ts", fakeUrl, "node", upstream, setup, dir];
const targets: Record<string, { url: string; child: Child; path: string }> = {
  [`before (${ref})`]: { ...(await start(serverArgs(join(work, "before")), /SERVER_URL (\S+)/)), path: "/v1/chat/completions" },
  "after (working tree)": { ...(await start(serverArgs(join(work, "after")), /SERVER_URL (\S+)/)), path: "/v1/chat/completions" },
  "node floor relay": { ...(await start(["bench/floor-proxy-child.ts", fakeUrl], /FLOOR_URL (\S+)/)), path: "/chat/completions" },
};

async function cpuUs(child: Child): Promise<number> {
  const line = waitForLine(child, /CPU_US (\d+)/, 10_000);
  child.stdin?.write("cpu\n");
  return Number((await line)[1]);
}
let count = 0;
function load(url: string, duration: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections,
    duration,
    method: "POST",
    headers: { authorization: `Bearer ${BENCH_TOKEN}`, "content-type": "application/json", "x-modelgate-user": "u42", "x-modelgate-tags": "bench" },
    requests: [{ setupRequest: (request) => ({ ...request, body: JSON.stringify(smallBody(BENCH_ROUTE, count++)) }) }],
  });
}

const totals = new Map<string, { requests: number; serverUs: number; fakeUs: number; wallS: number; non2xx: number }>();
const loadAtStart = loadavg();
for (const { url, path } of Object.values(targets)) await load(url + path, 1); // warm-up (JIT, lazy loads)
for (let round = 0; round < rounds; round++) {
  // Alternate the order, so neither side always runs right after the other.
  const names = Object.keys(targets);
  if (round % 2 === 1) names.reverse();
  for (const name of names) {
    const { url, child, path } = targets[name]!;
    const [serverFrom, fakeFrom] = [await cpuUs(child), await cpuUs(fake)];
    const result = await load(url + path, seconds);
    const [serverTo, fakeTo] = [await cpuUs(child), await cpuUs(fake)];
    const total = totals.get(name) ?? { requests: 0, serverUs: 0, fakeUs: 0, wallS: 0, non2xx: 0 };
    total.requests += result.requests.total;
    total.serverUs += serverTo - serverFrom;
    total.fakeUs += fakeTo - fakeFrom;
    total.wallS += result.duration;
    total.non2xx += result.non2xx + result.errors;
    totals.set(name, total);
  }
}
console.log(
  `load average ${loadAtStart.map((v) => v.toFixed(2)).join(" ")} -> ${loadavg().map((v) => v.toFixed(2)).join(" ")}; ` +
    `upstream ${upstream}, ${setup}; ${rounds} rounds of ${seconds} s at ${connections} connections`,
);
for (const [name, total] of totals) {
  const perRequest = (us: number): string => (us / Math.max(1, total.requests)).toFixed(0);
  console.log(
    `${name.padEnd(22)} ${(total.requests / total.wallS).toFixed(0).padStart(6)} req/s  proxy CPU ${perRequest(total.serverUs).padStart(4)} µs/request` +
      `  fake ${perRequest(total.fakeUs)} µs/request  non-2xx/errors ${total.non2xx}`,
  );
}

if (process.env.STRACE === "1") {
  for (const [name, { url, child, path }] of Object.entries(targets)) {
    const tracer = spawn("strace", ["-c", "-f", "-p", String(child.pid)], { stdio: ["ignore", "ignore", "pipe"] });
    let report = "";
    tracer.stderr.on("data", (data: Buffer) => (report += data.toString("utf8")));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const result = await load(url + path, seconds);
    tracer.kill("SIGINT");
    await new Promise((resolve) => tracer.once("exit", resolve));
    console.log(`\n${name}: strace -c -f over ${result.requests.total} requests (calls per request in the last column)`);
    for (const line of report.split("\n")) {
      const match = line.match(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/);
      if (match && Number(match[1]) >= result.requests.total / 20) console.log(`${line}   ${(Number(match[1]) / result.requests.total).toFixed(2)}`);
    }
  }
}
await Promise.all([...Object.values(targets).map(({ child }) => stop(child)), stop(fake)]);
rmSync(work, { recursive: true, force: true });
process.exit(0);
