/**
 * The adapters' HTTP transport: `openai().chat()` (and stream, time to first chunk) with the
 * SDK's default fetch (undici) vs the node:http transport, beside the bare SDK with its
 * default fetch and given the node transport. The fake OpenAI server runs in its own process; candidates interleave.
 *
 *   npx tsx bench/transport.ts [iterations]
 */
import { execSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import type { AdapterContext } from "../src/core/provider-adapter.js";
import { createNodeFetch } from "../src/providers/shared/node-fetch.js";
import { stop, startFakeServerChild } from "./children.js";
import { body2k } from "./fixtures.js";
import { loadModelgate } from "./modelgate.js";
import { measureInterleaved, summarize, type Candidate } from "./stats.js";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const iterations = Number(process.argv[2] ?? 1_500);
const MODEL = "gpt-4o-mini";

const modelgate = await loadModelgate();
const { url: baseURL, child: fake } = await startFakeServerChild(root);

try {
  const viaFetch = modelgate.openai({ baseURL, apiKey: "sk-bench", transport: "fetch" });
  const viaNode = modelgate.openai({ baseURL, apiKey: "sk-bench", transport: "node" });
  const sdk = new OpenAI({ apiKey: "sk-bench", baseURL, maxRetries: 0 });
  const sdkNode = new OpenAI({ apiKey: "sk-bench", baseURL, maxRetries: 0, fetch: createNodeFetch() as typeof fetch });
  let n = 0;
  const input = (): { body: ReturnType<typeof body2k>; ctx: AdapterContext } => ({
    body: body2k(MODEL, ++n),
    ctx: { model: MODEL, signal: new AbortController().signal, timeoutMs: 60_000 },
  });
  /** Time to first chunk in µs; the stream is read to its end so the connection is reused. */
  const firstChunkUs = async (stream: AsyncIterable<unknown>, started: number): Promise<number> => {
    let first = -1;
    for await (const _chunk of stream) if (first < 0) first = (performance.now() - started) * 1000;
    return first;
  };
  const streamed = (open: (i: ReturnType<typeof input>) => Promise<AsyncIterable<unknown>> | AsyncIterable<unknown>): Candidate => ({
    prepare: input,
    selfTimed: true,
    run: async (i: ReturnType<typeof input>) => {
      const started = performance.now();
      return firstChunkUs(await open(i), started);
    },
  });
  const candidates: Record<string, Candidate> = {
    "sdk (fetch)": { prepare: input, run: ({ body }) => sdk.chat.completions.create(body) },
    "sdk (node transport)": { prepare: input, run: ({ body }) => sdkNode.chat.completions.create(body) },
    "adapter, transport fetch": { prepare: input, run: ({ body, ctx }) => viaFetch.chat(body, ctx) },
    "adapter, transport node": { prepare: input, run: ({ body, ctx }) => viaNode.chat(body, ctx) },
    "sdk (fetch) stream": streamed(({ body }) => sdk.chat.completions.create({ ...body, stream: true })),
    "adapter fetch stream": streamed(({ body, ctx }) => viaFetch.stream(body, ctx)),
    "adapter node stream": streamed(({ body, ctx }) => viaNode.stream(body, ctx)),
  };
  const load = execSync("uptime").toString().trim();
  const results = await measureInterleaved(candidates, { iterations, warmup: 200, warmupMs: 2_000, block: 100 });
  console.log(`${modelgate.how}; ${iterations} calls each, interleaved; load before: ${load}; after: ${execSync("uptime").toString().trim()}`);
  console.log("candidate                      p50 ms   p99 ms   CPU ms/call");
  for (const [name, run] of Object.entries(results)) {
    const s = summarize(run);
    console.log(`${name.padEnd(30)} ${(s.p50 / 1000).toFixed(2).padStart(6)}   ${(s.p99 / 1000).toFixed(2).padStart(6)}   ${((run.cpuPerCallUs ?? NaN) / 1000).toFixed(2).padStart(6)}`);
  }
} finally {
  await stop(fake);
}
