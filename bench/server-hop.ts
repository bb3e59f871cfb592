/**
 * `npx tsx bench/server-hop.ts`: what the proxy hop costs. The official `openai` SDK against a
 * fake OpenAI server (own process, loopback) four ways, interleaved in one run:
 *   direct       SDK -> fake
 *   in-process   gateway.chat() (everything on) -> fake
 *   server       SDK -> modelgate server (own process, everything on, plain node:http) -> fake
 *   server/hono  the same handler behind Hono + @hono/node-server (the layer not chosen)
 *   Portkey      SDK -> Portkey gateway (own process) -> fake
 * p50 of a non-streaming call and of the time to the first streamed chunk; then throughput
 * with autocannon at 100 connections against each modelgate layer (every body unique: cache misses).
 *
 *   BENCH_QUICK=1 npx tsx bench/server-hop.ts   smoke run
 */
import autocannon from "autocannon";
import OpenAI from "openai";
import { cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createGateway } from "../src/index.js";
import { openai } from "../src/openai.js";
import { spawnTracked, stop, waitForLine } from "./children.js";
import { BENCH_MODEL, BENCH_ROUTE, CALL_OPTIONS, baseConfig, featureList, withFeatures } from "./features.js";
import { smallBody } from "./fixtures.js";
import { startProxyHop } from "./proxy-hop.js";
import { measureInterleaved, summarize, type Candidate } from "./stats.js";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const quick = process.env.BENCH_QUICK === "1";
const TOKEN = "mg-bench-token";
const log = (text: string): void => void process.stderr.write(`[server-hop] ${text}\n`);

const fake = spawnTracked(process.execPath, ["--import", "tsx", "bench/fake-server-child.ts"], { cwd: root });
fake.stderr?.resume();
const fakeUrl = (await waitForLine(fake, /FAKE_URL (\S+)/, 30_000))[1]!;
fake.stdout?.resume();

async function startServer(layer: "node" | "hono", upstream: "fake" | "mock" = "fake"): Promise<{ url: string; child: ReturnType<typeof spawnTracked> }> {
  const child = spawnTracked(process.execPath, ["--import", "tsx", "bench/server-child.ts", fakeUrl, layer, upstream], { cwd: root });
  child.stderr?.resume();
  const url = (await waitForLine(child, /SERVER_URL (\S+)/, 60_000))[1]!;
  child.stdout?.resume();
  return { url, child };
}
const nodeServer = await startServer("node");
const honoServer = await startServer("hono");
log(`fake ${fakeUrl}; server ${nodeServer.url}; hono ${honoServer.url}`);

const gateway = createGateway(withFeatures(baseConfig({ openai: openai({ baseURL: fakeUrl, apiKey: "sk-bench" }) }, BENCH_MODEL, "openai"), featureList()));
const direct = new OpenAI({ apiKey: "sk-bench", baseURL: fakeUrl, maxRetries: 0 });
const viaServer = new OpenAI({ apiKey: TOKEN, baseURL: `${nodeServer.url}/v1`, maxRetries: 0, defaultHeaders: { "x-modelgate-user": "u42", "x-modelgate-tags": "bench" } });
const viaHono = new OpenAI({ apiKey: TOKEN, baseURL: `${honoServer.url}/v1`, maxRetries: 0, defaultHeaders: { "x-modelgate-user": "u42", "x-modelgate-tags": "bench" } });
const portkey = await startProxyHop(fakeUrl);
if ("reason" in portkey) log(portkey.reason);

let n = 0;
const body = (model: string) => smallBody(model, n++);
type Body = ReturnType<typeof smallBody>;
const json = (call: (input: Body) => Promise<unknown>, model: string): Candidate => ({ prepare: () => body(model), run: call });
async function firstChunk(open: () => Promise<AsyncIterable<unknown>>): Promise<number> {
  const started = performance.now();
  const stream = await open();
  let first = -1;
  for await (const _chunk of stream) if (first < 0) first = (performance.now() - started) * 1000;
  return first;
}
const streamed = (open: (input: Body) => Promise<AsyncIterable<unknown>>, model: string): Candidate => ({ prepare: () => body(model), run: (input: Body) => firstChunk(() => open(input)), selfTimed: true });
const streaming = { stream: true as const, stream_options: { include_usage: true } };

const jsonCandidates: Record<string, Candidate> = {
  direct: json((input) => direct.chat.completions.create(input), BENCH_MODEL),
  "in-process": json((input) => gateway.chat(input, CALL_OPTIONS), BENCH_ROUTE),
  server: json((input) => viaServer.chat.completions.create(input), BENCH_ROUTE),
  "server/hono": json((input) => viaHono.chat.completions.create(input), BENCH_ROUTE),
};
const streamCandidates: Record<string, Candidate> = {
  direct: streamed((input) => direct.chat.completions.create({ ...input, ...streaming }), BENCH_MODEL),
  "in-process": streamed((input) => gateway.chat({ ...input, ...streaming }, CALL_OPTIONS), BENCH_ROUTE),
  server: streamed((input) => viaServer.chat.completions.create({ ...input, ...streaming }), BENCH_ROUTE),
  "server/hono": streamed((input) => viaHono.chat.completions.create({ ...input, ...streaming }), BENCH_ROUTE),
};
if (!("reason" in portkey)) {
  jsonCandidates[portkey.label] = json((input) => portkey.client.chat.completions.create(input), BENCH_MODEL);
  streamCandidates[portkey.label] = streamed((input) => portkey.client.chat.completions.create({ ...input, ...streaming }), BENCH_MODEL);
}

const latencyToo = process.env.BENCH_ONLY !== "throughput";
const measure = { iterations: quick ? 300 : 2_000, warmup: quick ? 100 : 300, warmupMs: quick ? 500 : 2_000, block: 50 };
log("latency, non-streaming ...");
const jsonRuns = latencyToo ? await measureInterleaved(jsonCandidates, measure) : undefined;
log("time to first chunk ...");
const streamRuns = latencyToo ? await measureInterleaved(streamCandidates, measure) : undefined;

async function cpuUs(child: ReturnType<typeof spawnTracked>): Promise<number> {
  const line = waitForLine(child, /CPU_US (\d+)/, 10_000);
  child.stdin?.write("cpu\n");
  return Number((await line)[1]);
}

async function throughput(url: string, child: ReturnType<typeof spawnTracked>): Promise<{ rps: number; p50: number; p99: number; errors: number; non2xx: number; cpuPerRequestUs: number }> {
  let count = 0;
  const load = (connections: number, duration: number) => autocannon({
    url: `${url}/v1/chat/completions`,
    connections,
    duration,
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "x-modelgate-user": "u42" },
    requests: [{ setupRequest: (request) => ({ ...request, body: JSON.stringify(smallBody(BENCH_ROUTE, 1e9 + count++)) }) }],
  });
  // Warm-up off the books: the JIT, and modules the gateway loads on first use (the tokenizer).
  await load(10, 2);
  const cpuBefore = await cpuUs(child);
  const result = await load(100, quick ? 4 : 10);
  const cpuPerRequestUs = (await cpuUs(child)) - cpuBefore;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    cpuPerRequestUs: cpuPerRequestUs / Math.max(1, result.requests.total),
  };
}
log("throughput, 100 connections ...");
const loadNode = await throughput(nodeServer.url, nodeServer.child);
await Promise.all([stop(honoServer.child), stop(nodeServer.child)]);
// The same servers over an in-process mock upstream: their own ceiling, without the openai
// SDK's per-call CPU (about 1 ms) that the upstream call costs inside the server.
const nodeMock = await startServer("node", "mock");
const loadNodeMock = await throughput(nodeMock.url, nodeMock.child);
await stop(nodeMock.child);
const honoMock = await startServer("hono", "mock");
const loadHonoMock = await throughput(honoMock.url, honoMock.child);
await stop(honoMock.child);

const ms = (us: number): string => `${(us / 1000).toFixed(3)} ms`;
const lines: string[] = [];
lines.push(`machine: ${cpus().length} cores, ${cpus()[0]?.model.trim()}; Node ${process.version}; load average ${loadavg().map((value) => value.toFixed(2)).join(" ")}${quick ? "; BENCH_QUICK" : ""}`);
if (jsonRuns && streamRuns) {
  lines.push("", "| path | p50 | p99 | first chunk p50 |", "| --- | ---: | ---: | ---: |");
  for (const name of Object.keys(jsonCandidates)) {
    const a = summarize(jsonRuns[name]!);
    const s = summarize(streamRuns[name]!);
    lines.push(`| ${name} | ${ms(a.p50)} | ${ms(a.p99)} | ${ms(s.p50)} |`);
  }
  const p50 = (runs: typeof jsonRuns, name: string): number => summarize(runs[name]!).p50;
  const hop = p50(jsonRuns, "server") - p50(jsonRuns, "in-process");
  const hopHono = p50(jsonRuns, "server/hono") - p50(jsonRuns, "in-process");
  const firstHop = p50(streamRuns, "server") - p50(streamRuns, "in-process");
  lines.push("");
  lines.push(`hop (server p50 - in-process p50): ${ms(hop)} (target <= 0.35 ms) ${hop <= 350 ? "PASS" : "MISS"}; with Hono: ${ms(hopHono)}`);
  if (!("reason" in portkey)) lines.push(`Portkey: ${ms(p50(jsonRuns, portkey.label) - p50(jsonRuns, "in-process"))} over in-process, ${ms(p50(jsonRuns, portkey.label) - p50(jsonRuns, "direct"))} over direct`);
  lines.push(`first chunk (server - in-process): ${ms(firstHop)} (target <= 0.5 ms) ${firstHop <= 500 ? "PASS" : "MISS"}`);
}
const shown = (load: Awaited<ReturnType<typeof throughput>>): string =>
  `${load.rps.toFixed(0)} req/s (p50 ${load.p50} ms, p99 ${load.p99} ms, errors ${load.errors}, non-2xx ${load.non2xx}; server CPU ${load.cpuPerRequestUs.toFixed(0)} µs/request = ${(2e6 / load.cpuPerRequestUs).toFixed(0)} req/s on 2 idle cores)`;
lines.push(`throughput, 100 connections, everything on, target >= 3000 req/s:`);
lines.push(`  node:http server -> openai SDK -> fake: ${shown(loadNode)} ${loadNode.rps >= 3000 ? "PASS" : "MISS"}`);
lines.push(`  node:http server -> mock upstream:     ${shown(loadNodeMock)} ${loadNodeMock.rps >= 3000 ? "PASS" : "MISS"}`);
lines.push(`  Hono + @hono/node-server -> mock:      ${shown(loadHonoMock)}`);
console.log(lines.join("\n"));

await gateway.close();
if (!("reason" in portkey)) await portkey.portkey.stop();
await stop(fake);
process.exit(0);
