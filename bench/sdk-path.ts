import type { ChildProcess } from "node:child_process";
/**
 * Sections 2 and 3: the official `openai` SDK calling a fake OpenAI server (own process, on
 * loopback) directly, vs `gateway.chat()` with the `openai()` adapter over the same server,
 * vs the SDK through a Portkey proxy hop. Non-streaming latency and streaming time to first
 * chunk, all candidates interleaved in one run.
 */
import OpenAI from "openai";
import type { Gateway } from "../src/index.js";
import type { AdapterContext, ProviderAdapter } from "../src/core/provider-adapter.js";
import type { ChatRequest } from "../src/core/chat-request.js";
import type { ChatChunk } from "../src/core/chat-chunk.js";
import { stop, startFakeServerChild } from "./children.js";
import { body2k, type BenchBody } from "./fixtures.js";
import { baseConfig, BENCH_MODEL, BENCH_ROUTE, CALL_OPTIONS, withFeatures, type Feature } from "./features.js";
import type { Modelgate } from "./modelgate.js";
import { startProxyHop } from "./proxy-hop.js";
import { measureInterleaved, missingRow, sample, summarize, timedRow, type Candidate, type Row, type Sample } from "./stats.js";

export interface NetworkResult {
  sdkRows: Row[];
  proxyRows: Row[];
  /** gateway p50 / direct p50, non-streaming (every feature on). */
  ratioP50?: number;
  /** The same with nothing configured. */
  ratioNoneP50?: number;
  /** The `openai()` adapter alone / direct p50. */
  adapterRatioP50?: number;
  ratioP99?: number;
  /** Gateway TTFC p50 minus direct TTFC p50, µs. */
  ttfcAddedP50?: number;
  ttfcDirectP50?: number;
  /** Which part costs what, for a missed target. */
  breakdown?: string;
  streamBreakdown?: string;
}

type Stream = AsyncIterable<unknown>;
type Streaming = { stream: true; stream_options: { include_usage: boolean } };

/** Time to first chunk in µs; the stream is then read to its end so the connection is reused. */
async function firstChunkUs(open: () => Promise<Stream>, onFirst?: (started: number, at: number) => void): Promise<number> {
  const started = performance.now();
  const stream = await open();
  let first = -1;
  for await (const _chunk of stream) {
    if (first < 0) {
      const at = performance.now();
      first = (at - started) * 1000;
      onFirst?.(started, at);
    }
  }
  if (first < 0) throw new Error("stream ended without a chunk");
  return first;
}

/** When the gateway handed a call to the adapter, and when the adapter answered (or gave its first chunk). */
interface Marks {
  called: number;
  answered: number;
}

/**
 * The adapter with two clock reads around it, so the gateway's time splits into pipeline
 * before the adapter, the adapter, and pipeline after it. Costs one async frame (< 1 µs).
 */
function markedAdapter(inner: ProviderAdapter, marks: Marks): ProviderAdapter {
  return Object.assign(Object.create(inner) as ProviderAdapter, {
    name: inner.name,
    async chat(request: ChatRequest, context: AdapterContext) {
      marks.called = performance.now();
      const response = await inner.chat(request, context);
      marks.answered = performance.now();
      return response;
    },
    stream(request: ChatRequest, context: AdapterContext): AsyncIterable<ChatChunk> {
      marks.called = performance.now();
      const iterable = inner.stream(request, context);
      return {
        [Symbol.asyncIterator]() {
          const iterator = iterable[Symbol.asyncIterator]();
          let first = true;
          return {
            next: async () => {
              if (!first) return iterator.next();
              const result = await iterator.next();
              first = false;
              marks.answered = performance.now();
              return result;
            },
            return: async (value?: unknown) => (iterator.return ? iterator.return(value) : { done: true as const, value: undefined }),
          };
        },
      };
    },
  });
}

function splitRow(section: string, name: string, durations: number[], extra: Partial<Row> = {}): Row {
  return timedRow(section, name, sample(durations), extra);
}

export async function runNetwork(modelgate: Modelgate, quick: boolean, features: readonly Feature[], root: string): Promise<NetworkResult> {
  let fakeUrl: string;
  let fakeChild: ChildProcess;
  try {
    ({ url: fakeUrl, child: fakeChild } = await startFakeServerChild(root));
  } catch (error) {
    const reason = `fake server did not start: ${error instanceof Error ? error.message : String(error)}`;
    return { sdkRows: [missingRow("2 SDK path", "all rows", reason)], proxyRows: [missingRow("3 proxy hop", "all rows", reason)] };
  }

  const marks: Marks = { called: 0, answered: 0 };
  const gateway: Gateway = modelgate.createGateway(
    withFeatures(
      baseConfig({ openai: markedAdapter(modelgate.openai({ baseURL: fakeUrl, apiKey: "sk-bench" }), marks) }, BENCH_MODEL, "openai"),
      features,
    ),
  );
  // Pipeline time before and after the adapter, per measured gateway call (µs).
  const split = { before: [] as number[], after: [] as number[], streamBefore: [] as number[], streamAfter: [] as number[] };
  const direct = new OpenAI({ apiKey: "sk-bench", baseURL: fakeUrl, maxRetries: 0 });
  // The adapter alone (no pipeline), to split the gateway's cost into adapter and pipeline.
  const adapter = modelgate.openai({ baseURL: fakeUrl, apiKey: "sk-bench" });
  // Nothing configured: validation, routing, the attempt, spend records (always on).
  const bare: Gateway = modelgate.createGateway(baseConfig({ openai: modelgate.openai({ baseURL: fakeUrl, apiKey: "sk-bench" }) }, BENCH_MODEL, "openai"));
  const adapterInput = (): { body: ReturnType<typeof body2k>; context: AdapterContext } => ({
    body: body2k(BENCH_MODEL, ++made),
    context: { model: BENCH_MODEL, signal: new AbortController().signal, timeoutMs: 60_000 },
  });
  const proxy = await startProxyHop(fakeUrl);
  let made = 0;
  const featureNames = features.length ? features.map((feature) => feature.name).join(", ") : "core only";

  try {
    const sdkBody = (): ReturnType<typeof body2k> => body2k(BENCH_MODEL, ++made);
    const gatewayBody = (index: number): { body: ReturnType<typeof body2k>; measured: boolean } => ({
      body: body2k(BENCH_ROUTE, ++made),
      measured: index >= 0,
    });
    const iterations = quick ? 200 : 2_500;
    const candidates: Record<string, Candidate> = {
      direct: { prepare: sdkBody, run: (body) => direct.chat.completions.create(body) },
      adapter: { prepare: adapterInput, run: ({ body, context }) => adapter.chat(body, context) },
      gateway: {
        prepare: gatewayBody,
        run: async ({ body, measured }) => {
          const started = performance.now();
          await gateway.chat(body, CALL_OPTIONS);
          if (measured) {
            split.before.push((marks.called - started) * 1000);
            split.after.push((performance.now() - marks.answered) * 1000);
          }
        },
      },
    };
    candidates.bare = { prepare: gatewayBody, run: ({ body }) => bare.chat(body, CALL_OPTIONS) };
    if (!("reason" in proxy)) {
      candidates.proxy = { prepare: sdkBody, run: (body) => proxy.client.chat.completions.create(body), iterations: Math.ceil(iterations / 2) };
    }
    // Blocks of 10: with blocks of 100, a load burst on the shared box landed on one candidate.
    const plain = await measureInterleaved(candidates, { iterations, warmup: quick ? 50 : 300, warmupMs: quick ? 300 : 1_000, block: 10, maxMs: quick ? 10_000 : 75_000 });

    const streamIterations = quick ? 100 : 1_500;
    const streamOptions: Streaming = { stream: true, stream_options: { include_usage: true } };
    const streamCandidates: Record<string, Candidate> = {
      direct: {
        prepare: sdkBody,
        selfTimed: true,
        run: (body: BenchBody) => firstChunkUs(() => direct.chat.completions.create({ ...body, ...streamOptions })),
      },
      adapter: {
        prepare: adapterInput,
        selfTimed: true,
        run: ({ body, context }) => firstChunkUs(async () => adapter.stream(body, context)),
      },
      gateway: {
        prepare: gatewayBody,
        selfTimed: true,
        run: ({ body, measured }) =>
          firstChunkUs(
            () => gateway.chat({ ...body, stream: true }, CALL_OPTIONS),
            (started, at) => {
              if (!measured) return;
              split.streamBefore.push((marks.called - started) * 1000);
              split.streamAfter.push((at - marks.answered) * 1000);
            },
          ),
      },
    };
    if (!("reason" in proxy)) {
      // Its first chunk waits ~25 ms (a fixed sleep in its build): fewer samples suffice.
      streamCandidates.proxy = {
        prepare: sdkBody,
        selfTimed: true,
        iterations: quick ? 20 : 200,
        run: (body: BenchBody) => firstChunkUs(() => proxy.client.chat.completions.create({ ...body, ...streamOptions })),
      };
    }
    const streamed = await measureInterleaved(streamCandidates, { iterations: streamIterations, warmup: quick ? 20 : 150, block: 10, maxMs: quick ? 10_000 : 45_000 });

    const d = summarize(plain.direct!);
    const a = summarize(plain.adapter!);
    const g = summarize(plain.gateway!);
    const n = summarize(plain.bare!);
    const ds = summarize(streamed.direct!);
    const as = summarize(streamed.adapter!);
    const gs = summarize(streamed.gateway!);
    const sdkRows: Row[] = [
      timedRow("2 SDK path", "openai SDK create() -> fake server (baseline)", plain.direct!, { ratio: 1, note: "2 KB request; fake server in its own process" }),
      timedRow("2 SDK path", "openai() adapter.chat() alone -> same server", plain.adapter!, {
        ratio: a.p50 / d.p50,
        note: `added p50 ${signed(a.p50 - d.p50)} µs (per-request options, response mapping)`,
      }),
      timedRow("2 SDK path", `gateway.chat(), openai() adapter -> same server (${featureNames})`, plain.gateway!, {
        ratio: g.p50 / d.p50,
        note: `ratio at p50; p99 ratio ${(g.p99 / d.p99).toFixed(3)}; added p50 ${signed(g.p50 - d.p50)} µs`,
      }),
      timedRow("2 SDK path", "gateway.chat(), openai() adapter -> same server (nothing configured)", plain.bare!, {
        ratio: n.p50 / d.p50,
        note: `added p50 ${signed(n.p50 - d.p50)} µs (validation, routing, the attempt, spend record)`,
      }),
      splitRow("2 SDK path", "↳ gateway pipeline before the adapter", split.before, { note: "in situ: between network waits, not a hot loop" }),
      splitRow("2 SDK path", "↳ gateway pipeline after the adapter", split.after),
      timedRow("2 SDK path", "stream: time to first chunk, SDK direct (baseline)", streamed.direct!, { ratio: 1 }),
      timedRow("2 SDK path", "stream: time to first chunk, adapter.stream() alone", streamed.adapter!, {
        ratio: as.p50 / ds.p50,
        note: `added p50 ${signed(as.p50 - ds.p50)} µs`,
      }),
      timedRow("2 SDK path", "stream: time to first chunk, gateway.chat()", streamed.gateway!, {
        ratio: gs.p50 / ds.p50,
        note: `added p50 ${signed(gs.p50 - ds.p50)} µs, p99 ${signed(gs.p99 - ds.p99)} µs`,
      }),
      splitRow("2 SDK path", "↳ gateway pipeline before adapter.stream()", split.streamBefore),
      splitRow("2 SDK path", "↳ gateway, adapter first chunk -> caller", split.streamAfter),
    ];
    const proxyRows: Row[] = [];
    if ("reason" in proxy) {
      proxyRows.push(missingRow("3 proxy hop", "SDK -> Portkey -> fake server", proxy.reason));
    } else {
      const p = summarize(plain.proxy!);
      const ps = summarize(streamed.proxy!);
      proxyRows.push(
        timedRow("3 proxy hop", `SDK -> ${proxy.label} (127.0.0.1) -> same server`, plain.proxy!, {
          ratio: p.p50 / d.p50,
          note: `vs in-process gateway: ${signed((p.p50 - g.p50) / 1000, 2)} ms p50 (${(p.p50 / g.p50).toFixed(2)}×)`,
        }),
        timedRow("3 proxy hop", `stream: time to first chunk via ${proxy.label}`, streamed.proxy!, {
          ratio: ps.p50 / ds.p50,
          note: `vs in-process gateway: ${signed((ps.p50 - gs.p50) / 1000, 2)} ms p50 (a fixed 25 ms wait before its first chunk)`,
        }),
      );
    }
    return {
      sdkRows,
      proxyRows,
      ratioP50: g.p50 / d.p50,
      ratioNoneP50: n.p50 / d.p50,
      adapterRatioP50: a.p50 / d.p50,
      ratioP99: g.p99 / d.p99,
      ttfcAddedP50: gs.p50 - ds.p50,
      ttfcDirectP50: ds.p50,
      breakdown: `added p50 ${signed(g.p50 - d.p50)} µs = openai() adapter vs bare SDK ${signed(a.p50 - d.p50)} µs + gateway over the adapter ${signed(g.p50 - a.p50)} µs (pipeline measured in situ: before the adapter p50 ${p50(split.before)} µs, after ${p50(split.after)} µs; CPU/call SDK ${cpu(plain.direct!)}, adapter ${cpu(plain.adapter!)}, gateway ${cpu(plain.gateway!)} µs)`,
      streamBreakdown: `added p50 ${signed(gs.p50 - ds.p50)} µs = adapter.stream() vs bare SDK ${signed(as.p50 - ds.p50)} µs + gateway ${signed(gs.p50 - as.p50)} µs (in situ: before adapter.stream() p50 ${p50(split.streamBefore)} µs, first chunk -> caller ${p50(split.streamAfter)} µs)`,
    };
  } finally {
    await gateway.close();
    await bare.close();
    if (!("reason" in proxy)) await proxy.portkey.stop();
    await stop(fakeChild);
  }
}

function p50(durations: number[]): string {
  return summarize(sample(durations)).p50.toFixed(1);
}

function cpu(run: Sample): string {
  return run.cpuPerCallUs === undefined ? "-" : run.cpuPerCallUs.toFixed(0);
}

function signed(value: number, digits = 1): string {
  return (value >= 0 ? "+" : "") + value.toFixed(digits);
}
