/**
 * Section 6, in its own `node --expose-gc` process so the heap and RSS it reports are this
 * measurement's alone. Argument: a JSON `MemoryTask`; prints one line `MEMORY_RESULT <json>`.
 */
import { setMaxListeners } from "node:events";
import type { Gateway, GatewayConfig } from "../src/index.js";
import type { AdapterContext } from "../src/core/provider-adapter.js";
import { body2k, REPLY } from "./fixtures.js";
import { baseConfig, BENCH_MODEL, BENCH_ROUTE, CALL_OPTIONS, featureList, withFeatures } from "./features.js";
import { loadModelgate } from "./modelgate.js";

export interface MemoryTask {
  /** Bundle directory from the parent (undefined: import src through tsx). */
  dir?: string;
  features: string[];
  inflight: number;
  cacheEntries: number;
  totalCalls: number;
  checkpoint: number;
  /** Heap samples (each after forced GC) between the checkpoint and the end. */
  trailPoints: number;
}

export interface MemoryResult {
  inflight: { gatewayBytes: number; directBytes: number; n: number };
  cacheEntry?: { bytes: number; entries: number; reportedBytes?: number };
  growth: {
    calls: number;
    checkpoint: number;
    rssAtCheckpoint: number;
    rssAtEnd: number;
    heapAtCheckpoint: number;
    heapAtEnd: number;
    /** Heap after forced GC at evenly spaced points after the checkpoint. */
    heapTrail: number[];
    bounds: string;
  };
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("memory-child needs node --expose-gc");

function settle(): number {
  for (let index = 0; index < 3; index++) gc!();
  return process.memoryUsage().heapUsed;
}

const task = JSON.parse(process.argv[2] ?? "{}") as MemoryTask;
const modelgate = await loadModelgate(task.dir);
// A gateway with a TPM limit loads OpenAI's tokenizer (gpt-tokenizer, ~100 MB) in the
// background; load it now, so that it lands in no before/after heap pair below.
const tokenizerModule: string = "gpt-tokenizer/encoding/o200k_base";
if (task.features.includes("limits")) await import(tokenizerModule).catch(() => undefined);
const features = featureList().filter((feature) => task.features.includes(feature.name));
type Body = Parameters<Gateway["chat"]>[0];

/** Heap held per call while `n` calls are in flight (the mock holds each for 200 ms). */
async function inflight(n: number, viaGateway: boolean): Promise<number> {
  const mock = modelgate.mockProvider({ reply: REPLY, latencyMs: 200 });
  const gateway = modelgate.createGateway(withFeatures(baseConfig({ mock }), features));
  const context: AdapterContext = { model: BENCH_MODEL, signal: new AbortController().signal, timeoutMs: 60_000 };
  // Every direct call listens on this one signal (the mock's sleep): not a leak, so no warning.
  setMaxListeners(0, context.signal);
  // Warm both paths first (concurrently, as measured), so code and caches created once are not counted per call.
  for (let round = 0; round < 2; round++) {
    await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        viaGateway ? gateway.chat(body2k(BENCH_ROUTE, -1 - index - round * 1_000) as Body, CALL_OPTIONS) : mock.chat(body2k(BENCH_MODEL, -1 - index), context),
      ),
    );
  }
  mock.reset();
  // The bodies exist before and after: they are the caller's, not the gateway's.
  const bodies = Array.from({ length: n }, (_, index) => body2k(viaGateway ? BENCH_ROUTE : BENCH_MODEL, index));
  const before = settle();
  const calls = bodies.map((body) => (viaGateway ? gateway.chat(body as Body, CALL_OPTIONS) : mock.chat(body, context)));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const during = settle();
  await Promise.all(calls);
  await gateway.close();
  return (during - before) / n;
}

/** Heap per exact-cache entry: the same new bodies through a gateway with and without the cache. */
async function cacheEntry(n: number): Promise<MemoryResult["cacheEntry"]> {
  const cache = features.find((feature) => feature.name === "cache");
  if (!cache) return undefined;
  const held = async (withCache: boolean): Promise<{ bytes: number; reported?: number }> => {
    const mock = modelgate.mockProvider({ reply: REPLY });
    const gateway = modelgate.createGateway(withFeatures(baseConfig({ mock }), withCache ? [cache] : []));
    await gateway.chat(body2k(BENCH_ROUTE, -1) as Body, CALL_OPTIONS);
    mock.reset();
    const before = settle();
    for (let index = 0; index < n; index++) {
      await gateway.chat(body2k(BENCH_ROUTE, index) as Body, CALL_OPTIONS);
      if (index % 500 === 499) mock.reset();
    }
    mock.reset();
    const after = settle();
    const stats = (gateway as { stats?: () => { cache?: { exact: { bytes: number; entries: number } } } }).stats?.();
    await gateway.close();
    return { bytes: (after - before) / n, reported: stats?.cache ? stats.cache.exact.bytes / Math.max(1, stats.cache.exact.entries) : undefined };
  };
  const without = await held(false);
  const withCache = await held(true);
  return { bytes: withCache.bytes - without.bytes, entries: n, reportedBytes: withCache.reported };
}

/**
 * RSS and heap after `total` sequential calls, all features on, with every bounded structure
 * sized small enough to fill during the warm-up (before `checkpoint`): growth after it is a leak.
 */
async function growth(total: number, checkpoint: number): Promise<MemoryResult["growth"]> {
  const mock = modelgate.mockProvider({ reply: REPLY });
  const small = features.map((feature) =>
    feature.name === "cache" ? { ...feature, config: { cache: { exact: { maxBytes: 2 * 2 ** 20, ttlMs: 3_600_000 } } } } : feature,
  );
  const bounds: string[] = ["cache.exact.maxBytes 2 MB"];
  let config: GatewayConfig = withFeatures(baseConfig({ mock }), small);
  // The spend ledger keeps up to 50,000 records by default; size it to fill in the warm-up.
  const withSpend = { ...config, spend: { maxRecords: Math.floor(checkpoint / 4) } } as GatewayConfig;
  try {
    await modelgate.createGateway(withSpend).close();
    config = withSpend;
    bounds.push(`spend.maxRecords ${Math.floor(checkpoint / 4).toLocaleString("en-US")}`);
  } catch {
    // No spend section in this build.
  }
  const gateway = modelgate.createGateway(config);
  const heapTrail: number[] = [];
  let rssAtCheckpoint = 0;
  let heapAtCheckpoint = 0;
  const step = Math.max(1, Math.floor((total - checkpoint) / Math.max(1, task.trailPoints)));
  for (let index = 1; index <= total; index++) {
    await gateway.chat(body2k(BENCH_ROUTE, index) as Body, CALL_OPTIONS);
    if (index % 1_000 === 0) mock.reset();
    if (index === checkpoint) {
      heapAtCheckpoint = settle();
      rssAtCheckpoint = process.memoryUsage().rss;
    } else if (index > checkpoint && (index - checkpoint) % step === 0) {
      heapTrail.push(settle());
    }
  }
  const heapAtEnd = settle();
  const rssAtEnd = process.memoryUsage().rss;
  await gateway.close();
  return { calls: total, checkpoint, rssAtCheckpoint, rssAtEnd, heapAtCheckpoint, heapAtEnd, heapTrail, bounds: bounds.join(", ") };
}

const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  const result = await work();
  if (process.env.BENCH_DEBUG) process.stderr.write(`memory-child ${what}: ${Math.round(performance.now() - started)} ms\n`);
  return result;
};
const result: MemoryResult = {
  inflight: {
    gatewayBytes: await timed("in flight, gateway", () => inflight(task.inflight, true)),
    directBytes: await timed("in flight, direct", () => inflight(task.inflight, false)),
    n: task.inflight,
  },
  cacheEntry: await timed("cache entry", () => cacheEntry(task.cacheEntries)),
  growth: await timed("growth", () => growth(task.totalCalls, task.checkpoint)),
};
process.stdout.write(`MEMORY_RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
