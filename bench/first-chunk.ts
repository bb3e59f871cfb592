/**
 * Where a stream's time to first chunk goes on the real SDK path (issue 15), in one interleaved
 * run against the fake OpenAI server in its own process: the bare SDK's first chunk (OpenAI's
 * role-only opening frame) and its second (the first content), the `openai()` adapter's same
 * two, and `gateway.chat({ stream: true })`'s first chunk with nothing configured and with every
 * feature on. The gap between an adapter's first and second chunk is what the gateway's hold
 * (forward.ts: the first chunk goes out once a chunk commits the stream) costs at the least.
 *
 *   npx tsx bench/first-chunk.ts [iterations]
 */
import OpenAI from "openai";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { loadavg } from "node:os";
import { stop, startFakeServerChild } from "./children.js";
import { body2k } from "./fixtures.js";
import { baseConfig, BENCH_MODEL, BENCH_ROUTE, CALL_OPTIONS, featureList, withFeatures } from "./features.js";
import { loadModelgate } from "./modelgate.js";
import { measureInterleaved, summarize, type Candidate, type Sample } from "./stats.js";
import type { Gateway } from "../src/index.js";

const iterations = Number(process.argv[2] ?? "1500");
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const modelgate = await loadModelgate();
const { url: fakeUrl, child: fakeChild } = await startFakeServerChild(root);

type StreamBody = Parameters<Gateway["chat"]>[0] & { stream: true };
let made = 0;

/** µs from `open()` to the `nth` chunk (1-based); the stream is then read to its end. */
async function nthChunkUs(open: () => Promise<AsyncIterable<unknown>>, nth: number): Promise<number> {
  const started = performance.now();
  const stream = await open();
  let at = -1;
  let seen = 0;
  for await (const _chunk of stream) if (++seen === nth) at = (performance.now() - started) * 1000;
  return at;
}

const direct = new OpenAI({ apiKey: "sk-bench", baseURL: fakeUrl, maxRetries: 0 });
const adapter = modelgate.openai({ baseURL: fakeUrl, apiKey: "sk-bench" });
const bare = modelgate.createGateway(baseConfig({ openai: modelgate.openai({ baseURL: fakeUrl, apiKey: "sk-bench" }) }, BENCH_MODEL, "openai"));
const allOn = modelgate.createGateway(
  withFeatures(baseConfig({ openai: modelgate.openai({ baseURL: fakeUrl, apiKey: "sk-bench" }) }, BENCH_MODEL, "openai"), featureList()),
);
const sdkStream = (body: ReturnType<typeof body2k>) => direct.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
const adapterInput = () => ({ body: body2k(BENCH_MODEL, ++made), context: { model: BENCH_MODEL, signal: new AbortController().signal, timeoutMs: 60_000 } });

const candidates: Record<string, Candidate> = {
  "sdk 1st": { prepare: () => body2k(BENCH_MODEL, ++made), selfTimed: true, run: (body) => nthChunkUs(() => sdkStream(body), 1) },
  "sdk 2nd": { prepare: () => body2k(BENCH_MODEL, ++made), selfTimed: true, run: (body) => nthChunkUs(() => sdkStream(body), 2) },
  "adapter 1st": { prepare: adapterInput, selfTimed: true, run: ({ body, context }) => nthChunkUs(async () => adapter.stream(body, context), 1) },
  "adapter 2nd": { prepare: adapterInput, selfTimed: true, run: ({ body, context }) => nthChunkUs(async () => adapter.stream(body, context), 2) },
  "gateway none 1st": {
    prepare: () => body2k(BENCH_ROUTE, ++made),
    selfTimed: true,
    run: (body) => nthChunkUs(() => bare.chat({ ...body, stream: true } as StreamBody, CALL_OPTIONS), 1),
  },
  "gateway all-on 1st": {
    prepare: () => body2k(BENCH_ROUTE, ++made),
    selfTimed: true,
    run: (body) => nthChunkUs(() => allOn.chat({ ...body, stream: true } as StreamBody, CALL_OPTIONS), 1),
  },
};

const loadBefore = loadavg().map((value) => value.toFixed(2)).join(" ");
const results = await measureInterleaved(candidates, { iterations, warmup: 200, warmupMs: 1_000, block: 10 });
const loadAfter = loadavg().map((value) => value.toFixed(2)).join(" ");
const baseline = summarize(results["sdk 1st"]!).p50;
const lines = [`stream chunk times, ${iterations} per candidate; load ${loadBefore} -> ${loadAfter}`];
lines.push(`${"candidate".padEnd(20)} ${"p50 µs".padStart(8)} ${"p99 µs".padStart(8)} ${"CPU µs".padStart(8)} ${"+p50 µs".padStart(8)}`);
for (const [name, run] of Object.entries(results) as [string, Sample][]) {
  const summary = summarize(run);
  lines.push(
    `${name.padEnd(20)} ${summary.p50.toFixed(0).padStart(8)} ${summary.p99.toFixed(0).padStart(8)} ${(run.cpuPerCallUs ?? Number.NaN).toFixed(0).padStart(8)} ${(summary.p50 - baseline).toFixed(0).padStart(8)}`,
  );
}
process.stdout.write(lines.join("\n") + "\n");
await bare.close();
await allOn.close();
await stop(fakeChild);
process.exit(0);
