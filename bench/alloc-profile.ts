/**
 * Where `gateway.chat()` allocates (every feature on, cache miss, over the mock): V8's sampling
 * heap profiler over many calls, bytes allocated per call by the function that allocated them
 * (self). GC is the largest single cost on the real SDK path; this says who feeds it.
 *
 *   npx tsx bench/alloc-profile.ts [calls] [--stream]
 *
 * `--stream`: `gateway.chat({ stream: true })` read to its end instead.
 */
import { Session } from "node:inspector/promises";
import type { Gateway } from "../src/index.js";
import { body2k, REPLY } from "./fixtures.js";
import { baseConfig, BENCH_ROUTE, CALL_OPTIONS, featureList, withFeatures } from "./features.js";
import { loadModelgate } from "./modelgate.js";

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  id: number;
  children: SamplingNode[];
}

const calls = Number(process.argv[2] ?? "20000");
const streaming = process.argv.includes("--stream");
const modelgate = await loadModelgate();
const mock = modelgate.mockProvider({ reply: REPLY });
const gateway: Gateway = modelgate.createGateway(withFeatures(baseConfig({ mock }), featureList()));
let made = 0;
const call = async (): Promise<unknown> => {
  if (++made % 1_000 === 0) mock.reset();
  if (!streaming) return gateway.chat(body2k(BENCH_ROUTE, made) as Parameters<Gateway["chat"]>[0] & { stream?: false }, CALL_OPTIONS);
  const stream = await gateway.chat({ ...body2k(BENCH_ROUTE, made), stream: true } as Parameters<Gateway["chat"]>[0] & { stream: true }, CALL_OPTIONS);
  for await (const _chunk of stream) {
    // read to its end
  }
  return stream;
};
for (let index = 0; index < 3_000; index++) {
  await call();
  if (index % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
}
const session = new Session();
session.connect();
await session.post("HeapProfiler.enable");
// Collected objects too: what the GC had to sweep is the cost, not what stays.
await session.post("HeapProfiler.startSampling", { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
for (let index = 0; index < calls; index++) {
  await call();
  if (index % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
}
const { profile } = (await session.post("HeapProfiler.stopSampling")) as unknown as { profile: { head: SamplingNode } };
session.disconnect();
const totals = new Map<string, number>();
let all = 0;
const walk = (node: SamplingNode): void => {
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || "(anonymous)"}  ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`;
  totals.set(key, (totals.get(key) ?? 0) + node.selfSize);
  all += node.selfSize;
  for (const child of node.children) walk(child);
};
walk(profile.head);
const lines = [`allocated ≈ ${(all / calls).toFixed(0)} B/call sampled over ${calls} calls (bench fixtures included)`];
for (const [key, bytes] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 30)) lines.push(`${(bytes / calls).toFixed(0).padStart(7)} B  ${key}`);
process.stdout.write(lines.join("\n") + "\n");
await gateway.close();
process.exit(0);
