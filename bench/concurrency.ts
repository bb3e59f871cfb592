/**
 * Section 8: the gateway under concurrency and at start-up, and a peer library on the same path.
 *
 * - 1,000 concurrent streams through `gateway.chat({ stream: true })` (every feature on, each a
 *   cache miss) against the fake OpenAI server in its own process, in rounds interleaved with the
 *   same 1,000 streams through the bare `openai()` adapter: event-loop delay p99, stream time p99
 *   and its difference, heap per in-flight stream.
 * - Calls per second sustained over the 0-latency mock, everything on, 64 calls in flight.
 * - `import("modelgate")` / `require("modelgate")` in fresh node processes, from dist/.
 * - The Vercel AI SDK's `generateText` over the same fake server, interleaved with the direct
 *   `openai` SDK call and `gateway.chat()`.
 */
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import OpenAI from "openai";
import type { ChatOptions, Gateway } from "../src/index.js";
import type { AdapterContext, ProviderAdapter } from "../src/core/provider-adapter.js";
import { spawnTracked, stop, startFakeServerChild } from "./children.js";
import { body2k, REPLY, type BenchBody } from "./fixtures.js";
import { baseConfig, BENCH_MODEL, BENCH_ROUTE, CALL_OPTIONS, withFeatures, type Feature } from "./features.js";
import type { Modelgate } from "./modelgate.js";
import { measureInterleaved, missingRow, sample, summarize, timedRow, type Row } from "./stats.js";

const SECTION = "8 concurrency";
const STREAMS = 1_000;
/** BENCH_QUICK: a smoke run, not a figure. */
const QUICK_STREAMS = 200;
/** Calls in flight for the throughput row: enough to keep the loop busy, few enough to be a real app's. */
const IN_FLIGHT = 64;
/**
 * The event-loop delay monitor samples every 1 ms (Node's default is 10 ms): a 1,000-stream
 * wave lasts ~1-2 s, and at 10 ms a stall shorter than one tick would hide inside it.
 */
const LOOP_RESOLUTION_MS = 1;

export interface ConcurrencyResult {
  rows: Row[];
  /** Calls/s over the mock, everything on, `IN_FLIGHT` concurrent. */
  callsPerSecond?: number;
  /** Median ms of `import("modelgate")` and `require("modelgate")` in a fresh process. */
  importMs?: number;
  requireMs?: number;
}

export async function runConcurrency(modelgate: Modelgate, quick: boolean, features: readonly Feature[], root: string): Promise<ConcurrencyResult> {
  const rows: Row[] = [];
  const result: ConcurrencyResult = { rows };
  const featureNames = features.length ? features.map((feature) => feature.name).join(", ") : "core only";

  const throughput = await measureThroughput(modelgate, quick, features);
  result.callsPerSecond = throughput.perSecond;
  rows.push({
    section: SECTION,
    name: `throughput: gateway.chat() over the 0-latency mock, ${IN_FLIGHT} in flight (${featureNames})`,
    iterations: throughput.calls,
    unit: "calls/s",
    value: throughput.perSecond,
    note: `${(throughput.ms / 1000).toFixed(1)} s after ${quick ? 0.3 : 1} s warm-up (JIT, tokenizer); one process`,
  });

  const fake = await startFakeChild(root);
  if ("reason" in fake) {
    rows.push(missingRow(SECTION, "1,000 concurrent streams, AI SDK peer", fake.reason));
  } else {
    try {
      rows.push(...(await measureStreams(modelgate, quick, features, fake.url, featureNames)));
      rows.push(...(await measurePeer(modelgate, quick, features, fake.url, featureNames)));
    } finally {
      await stop(fake.child);
    }
  }

  const startup = await measureStartup(root);
  rows.push(...startup.rows);
  result.importMs = startup.importMs;
  result.requireMs = startup.requireMs;
  return result;
}

async function startFakeChild(root: string): Promise<{ url: string; child: ReturnType<typeof spawnTracked> } | { reason: string }> {
  try {
    return await startFakeServerChild(root);
  } catch (error) {
    return { reason: `fake server did not start: ${error instanceof Error ? error.message : String(error)}` };
  }
}

async function measureThroughput(modelgate: Modelgate, quick: boolean, features: readonly Feature[]): Promise<{ calls: number; ms: number; perSecond: number }> {
  const gateway = modelgate.createGateway(withFeatures(baseConfig({ mock: modelgate.mockProvider({ reply: REPLY, latencyMs: 0 }) }), features));
  let made = 0;
  const runFor = async (ms: number): Promise<number> => {
    const until = performance.now() + ms;
    let calls = 0;
    const worker = async (): Promise<void> => {
      while (performance.now() < until) {
        await gateway.chat(body2k(BENCH_ROUTE, ++made) as BenchBody & { stream?: false }, CALL_OPTIONS);
        calls++;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    return calls;
  };
  try {
    await runFor(quick ? 300 : 1_000);
    const started = performance.now();
    const calls = await runFor(quick ? 700 : 2_000);
    const ms = performance.now() - started;
    return { calls, ms, perSecond: (calls / ms) * 1000 };
  } finally {
    await gateway.close();
  }
}

/** A stream's caller: resolves with its whole duration in µs once the stream has ended. */
type StreamOpen = (n: number) => Promise<AsyncIterable<unknown>>;

interface Wave {
  /** Per-stream duration, call to last chunk, µs. */
  durations: number[];
  /** Event-loop delay p99 during the wave, ms (minus the monitor's own resolution). */
  loopP99Ms: number;
  loopMaxMs: number;
  wallMs: number;
}

/** Opens `count` streams at once, reads each to its end; optionally pauses every stream after its first chunk until `hold` resolves. */
async function wave(open: StreamOpen, count: number, next: () => number, hold?: { reached: () => void; release: Promise<void> }): Promise<Wave> {
  const monitor = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  const durations: number[] = [];
  let atFirst = 0;
  const one = async (): Promise<void> => {
    const started = performance.now();
    const stream = await open(next());
    let chunks = 0;
    for await (const _chunk of stream) {
      if (chunks++ === 0 && hold) {
        if (++atFirst === count) hold.reached();
        await hold.release;
      }
    }
    if (chunks === 0) throw new Error("stream ended without a chunk");
    durations.push((performance.now() - started) * 1000);
  };
  const started = performance.now();
  monitor.enable();
  await Promise.all(Array.from({ length: count }, one));
  monitor.disable();
  const wallMs = performance.now() - started;
  // The histogram holds whole timer intervals: a loop that never stalls reads about the resolution.
  const ms = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
  return { durations, loopP99Ms: ms(monitor.percentile(99)), loopMaxMs: ms(monitor.max), wallMs };
}

/** `global.gc` without `--expose-gc` on the command line: the bench runs as plain `tsx bench/run.ts`. */
function collector(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

async function measureStreams(modelgate: Modelgate, quick: boolean, features: readonly Feature[], url: string, featureNames: string): Promise<Row[]> {
  const adapter: ProviderAdapter = modelgate.openai({ baseURL: url, apiKey: "sk-bench" });
  const gateway: Gateway = modelgate.createGateway(withFeatures(baseConfig({ openai: modelgate.openai({ baseURL: url, apiKey: "sk-bench" }) }, BENCH_MODEL, "openai"), features));
  const streaming = { stream: true as const, stream_options: { include_usage: true } };
  const options: ChatOptions = CALL_OPTIONS;
  const viaGateway: StreamOpen = async (n) => gateway.chat({ ...body2k(BENCH_ROUTE, n), ...streaming }, options);
  const context = (): AdapterContext => ({ model: BENCH_MODEL, signal: new AbortController().signal, timeoutMs: 60_000 });
  const viaAdapter: StreamOpen = async (n) => adapter.stream({ ...body2k(BENCH_MODEL, n), ...streaming } as Parameters<ProviderAdapter["stream"]>[0], context());
  let made = 0;
  const next = (): number => ++made;
  // Two measured rounds (4 waves of ~1-3 s each) keep the section inside its time budget.
  const rounds = quick ? 1 : 2;
  const streams = quick ? QUICK_STREAMS : STREAMS;
  const count = streams.toLocaleString("en-US");
  const result = { gateway: [] as Wave[], adapter: [] as Wave[] };
  try {
    // Warm-up: JIT, sockets (the keep-alive pool grows to one connection per stream), tokenizer
    // load. The gateway wraps the same adapter code, so one gateway wave warms both.
    await wave(viaGateway, streams, next);
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so a drift on the shared box hits both alike.
      const order: ("gateway" | "adapter")[] = round % 2 === 0 ? ["adapter", "gateway"] : ["gateway", "adapter"];
      for (const name of order) result[name].push(await wave(name === "gateway" ? viaGateway : viaAdapter, streams, next));
    }

    // Heap per in-flight stream: all 1,000 held open after their first chunk, minus idle.
    const gc = collector();
    const heldHeap = async (open: StreamOpen): Promise<number> => {
      gc();
      const idle = process.memoryUsage().heapUsed;
      let reached!: () => void;
      let release!: () => void;
      const allAtFirst = new Promise<void>((resolve) => (reached = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      const running = wave(open, streams, next, { reached, release: released });
      await allAtFirst;
      gc();
      const held = process.memoryUsage().heapUsed;
      release();
      await running;
      return (held - idle) / streams;
    };
    const adapterHeap = await heldHeap(viaAdapter);
    const gatewayHeap = await heldHeap(viaGateway);

    const g = sample(result.gateway.flatMap((w) => w.durations));
    const a = sample(result.adapter.flatMap((w) => w.durations));
    const gs = summarize(g);
    const as = summarize(a);
    const loop = (waves: Wave[]): string => {
      const p99 = waves.map((w) => w.loopP99Ms).sort((x, y) => x - y);
      const max = Math.max(...waves.map((w) => w.loopMaxMs));
      const wall = waves.map((w) => w.wallMs).sort((x, y) => x - y);
      return `event-loop delay p99 ${p99[Math.floor(p99.length / 2)]!.toFixed(1)} ms (median of ${waves.length} waves), max ${max.toFixed(1)} ms; a wave of ${count} takes ${wall[Math.floor(wall.length / 2)]!.toFixed(0)} ms`;
    };
    const loopP99 = (waves: Wave[]): number => waves.map((w) => w.loopP99Ms).sort((x, y) => x - y)[Math.floor(waves.length / 2)]!;
    return [
      timedRow(SECTION, `${count} concurrent streams, openai() adapter.stream() alone (baseline): call -> last chunk`, a, { ratio: 1, note: loop(result.adapter) }, "ms"),
      timedRow(SECTION, `${count} concurrent streams, gateway.chat({stream: true}) (${featureNames}): call -> last chunk`, g, {
        ratio: gs.p50 / as.p50,
        note: `added p99 ${signed((gs.p99 - as.p99) / 1000, 1)} ms, p50 ${signed((gs.p50 - as.p50) / 1000, 1)} ms; ${loop(result.gateway)}`,
      }, "ms"),
      {
        section: SECTION,
        name: `event-loop delay p99 during ${count} gateway streams (adapter alone in note)`,
        iterations: result.gateway.length,
        unit: "ms",
        value: loopP99(result.gateway),
        note: `adapter alone ${loopP99(result.adapter).toFixed(1)} ms; monitorEventLoopDelay, resolution ${LOOP_RESOLUTION_MS} ms (subtracted)`,
      },
      {
        section: SECTION,
        name: `heap per in-flight stream, gateway.chat() (${count} held after their first chunk, minus idle)`,
        iterations: streams,
        unit: "KB",
        value: gatewayHeap / 1024,
        note: `adapter.stream() alone ${(adapterHeap / 1024).toFixed(1)} KB; heapUsed after a forced GC; sockets and their buffers live outside the JS heap`,
      },
    ];
  } finally {
    await gateway.close();
  }
}

async function measurePeer(modelgate: Modelgate, quick: boolean, features: readonly Feature[], url: string, featureNames: string): Promise<Row[]> {
  let ai: typeof import("ai");
  let aiOpenAI: typeof import("@ai-sdk/openai");
  try {
    [ai, aiOpenAI] = await Promise.all([import("ai"), import("@ai-sdk/openai")]);
  } catch (error) {
    return [missingRow(SECTION, "peer: Vercel AI SDK generateText", `not installed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`)];
  }
  // The AI SDK prints a warning per call for settings a provider ignores; the bench wants one table.
  (globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;
  const provider = aiOpenAI.createOpenAI({ baseURL: url, apiKey: "sk-bench" });
  // .chat(): the Chat Completions API, the route the fake serves (the default would be /responses).
  const model = provider.chat(BENCH_MODEL);
  const direct = new OpenAI({ apiKey: "sk-bench", baseURL: url, maxRetries: 0 });
  const gateway: Gateway = modelgate.createGateway(withFeatures(baseConfig({ openai: modelgate.openai({ baseURL: url, apiKey: "sk-bench" }) }, BENCH_MODEL, "openai"), features));
  let made = 0;
  try {
    const iterations = quick ? 150 : 500;
    const runs = await measureInterleaved(
      {
        direct: { prepare: () => body2k(BENCH_MODEL, ++made), run: (body: BenchBody) => direct.chat.completions.create(body) },
        gateway: { prepare: () => body2k(BENCH_ROUTE, ++made), run: (body: BenchBody) => gateway.chat(body as BenchBody & { stream?: false }, CALL_OPTIONS) },
        aiSdk: {
          prepare: () => body2k(BENCH_MODEL, ++made),
          run: async (body: BenchBody) => {
            const result = await ai.generateText({
              model,
              system: body.messages[0]!.content,
              prompt: body.messages[1]!.content,
              temperature: body.temperature,
              maxOutputTokens: body.max_tokens,
              maxRetries: 0,
            });
            if (!result.text) throw new Error("generateText returned no text");
            return result;
          },
        },
      },
      { iterations, warmup: quick ? 30 : 150, warmupMs: quick ? 300 : 800, block: 10, maxMs: quick ? 8_000 : 20_000 },
    );
    const d = summarize(runs.direct!);
    const g = summarize(runs.gateway!);
    const p = summarize(runs.aiSdk!);
    return [
      timedRow(SECTION, "peer baseline: openai SDK create() -> fake server", runs.direct!, { ratio: 1, note: "same run, interleaved in blocks of 10" }),
      timedRow(SECTION, `peer: gateway.chat() (${featureNames}) -> same server`, runs.gateway!, { ratio: g.p50 / d.p50, note: `added p50 ${signed(g.p50 - d.p50)} µs` }),
      timedRow(SECTION, `peer: Vercel AI SDK ${aiVersion(ai)} generateText, @ai-sdk/openai .chat() -> same server`, runs.aiSdk!, {
        ratio: p.p50 / d.p50,
        note: `added p50 ${signed(p.p50 - d.p50)} µs; vs gateway.chat() ${(p.p50 / g.p50).toFixed(2)}× at p50`,
      }),
    ];
  } finally {
    await gateway.close();
  }
}

function aiVersion(ai: typeof import("ai")): string {
  const version = (ai as { VERSION?: unknown }).VERSION;
  return typeof version === "string" ? version : "5";
}

/** Fresh `node` processes loading dist/ by package name: in-process load time (median of 5), and a `node -e 0` baseline. */
async function measureStartup(root: string): Promise<{ rows: Row[]; importMs?: number; requireMs?: number }> {
  const esm = join(root, "dist", "index.js");
  const cjs = join(root, "dist", "index.cjs");
  if (!existsSync(esm) || !existsSync(cjs)) {
    return { rows: [missingRow(SECTION, 'import("modelgate") / require("modelgate")', "no dist/ (run `npm run build` first)")] };
  }
  const stale = existsSync(join(root, "src", "index.ts")) && statSync(join(root, "src", "index.ts")).mtimeMs > statSync(esm).mtimeMs;
  const times = 5;
  // Resolved by package name from the package root (self-reference through "exports"), as a user's import is.
  const scripts = {
    baseline: ["-e", "0"],
    import: ["--input-type=module", "-e", 'const t = performance.now(); await import("modelgate"); process.stdout.write(String(performance.now() - t));'],
    require: ["-e", 'const t = performance.now(); require("modelgate"); process.stdout.write(String(performance.now() - t));'],
  };
  const inProcess = { import: [] as number[], require: [] as number[] };
  const wall = { baseline: [] as number[], import: [] as number[], require: [] as number[] };
  for (let round = 0; round < times; round++) {
    for (const name of ["baseline", "import", "require"] as const) {
      const started = performance.now();
      const out = await run(process.execPath, scripts[name], root);
      wall[name].push(performance.now() - started);
      if (name !== "baseline") inProcess[name].push(Number(out));
    }
  }
  const median = (values: number[]): number => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  const base = median(wall.baseline);
  const row = (name: string, ms: number, note: string): Row => ({ section: SECTION, name, iterations: times, unit: "ms", value: ms, note });
  const importMs = median(inProcess.import);
  const requireMs = median(inProcess.require);
  const staleNote = stale ? "; dist/ is older than src/ (run `npm run build`)" : "";
  return {
    importMs,
    requireMs,
    rows: [
      row("start-up: `node -e 0` (baseline), process wall time", base, `median of ${times} fresh processes`),
      row('start-up: import("modelgate") (dist/index.js) inside a fresh process', importMs, `median of ${times}; whole process ${median(wall.import).toFixed(0)} ms (+${(median(wall.import) - base).toFixed(0)} ms over baseline)${staleNote}`),
      row('start-up: require("modelgate") (dist/index.cjs) inside a fresh process', requireMs, `median of ${times}; whole process ${median(wall.require).toFixed(0)} ms (+${(median(wall.require) - base).toFixed(0)} ms over baseline)${staleNote}`),
    ],
  };
}

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${args.join(" ")}: ${stderr.trim().split("\n").pop() ?? error.message}`));
      else resolve(stdout.trim());
    });
  });
}

function signed(value: number, digits = 1): string {
  return (value >= 0 ? "+" : "") + value.toFixed(digits);
}
