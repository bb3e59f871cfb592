/**
 * `npx tsx bench/redis-load.ts [git ref]`: what `redisStore` costs per `gateway.chat()` under
 * concurrency, on both sides of the socket. N calls in flight (default 64) over the in-process
 * mock for a few seconds, key + user RPM/TPM and budgets on, exact cache on (with `redisStore`
 * it is also the cache's shared tier, so every miss reads and writes Redis), unique bodies (all
 * misses: the worst case), users rotating over a pool. Candidates, in alternating rounds:
 *
 * - `memory`: the working tree on `memoryStore` (the floor);
 * - `redis head`: the working tree on `redisStore`;
 * - `redis base`: with a git ref, that ref's `redisStore` (its own key prefix on the same server).
 *
 * Per call: node CPU µs (this process, `process.cpuUsage`), redis-server CPU µs (`INFO cpu`),
 * round trips (top-level commands), commands counting those run inside scripts (`INFO
 * commandstats`), socket reads Redis made (batching shows here), bytes in and out; and calls/s
 * (which on this 2-core box shares the cores with redis-server and other jobs: read it last).
 *
 *   LOAD_ONLY='redis head' node --cpu-prof --import tsx bench/redis-load.ts   (one candidate, to profile it)
 *   LOAD_IN_FLIGHT=100 LOAD_SECONDS=3 LOAD_ROUNDS=4 LOAD_USERS=100 npx tsx bench/redis-load.ts HEAD
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import type { ChatBody, Gateway, GatewayConfig } from "../src/index.js";
import type { MockProvider } from "../src/testing.js";
import { startRedisServer } from "../test/fakes/redis-server.js";
import { bundleSources } from "./bundle.js";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const ref = process.argv[2];
const inFlight = Number(process.env.LOAD_IN_FLIGHT ?? 64);
const seconds = Number(process.env.LOAD_SECONDS ?? 3);
const rounds = Number(process.env.LOAD_ROUNDS ?? 3);
const users = Number(process.env.LOAD_USERS ?? 100);

/** What the bench needs of a build: the working tree's or a ref's, bundled the same way. */
interface Build {
  createGateway(config: GatewayConfig): Gateway;
  mockProvider(options: object): MockProvider;
  redisStore(connection: { url: string }, options: { prefix: string; commandTimeoutMs?: number; onStateChange?: (state: string) => void }): GatewayConfig["store"] & { stats?: () => unknown };
  memoryStore(): GatewayConfig["store"];
}

async function bundle(tree: string): Promise<Build> {
  const out = join(tree, ".build");
  await bundleSources(tree, out);
  const load = (name: string): Promise<Record<string, unknown>> => import(pathToFileURL(join(out, `${name}.js`)).href) as Promise<Record<string, unknown>>;
  const [index, testing, redis] = await Promise.all([load("index"), load("testing"), load("redis")]);
  return {
    createGateway: index.createGateway as Build["createGateway"],
    mockProvider: testing.mockProvider as Build["mockProvider"],
    redisStore: redis.redisStore as Build["redisStore"],
    memoryStore: (index.memoryStore ?? redis.memoryStore) as Build["memoryStore"],
  };
}

/** Copies `src` (of a ref, or of the working tree) beside the other, so both bundle alike. */
function tree(scratch: string, name: string, gitRef: string | undefined): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  if (gitRef) execFileSync("sh", ["-c", `git -C '${root}' archive '${gitRef}' src tsconfig.json package.json | tar -x -C '${dir}'`]);
  else for (const entry of ["src", "tsconfig.json", "package.json"]) cpSync(join(root, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** Limits that never trip, so every call pays for the checks, never for a rejection. */
const NEVER_TRIPS = { rpm: 100_000_000, tpm: 1_000_000_000_000 };

function config(build: Build, mock: MockProvider, store: GatewayConfig["store"]): GatewayConfig {
  return {
    providers: { mock },
    models: { bench: "mock/bench-model" },
    keys: { "bench-key": { ...NEVER_TRIPS, budget: { usd: 1_000_000_000, period: "month" } } },
    users: { ...NEVER_TRIPS, budget: { usd: 1_000_000_000, period: "day" } },
    prices: { "bench-model": { input: 2.5, output: 10 } },
    cache: { exact: { ttlMs: 600_000 } },
    store,
  } as GatewayConfig;
}

interface Candidate {
  readonly name: string;
  readonly gateway: Gateway;
  readonly mock: MockProvider;
  readonly redis: boolean;
  readonly stats?: () => unknown;
  /** Times the store's link went down (a timed-out command): its calls were then counted locally, which flatters the figures. */
  downs: number;
}

interface Totals {
  calls: number;
  wallMs: number;
  nodeUs: number;
  redisUs: number;
  roundTrips: number;
  commands: number;
  reads: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Commands the stores' clients send (every client but the bench's own): `INFO` counts the
 * commands scripts run too, so round trips are counted here. Pipelined commands pass through
 * `sendCommand` one by one as well. Only one candidate runs at a time, so a round's delta is its own.
 */
let sent = 0;
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (this: Redis, ...args: Parameters<Redis["sendCommand"]>) {
  if (this !== admin) sent++;
  return sendCommand.apply(this, args);
};

/** The INFO figures a round is measured by. */
interface RedisInfo {
  cpuUs: number;
  commands: number;
  reads: number;
  bytesIn: number;
  bytesOut: number;
}

async function info(admin: Redis): Promise<RedisInfo> {
  const text = await admin.info("everything");
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(text)?.[1] ?? 0);
  let commands = 0;
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (match[1] !== "info") commands += Number(match[2]);
  return {
    cpuUs: (field("used_cpu_user") + field("used_cpu_sys")) * 1e6,
    commands,
    reads: field("total_reads_processed"),
    bytesIn: field("total_net_input_bytes"),
    bytesOut: field("total_net_output_bytes"),
  };
}

let made = 0;
const body = (): ChatBody => ({ model: "bench", max_tokens: 50, messages: [{ role: "user", content: `question ${++made}` }] });

async function runFor(candidate: Candidate, ms: number): Promise<number> {
  const until = performance.now() + ms;
  let calls = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      await candidate.gateway.chat(body() as ChatBody & { stream?: false }, { key: "bench-key", user: `u${made % users}` });
      if (++calls % 1_000 === 0) candidate.mock.reset();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return calls;
}

async function round(candidate: Candidate, admin: Redis, totals: Totals): Promise<void> {
  const before = await info(admin);
  const sentBefore = sent;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const calls = await runFor(candidate, seconds * 1_000);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  // Settlements and refunds leave after the answer: let them land inside the measured window.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const after = await info(admin);
  totals.calls += calls;
  totals.wallMs += wallMs;
  totals.nodeUs += used.user + used.system;
  totals.redisUs += after.cpuUs - before.cpuUs;
  totals.roundTrips += sent - sentBefore;
  totals.commands += after.commands - before.commands;
  totals.reads += after.reads - before.reads - 1;
  totals.bytesIn += after.bytesIn - before.bytesIn;
  totals.bytesOut += after.bytesOut - before.bytesOut;
}

const scratch = mkdtempSync(join(tmpdir(), "modelgate-redis-load-"));
const builds: [string, Build][] = [["head", await bundle(tree(scratch, "head", undefined))]];
if (ref) builds.push([`base ${ref}`, await bundle(tree(scratch, "base", ref))]);
const server = await startRedisServer();
const admin: Redis = new Redis(server.url);
const candidates: Candidate[] = [];
try {
  const head = builds[0]![1];
  const memoryMock = head.mockProvider({ reply: "ok", usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 } });
  candidates.push({ name: "memory head", gateway: head.createGateway(config(head, memoryMock, head.memoryStore())), mock: memoryMock, redis: false, downs: 0 });
  for (const [label, build] of builds) {
    const mock = build.mockProvider({ reply: "ok", usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 } });
    const candidate: Candidate = { name: `redis ${label}`, gateway: undefined as unknown as Gateway, mock, redis: true, downs: 0 };
    const store = build.redisStore(
      { url: server.url },
      {
        prefix: `bench-${label.replace(/\W/g, "")}:`,
        // Not the 100 ms default: on a shared 2-core box a command can wait that long for a core,
        // and a link that goes down counts calls locally, which would flatter the figures.
        // LOAD_TIMEOUT_MS=100 measures with the default, counting the downs.
        commandTimeoutMs: Number(process.env.LOAD_TIMEOUT_MS ?? 2_000),
        onStateChange: (state) => {
          if (state === "down") candidate.downs++;
        },
      },
    );
    candidates.push(Object.assign(candidate, { gateway: build.createGateway(config(build, mock, store)), stats: store.stats }));
  }
  // LOAD_ONLY=<regex>: only the candidates it matches (for a profile of one of them).
  const only = process.env.LOAD_ONLY ? new RegExp(process.env.LOAD_ONLY) : undefined;
  if (only) candidates.splice(0, candidates.length, ...candidates.filter((candidate) => only.test(candidate.name)));
  // Warm-up: JIT, connections, scripts loaded.
  for (const candidate of candidates) await runFor(candidate, 1_000);
  // A link that went down in the warm-up (a command past its timeout on a busy box) is measured
  // only once it is back and its backlog delivered; downs are counted from here.
  for (const candidate of candidates) {
    const stats = candidate.stats as (() => { state: string; pendingSettlements: number }) | undefined;
    for (let waited = 0; stats && (stats().state !== "up" || stats().pendingSettlements > 0) && waited < 10_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    candidate.downs = 0;
  }
  const totals = new Map<Candidate, Totals>(
    candidates.map((candidate) => [candidate, { calls: 0, wallMs: 0, nodeUs: 0, redisUs: 0, roundTrips: 0, commands: 0, reads: 0, bytesIn: 0, bytesOut: 0 }]),
  );
  const loadBefore = loadavg()[0]!.toFixed(2);
  for (let index = 0; index < rounds; index++) {
    const order = index % 2 === 0 ? candidates : [...candidates].reverse();
    for (const candidate of order) await round(candidate, admin, totals.get(candidate)!);
  }
  const loadAfter = loadavg()[0]!.toFixed(2);
  const lines = [
    `${inFlight} in flight, ${users} users, ${rounds} x ${seconds} s per candidate, unique bodies (cache misses); load ${loadBefore} -> ${loadAfter}`,
    ["candidate", "calls/s", "node µs/call", "redis µs/call", "round trips/call", "commands/call", "redis reads/call", "bytes in/call", "bytes out/call"].join("\t"),
  ];
  for (const candidate of candidates) {
    const t = totals.get(candidate)!;
    const per = (value: number, digits = 1): string => (value / t.calls).toFixed(digits);
    lines.push(
      [
        candidate.name,
        ((t.calls / t.wallMs) * 1000).toFixed(0),
        per(t.nodeUs),
        candidate.redis ? per(t.redisUs) : "-",
        candidate.redis ? per(t.roundTrips, 2) : "-",
        candidate.redis ? per(t.commands, 1) : "-",
        candidate.redis ? per(t.reads, 2) : "-",
        candidate.redis ? per(t.bytesIn, 0) : "-",
        candidate.redis ? per(t.bytesOut, 0) : "-",
      ].join("\t"),
    );
  }
  console.log(lines.join("\n"));
  for (const candidate of candidates) {
    if (candidate.stats) console.log(candidate.name, `link down ${candidate.downs} times while measured${candidate.downs > 0 ? " (figures flattered: calls counted locally meanwhile)" : ""}`, JSON.stringify(candidate.stats()));
  }
} finally {
  for (const candidate of candidates) await candidate.gateway.close();
  admin.disconnect();
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}
