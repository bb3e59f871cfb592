/**
 * `npx tsx bench/server-profile.ts [all|bare] [fake|mock]`: where the modelgate server's CPU
 * goes under load. Starts the fake OpenAI server and the bench server child with `--cpu-prof`,
 * drives it with autocannon (100 connections, unique bodies), stops it, and prints self time
 * per request grouped by area (the server's own files, the rest of modelgate, the openai SDK,
 * undici, node internals, GC) and the top frames.
 *
 *   PROFILE_SECONDS=10 PROFILE_CONNECTIONS=100 npx tsx bench/server-profile.ts all fake
 */
import autocannon from "autocannon";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeServerChild, startServerChild, stop, waitForLine } from "./children.js";
import { BENCH_ROUTE, BENCH_TOKEN } from "./features.js";
import { smallBody } from "./fixtures.js";
import { loadModelgate } from "./modelgate.js";
import { sourceOf, type ProfileNode } from "./profile.js";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const [setup = "all", upstream = "fake"] = process.argv.slice(2);
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const connections = Number(process.env.PROFILE_CONNECTIONS ?? 100);
const dir = mkdtempSync(join(tmpdir(), "mg-server-prof-"));

const { url: fakeUrl, child: fake } = await startFakeServerChild(root);
// The server serves src/ bundled as tsup ships it (see bench/modelgate.ts).
const { dir: bundle } = await loadModelgate();
const { url, child: server } = await startServerChild(root, [fakeUrl, "node", upstream, setup, ...(bundle ? [bundle] : [])]);

let count = 0;
const load = (conns: number, duration: number) =>
  autocannon({
    url: `${url}/v1/chat/completions`,
    connections: conns,
    duration,
    method: "POST",
    headers: { authorization: `Bearer ${BENCH_TOKEN}`, "content-type": "application/json", "x-modelgate-user": "u42" },
    requests: [{ setupRequest: (request) => ({ ...request, body: JSON.stringify(smallBody(BENCH_ROUTE, count++)) }) }],
  });
await load(10, 3);
// The steady state only: the profiler starts after the warm-up (JIT, lazy module loads).
const started = waitForLine(server, /PROFILE_STARTED/, 10_000);
server.stdin?.write("profile-start\n");
await started;
const result = await load(connections, seconds);
const file = join(dir, "server.cpuprofile");
const written = waitForLine(server, /PROFILE_WRITTEN/, 30_000);
server.stdin?.write(`profile-stop ${file}\n`);
await written;
await stop(server, 10_000);
await stop(fake);
const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
// PROFILE_KEEP=<file> keeps the raw profile (open it in Chrome DevTools or speedscope).
if (process.env.PROFILE_KEEP) copyFileSync(file, process.env.PROFILE_KEEP);
rmSync(dir, { recursive: true, force: true });
const requests = result.requests.total;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const areas = new Map<string, number>();
const frames = new Map<string, number>();
let busy = 0;
for (let index = 0; index < profile.samples.length; index++) {
  const node = nodes.get(profile.samples[index]!);
  if (!node) continue;
  const { functionName, url: where, lineNumber } = node.callFrame;
  if (functionName === "(idle)") continue;
  const delta = profile.timeDeltas[index] ?? 0;
  busy += delta;
  // A bundle line maps back to its src/ file (esbuild heads each module with `// src/...`).
  const source = where.includes("/bench/.build/") ? sourceOf(fileURLToPath(where), lineNumber) : undefined;
  const area = source ? (source.startsWith("src/server/") ? `src/server: ${source.slice(11)}` : "src (gateway)") : areaOf(functionName, where);
  areas.set(area, (areas.get(area) ?? 0) + delta);
  // PROFILE_LINES=1 keeps the bundle line beside a src/ file (which closure of the file).
  const line = source && process.env.PROFILE_LINES ? `:${lineNumber + 1}` : "";
  const key = `${functionName || "(anonymous)"} ${source ? source + line : `${shortPath(where)}:${lineNumber + 1}`}`;
  frames.set(key, (frames.get(key) ?? 0) + delta);
}

function areaOf(name: string, where: string): string {
  if (name === "(garbage collector)") return "GC";
  if (name === "(program)") return "(program: V8/native outside JS)";
  if (!where) return "native (no script)";
  if (where.includes("/src/server/")) return "src/server";
  if (where.includes("/src/")) return "src (gateway)";
  const pkg = where.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (pkg) return pkg[1] === "tsx" || pkg[1] === "esbuild" ? "tsx loader" : `pkg ${pkg[1]}`;
  if (where.startsWith("node:internal/deps/undici")) return "undici (fetch)";
  if (where.startsWith("node:")) return where.replace(/^node:internal\//, "node:").replace(/\/[^/]*$/, "/*");
  return shortPath(where);
}
function shortPath(where: string): string {
  return where.replace(/^file:\/\/.*?\/(src|bench|node_modules)\//, "$1/");
}

const us = (value: number): string => (value / requests).toFixed(1).padStart(7);
console.log(
  `server (${setup}, upstream ${upstream}): ${result.requests.average.toFixed(0)} req/s at ${connections} connections; ` +
    `${requests} requests profiled; CPU ${us(busy).trim()} µs/request; load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}`,
);
console.log("\nself time by area, µs/request:");
const ownServer = [...areas].filter(([area]) => area.startsWith("src/server")).reduce((sum, [, value]) => sum + value, 0);
console.log(`src/server in all: ${us(ownServer).trim()} µs/request (${((ownServer / busy) * 100).toFixed(1)}%)`);
for (const [area, value] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${us(value)}  ${((value / busy) * 100).toFixed(1).padStart(5)}%  ${area}`);
console.log("\ntop frames, µs/request:");
for (const [frame, value] of [...frames].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${us(value)}  ${((value / busy) * 100).toFixed(1).padStart(5)}%  ${frame}`);
process.exit(0);
