/**
 * `npx tsx bench/server-hop.ts`: what the proxy hop costs. The official `openai` SDK against a
 * fake OpenAI server (own process, loopback), interleaved in one run:
 *   direct           SDK -> fake
 *   node floor       SDK -> a minimal node:http relay (own process: bytes through, keep-alive
 *                    upstream, no parse) -> fake: the least any Node proxy costs on this box
 *   in-process       gateway.chat() (everything on) -> fake
 *   in-process/bare  gateway.chat() with nothing configured -> fake
 *   server           SDK -> modelgate server (own process, everything on, plain node:http) -> fake
 *   server/bare      the same server with nothing configured (no telemetry, limits, cache, auth)
 *   server/hono      the same handler behind Hono + @hono/node-server (the layer not chosen)
 *   Portkey          SDK -> Portkey gateway (own process) -> fake
 * p50 of a non-streaming call and of the time to the first streamed chunk; CPU per call of each
 * path one at a time (client side in this process, proxy side in the proxy's); then throughput
 * with autocannon at 100 connections (every body unique: cache misses), with the CPU each
 * process took (server, fake, and this process, which runs autocannon), since all share the cores.
 *
 *   BENCH_QUICK=1 npx tsx bench/server-hop.ts        smoke run
 *   BENCH_ONLY=throughput npx tsx bench/server-hop.ts  throughput only
 *   LOADGEN=wrk ...                                    load from wrk (apt-get install wrk), not autocannon
 *   BENCH_ONLY=latency npx tsx bench/server-hop.ts     interleaved latency and CPU per call
 *   BENCH_ONLY=cpu npx tsx bench/server-hop.ts         CPU per call only (load-insensitive)
 */
import autocannon from "autocannon";
import OpenAI from "openai";
import { cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { join } from "node:path";
import { startRedisServer } from "../test/fakes/redis-server.js";
import { processTreeCpuUs, spawnTracked, stop, waitForLine, startFakeServerChild, startServerChild } from "./children.js";
import { BENCH_MODEL, BENCH_ROUTE, BENCH_TOKEN as TOKEN, CALL_OPTIONS, baseConfig, featureList, withFeatures } from "./features.js";
import { smallBody } from "./fixtures.js";
import { runWrk, wrkAvailable } from "./wrk.js";
import { loadModelgate } from "./modelgate.js";
import { startProxyHop } from "./proxy-hop.js";
import { measureInterleaved, summarize, type Candidate } from "./stats.js";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const quick = process.env.BENCH_QUICK === "1";
/** LOADGEN=wrk: the load comes from wrk (C) rather than autocannon (JavaScript), leaving the server more CPU. */
const useWrk = process.env.LOADGEN === "wrk" && (await wrkAvailable());
const log = (text: string): void => void process.stderr.write(`[server-hop] ${text}\n`);

// src/ bundled as tsup ships it, for the in-process gateway and the server children alike
// (tsx's keepNames would tax every closure on the hot path, in both).
const modelgate = await loadModelgate();
const { createGateway, openai } = modelgate;
const bundleArgs = modelgate.dir ? [modelgate.dir] : [];
const { url: fakeUrl, child: fake } = await startFakeServerChild(root);

type Child = ReturnType<typeof spawnTracked>;
async function startServer(layer: "node" | "hono", upstream: "fake" | "mock" = "fake", setup: "all" | "bare" = "all"): Promise<{ url: string; child: Child }> {
  return startServerChild(root, [fakeUrl, layer, upstream, setup, ...bundleArgs]);
}
async function startFloor(): Promise<{ url: string; child: Child }> {
  const child = spawnTracked(process.execPath, ["--import", "tsx", "bench/floor-proxy-child.ts", fakeUrl], { cwd: root });
  child.stderr?.resume();
  const url = (await waitForLine(child, /FLOOR_URL (\S+)/, 30_000))[1]!;
  child.stdout?.resume();
  return { url, child };
}
const nodeServer = await startServer("node");
const bareServer = await startServer("node", "fake", "bare");
const honoServer = await startServer("hono");
const floor = await startFloor();
log(`fake ${fakeUrl}; server ${nodeServer.url}; bare ${bareServer.url}; hono ${honoServer.url}; floor ${floor.url}`);

const upstreamProvider = () => ({ openai: openai({ baseURL: fakeUrl, apiKey: "sk-bench" }) });
const gateway = createGateway(withFeatures(baseConfig(upstreamProvider(), BENCH_MODEL, "openai"), featureList()));
const bareGateway = createGateway(baseConfig(upstreamProvider(), BENCH_MODEL, "openai"));
const BARE_OPTIONS = { user: CALL_OPTIONS.user!, tags: CALL_OPTIONS.tags! };
const direct = new OpenAI({ apiKey: "sk-bench", baseURL: fakeUrl, maxRetries: 0 });
const viaFloor = new OpenAI({ apiKey: "sk-bench", baseURL: floor.url, maxRetries: 0 });
const proxied = (url: string) => new OpenAI({ apiKey: TOKEN, baseURL: `${url}/v1`, maxRetries: 0, defaultHeaders: { "x-modelgate-user": "u42", "x-modelgate-tags": "bench" } });
const viaServer = proxied(nodeServer.url);
const viaBare = proxied(bareServer.url);
const viaHono = proxied(honoServer.url);
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
  "node floor": json((input) => viaFloor.chat.completions.create(input), BENCH_MODEL),
  "in-process": json((input) => gateway.chat(input, CALL_OPTIONS), BENCH_ROUTE),
  "in-process/bare": json((input) => bareGateway.chat(input, BARE_OPTIONS), BENCH_ROUTE),
  server: json((input) => viaServer.chat.completions.create(input), BENCH_ROUTE),
  "server/bare": json((input) => viaBare.chat.completions.create(input), BENCH_ROUTE),
  "server/hono": json((input) => viaHono.chat.completions.create(input), BENCH_ROUTE),
};
const streamCandidates: Record<string, Candidate> = {
  direct: streamed((input) => direct.chat.completions.create({ ...input, ...streaming }), BENCH_MODEL),
  "node floor": streamed((input) => viaFloor.chat.completions.create({ ...input, ...streaming }), BENCH_MODEL),
  "in-process": streamed((input) => gateway.chat({ ...input, ...streaming }, CALL_OPTIONS), BENCH_ROUTE),
  "in-process/bare": streamed((input) => bareGateway.chat({ ...input, ...streaming }, BARE_OPTIONS), BENCH_ROUTE),
  server: streamed((input) => viaServer.chat.completions.create({ ...input, ...streaming }), BENCH_ROUTE),
  "server/bare": streamed((input) => viaBare.chat.completions.create({ ...input, ...streaming }), BENCH_ROUTE),
  "server/hono": streamed((input) => viaHono.chat.completions.create({ ...input, ...streaming }), BENCH_ROUTE),
};
if (!("reason" in portkey)) {
  jsonCandidates[portkey.label] = json((input) => portkey.client.chat.completions.create(input), BENCH_MODEL);
  streamCandidates[portkey.label] = streamed((input) => portkey.client.chat.completions.create({ ...input, ...streaming }), BENCH_MODEL);
}

const only = process.env.BENCH_ONLY;
const latencyToo = only === undefined || only === "latency";
const cpuToo = only === undefined || only === "latency" || only === "cpu";
const throughputToo = only === undefined || only === "throughput";
const loadAtStart = loadavg();
const measure = { iterations: quick ? 300 : 2_000, warmup: quick ? 100 : 300, warmupMs: quick ? 500 : 2_000, block: 50 };
log("latency, non-streaming ...");
const jsonRuns = latencyToo ? await measureInterleaved(jsonCandidates, measure) : undefined;
log("time to first chunk ...");
const streamRuns = latencyToo ? await measureInterleaved(streamCandidates, measure) : undefined;

/**
 * CPU per non-streaming call, one path at a time (sequential calls, nothing else of ours
 * running): this process's CPU for the client-side paths, the proxy process's for each proxy.
 * Unlike wall time it barely moves when other jobs share the cores. Each proxy's idle burn
 * (timers and the like, measured over a quiet second) is taken off, so it does not count per call.
 */
function ownCpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}
interface CpuFigure {
  clientUs: number;
  proxyUs?: number;
  idlePercent?: number;
}
async function cpuPerCall(call: (input: Body) => Promise<unknown>, model: string, child?: Child): Promise<CpuFigure> {
  const calls = quick ? 200 : 600;
  for (let index = 0; index < 100; index++) await call(body(model));
  let idleUsPerMs = 0;
  if (child) {
    const idleFrom = await cpuUs(child);
    const idleStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    idleUsPerMs = ((await cpuUs(child)) - idleFrom) / (performance.now() - idleStart);
  }
  const childBefore = child ? await cpuUs(child) : 0;
  const wallBefore = performance.now();
  const ownBefore = ownCpuUs();
  for (let index = 0; index < calls; index++) await call(body(model));
  const clientUs = (ownCpuUs() - ownBefore) / calls;
  if (!child) return { clientUs };
  const idleUs = idleUsPerMs * (performance.now() - wallBefore);
  return { clientUs, proxyUs: ((await cpuUs(child)) - childBefore - idleUs) / calls, idlePercent: idleUsPerMs / 10 };
}
const cpuFigures = new Map<string, CpuFigure>();
if (cpuToo) {
  log("CPU per call ...");
  cpuFigures.set("direct", await cpuPerCall((input) => direct.chat.completions.create(input), BENCH_MODEL));
  cpuFigures.set("in-process", await cpuPerCall((input) => gateway.chat(input, CALL_OPTIONS), BENCH_ROUTE));
  cpuFigures.set("in-process/bare", await cpuPerCall((input) => bareGateway.chat(input, BARE_OPTIONS), BENCH_ROUTE));
  cpuFigures.set("node floor", await cpuPerCall((input) => viaFloor.chat.completions.create(input), BENCH_MODEL, floor.child));
  cpuFigures.set("server", await cpuPerCall((input) => viaServer.chat.completions.create(input), BENCH_ROUTE, nodeServer.child));
  cpuFigures.set("server/bare", await cpuPerCall((input) => viaBare.chat.completions.create(input), BENCH_ROUTE, bareServer.child));
  cpuFigures.set("server/hono", await cpuPerCall((input) => viaHono.chat.completions.create(input), BENCH_ROUTE, honoServer.child));
}

async function cpuUs(child: Child): Promise<number> {
  const line = waitForLine(child, /CPU_US (\d+)/, 10_000);
  child.stdin?.write("cpu\n");
  return Number((await line)[1]);
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU per request, µs: the server (or relay), the fake, and this process (autocannon). */
  serverUs: number;
  fakeUs: number;
  /** The load generator: autocannon in this process, or wrk in its own. */
  autocannonUs: number;
  /** The same as shares of one core over the run (2 cores = 200%). */
  serverCores: number;
  fakeCores: number;
  autocannonCores: number;
}

/** The server side's CPU so far, µs: one child asked over stdin, or a process tree read from /proc. */
type CpuReader = () => Promise<number>;
const childCpu = (child: Child): CpuReader => () => cpuUs(child);

async function throughput(url: string, server: CpuReader, path = "/v1/chat/completions", model = BENCH_ROUTE, upstreamChild?: Child): Promise<Load> {
  let count = 0;
  const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "x-modelgate-user": "u42" };
  const load = (connections: number, duration: number) => autocannon({
    url: `${url}${path}`,
    connections,
    duration,
    method: "POST",
    headers,
    requests: [{ setupRequest: (request) => ({ ...request, body: JSON.stringify(smallBody(model, 1e9 + count++)) }) }],
  });
  // Warm-up off the books: the JIT, and modules the gateway loads on first use (the tokenizer).
  await load(10, 2);
  const [serverBefore, fakeBefore] = await Promise.all([server(), upstreamChild ? cpuUs(upstreamChild) : 0]);
  const ownBefore = ownCpuUs();
  const wallBefore = performance.now();
  const seconds = quick ? 4 : 10;
  let measured: { rps: number; p50: number; p99: number; errors: number; non2xx: number; total: number; loaderUs: number };
  if (useWrk) {
    const result = await runWrk({ url: `${url}${path}`, headers, model, connections: 100, seconds });
    measured = { ...result, loaderUs: result.cpuUs };
  } else {
    const result = await load(100, seconds);
    measured = { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx, total: result.requests.total, loaderUs: 0 };
  }
  const wallUs = (performance.now() - wallBefore) * 1000;
  const loaderUs = measured.loaderUs + ownCpuUs() - ownBefore;
  const [serverAfter, fakeAfter] = await Promise.all([server(), upstreamChild ? cpuUs(upstreamChild) : 0]);
  const total = Math.max(1, measured.total);
  return {
    rps: measured.rps,
    p50: measured.p50,
    p99: measured.p99,
    errors: measured.errors,
    non2xx: measured.non2xx,
    serverUs: (serverAfter - serverBefore) / total,
    fakeUs: (fakeAfter - fakeBefore) / total,
    autocannonUs: loaderUs / total,
    serverCores: (serverAfter - serverBefore) / wallUs,
    fakeCores: (fakeAfter - fakeBefore) / wallUs,
    autocannonCores: loaderUs / wallUs,
  };
}
const loads: { label: string; load: Load; target?: boolean; processes?: number }[] = [];
if (throughputToo) {
  log("throughput, 100 connections ...");
  // One process under load at a time: the others sit idle.
  loads.push({ label: "node:http server, everything on -> openai SDK -> fake", load: await throughput(nodeServer.url, childCpu(nodeServer.child), undefined, undefined, fake), target: true });
  loads.push({ label: "node:http server, nothing configured -> fake", load: await throughput(bareServer.url, childCpu(bareServer.child), undefined, undefined, fake) });
  loads.push({ label: "node floor relay -> fake", load: await throughput(floor.url, childCpu(floor.child), "/chat/completions", BENCH_MODEL, fake) });
}
await Promise.all([stop(honoServer.child), stop(nodeServer.child), stop(bareServer.child), stop(floor.child)]);
if (throughputToo) {
  // The same servers over an in-process mock upstream: their own ceiling, without the openai
  // SDK's per-call CPU that the upstream call costs inside the server.
  const nodeMock = await startServer("node", "mock");
  loads.push({ label: "node:http server, everything on -> mock upstream", load: await throughput(nodeMock.url, childCpu(nodeMock.child)) });
  await stop(nodeMock.child);
  const honoMock = await startServer("hono", "mock");
  loads.push({ label: "Hono + @hono/node-server, everything on -> mock", load: await throughput(honoMock.url, childCpu(honoMock.child)) });
  await stop(honoMock.child);
}
if (throughputToo) await clusterLoads();

/**
 * `modelgate serve --workers N` itself (the CLI from the bundle), everything on with the state
 * in a redis-server this bench starts (more than one worker must share limits and budgets):
 * one worker on Redis (what Redis alone costs) against two. "server" CPU here is the primary,
 * its workers and redis-server together.
 */
async function clusterLoads(): Promise<void> {
  if (!bundleArgs[0]) return log("cluster rows skipped: they run the bundled CLI, and the bundle failed");
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  try {
    redis = await startRedisServer();
  } catch (error) {
    return log(`cluster rows skipped: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
  const redisClient = new Redis(redis.url, { lazyConnect: false });
  const redisCpuUs = async (): Promise<number> => {
    const info = await redisClient.info("cpu");
    const seconds = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return (seconds("used_cpu_user") + seconds("used_cpu_sys")) * 1e6;
  };
  try {
    for (const [workers, upstream] of [[1, "fake"], [2, "fake"], [2, "mock"]] as const) {
      // Its stderr (where it says "listening on") into stdout, where waitForLine looks.
      const command = [process.execPath, "--import", "tsx", join(bundleArgs[0]!, "cli.js"), "serve", "--config", "bench/cluster-config.ts", "--port", "0", "--workers", String(workers)];
      const cli = spawnTracked("sh", ["-c", `exec ${command.map((part) => JSON.stringify(part)).join(" ")} 2>&1`], {
        cwd: root,
        env: { ...process.env, MODELGATE_BUNDLE: bundleArgs[0], FAKE_OPENAI_URL: fakeUrl, REDIS_URL: redis.url, BENCH_UPSTREAM: upstream },
      });
      const url = (await waitForLine(cli, /listening on (http:\/\/\S+) /, 60_000))[1]!;
      cli.stdout?.resume();
      const tree: CpuReader = async () => processTreeCpuUs(cli.pid!) + (await redisCpuUs());
      const label = `modelgate serve --workers ${workers} (redisStore), everything on -> ${upstream === "mock" ? "mock upstream" : "openai SDK -> fake"}`;
      loads.push({ label, load: await throughput(url, tree, undefined, undefined, upstream === "fake" ? fake : undefined), target: workers > 1 && upstream === "fake", processes: workers });
      await stop(cli, 15_000);
    }
  } finally {
    redisClient.disconnect();
    await redis.stop();
  }
}

const ms = (us: number): string => `${(us / 1000).toFixed(3)} ms`;
const lines: string[] = [];
const shownLoad = (values: number[]): string => values.map((value) => value.toFixed(2)).join(" ");
lines.push(`machine: ${cpus().length} cores, ${cpus()[0]?.model.trim()}; Node ${process.version}; load average at start ${shownLoad(loadAtStart)}, at end ${shownLoad(loadavg())}${quick ? "; BENCH_QUICK" : ""}; modelgate: ${modelgate.how}`);
if (jsonRuns && streamRuns) {
  lines.push("", "| path | p50 | p99 | first chunk p50 |", "| --- | ---: | ---: | ---: |");
  for (const name of Object.keys(jsonCandidates)) {
    const a = summarize(jsonRuns[name]!);
    const s = summarize(streamRuns[name]!);
    lines.push(`| ${name} | ${ms(a.p50)} | ${ms(a.p99)} | ${ms(s.p50)} |`);
  }
  const p50 = (runs: typeof jsonRuns, name: string): number => summarize(runs[name]!).p50;
  const over = (runs: typeof jsonRuns, name: string, base: string): number => p50(runs, name) - p50(runs, base);
  const hop = over(jsonRuns, "server", "in-process");
  const firstHop = over(streamRuns, "server", "in-process");
  lines.push("");
  lines.push(`node floor (relay p50 - direct p50): ${ms(over(jsonRuns, "node floor", "direct"))}; first chunk ${ms(over(streamRuns, "node floor", "direct"))}`);
  lines.push(`hop (server p50 - in-process p50): ${ms(hop)} (target <= 0.35 ms) ${hop <= 350 ? "PASS" : "MISS"}`);
  lines.push(`hop, nothing configured (server/bare - in-process/bare): ${ms(over(jsonRuns, "server/bare", "in-process/bare"))}; with Hono: ${ms(over(jsonRuns, "server/hono", "in-process"))}`);
  lines.push(`gateway work (in-process - direct): ${ms(over(jsonRuns, "in-process", "direct"))}; nothing configured: ${ms(over(jsonRuns, "in-process/bare", "direct"))}`);
  if (!("reason" in portkey)) lines.push(`Portkey: ${ms(over(jsonRuns, portkey.label, "direct"))} over direct (its hop), ${ms(over(jsonRuns, portkey.label, "in-process"))} over in-process; first chunk ${ms(over(streamRuns, portkey.label, "direct"))} over direct`);
  lines.push(`first chunk (server - in-process): ${ms(firstHop)} (target <= 0.5 ms) ${firstHop <= 500 ? "PASS" : "MISS"}; nothing configured: ${ms(over(streamRuns, "server/bare", "in-process/bare"))}`);
}
if (cpuFigures.size > 0) {
  const figure = (name: string): CpuFigure => cpuFigures.get(name)!;
  const us = (value: number | undefined): string => `${(value ?? Number.NaN).toFixed(0)} µs`;
  lines.push("", "CPU per non-streaming call, one path at a time (load-insensitive; the proxy's idle burn taken off):", "| path | this process (client) | proxy process | proxy idle |", "| --- | ---: | ---: | ---: |");
  for (const name of cpuFigures.keys()) {
    const { clientUs, proxyUs, idlePercent } = figure(name);
    lines.push(`| ${name} | ${us(clientUs)} | ${proxyUs === undefined ? "-" : us(proxyUs)} | ${idlePercent === undefined ? "-" : `${idlePercent.toFixed(1)}% of a core`} |`);
  }
  const hopCpu = figure("server").clientUs + figure("server").proxyUs! - figure("in-process").clientUs;
  const floorCpu = figure("node floor").clientUs + figure("node floor").proxyUs! - figure("direct").clientUs;
  lines.push(`CPU the hop adds (client + server - in-process): ${us(hopCpu)}; nothing configured: ${us(figure("server/bare").clientUs + figure("server/bare").proxyUs! - figure("in-process/bare").clientUs)}; the floor relay adds ${us(floorCpu)} over direct`);
}
const loader = useWrk ? "wrk" : "autocannon";
const percent = (share: number): string => `${(share * 100).toFixed(0)}%`;
const shown = (load: Load, processes = 1): string =>
  `${load.rps.toFixed(0)} req/s (p50 ${load.p50} ms, p99 ${load.p99} ms, errors ${load.errors}, non-2xx ${load.non2xx}); CPU per request: server ${load.serverUs.toFixed(0)} µs` +
  `${load.fakeUs > 0 ? `, fake ${load.fakeUs.toFixed(0)} µs` : ""}, ${loader} ${load.autocannonUs.toFixed(0)} µs; of one core: server ${percent(load.serverCores)}` +
  `${load.fakeUs > 0 ? `, fake ${percent(load.fakeCores)}` : ""}, ${loader} ${percent(load.autocannonCores)}; ` +
  (processes === 1
    ? `one server process runs its JS on one thread: ceiling ~${(1e6 / load.serverUs).toFixed(0)} req/s at one core`
    : `at this CPU per request, ${processes} cores for the server alone would serve ~${((processes * 1e6) / load.serverUs).toFixed(0)} req/s`);
if (loads.length > 0) lines.push("", `throughput, 100 connections, load from ${loader} (target >= 3000 req/s with everything on):`);
for (const { label, load, target, processes } of loads) lines.push(`  ${label}: ${shown(load, processes)}${target ? (load.rps >= 3000 ? " PASS" : " MISS") : ""}`);
console.log(lines.join("\n"));

await Promise.all([gateway.close(), bareGateway.close()]);
if (!("reason" in portkey)) await portkey.portkey.stop();
await stop(fake);
process.exit(0);
