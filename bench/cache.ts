/**
 * Cache bench: what an exact hit costs against a bare call to the mock adapter (measured in
 * the same run, interleaved), what the cache adds to a miss, and how long a semantic lookup
 * takes by partition size (a linear scan over 384-d float32 vectors).
 *
 * Standalone: `npx tsx bench/cache.ts`; `benchCache()` returns the rows for `npm run bench`.
 */
import { pathToFileURL } from "node:url";
import { cacheKeysFor, scopePrefix } from "../src/cache/cache-key.js";
import { SemanticIndex, normalizeVector } from "../src/cache/semantic-index.js";
import { chatRequestSchema, type ChatRequest } from "../src/contract/chat-request.js";
import { createGateway, type ChatBody } from "../src/index.js";
import { mockProvider } from "../src/testing.js";
import { measureInterleaved, renderTable, sample, timedRow, type Row } from "./stats.js";

const SECTION = "cache";

/** A realistic ~1.5 KB request: a system prompt, two turns, a tool. */
function requestBody(question: string): ChatBody {
  return {
    model: "smart",
    temperature: 0,
    max_tokens: 300,
    messages: [
      { role: "system", content: "You are a helpful assistant that answers questions about the product catalogue. ".repeat(6) },
      { role: "user", content: "What is the return policy for items bought during the sale? ".repeat(4) },
      { role: "assistant", content: "Sale items can be returned within 30 days. ".repeat(5) },
      { role: "user", content: question },
    ],
    tools: [
      {
        type: "function",
        function: {
          name: "lookup_order",
          description: "Looks up an order by id",
          parameters: { type: "object", properties: { id: { type: "string" }, zip: { type: "string" } }, required: ["id"] },
        },
      },
    ],
  };
}

const REPLY = "Sale items can be returned within 30 days and shipped back for free. ".repeat(12);

async function exactRows(iterations: number): Promise<Row[]> {
  const provider = mockProvider({ reply: REPLY });
  const models = { smart: "p/gpt-test" };
  const cached = createGateway({ providers: { p: provider }, models, cache: {} });
  const plain = createGateway({ providers: { p: provider }, models });
  const body = requestBody("And shipping?");
  const parsed: ChatRequest = chatRequestSchema.parse(body);
  const adapterContext = { model: "gpt-test", signal: new AbortController().signal, timeoutMs: 60_000 };
  await cached.chat(body); // the entry every hit reads
  let unique = 0;
  try {
    const samples = await measureInterleaved(
      {
        bare: () => provider.chat(parsed, adapterContext),
        hit: () => cached.chat(body),
        hitStream: async () => {
          const stream = await cached.chat({ ...body, stream: true });
          for await (const _chunk of stream) {
            // drained: a streamed hit is only done when its replay is read
          }
        },
        noCache: () => plain.chat(body),
        miss: { prepare: () => requestBody(`question ${unique++}`), run: (input: ChatBody) => cached.chat(input) },
        missNoCache: { prepare: () => requestBody(`question ${unique++}`), run: (input: ChatBody) => plain.chat(input) },
      },
      { iterations, warmup: Math.min(2_000, iterations / 5) },
    );
    const bareP50 = timedRow(SECTION, "", samples.bare).p50!;
    const missNoCacheP50 = timedRow(SECTION, "", samples.missNoCache).p50!;
    const against = (sampleName: keyof typeof samples, baseline: number, what: string): Partial<Row> => {
      const p50 = timedRow(SECTION, "", samples[sampleName]).p50!;
      return { ratio: p50 / baseline, note: `${p50 - baseline >= 0 ? "+" : ""}${(p50 - baseline).toFixed(2)} µs vs ${what}` };
    };
    return [
      timedRow(SECTION, "bare mock adapter chat() (baseline)", samples.bare),
      timedRow(SECTION, "gateway.chat exact hit", samples.hit, against("hit", bareP50, "bare adapter")),
      timedRow(SECTION, "gateway.chat exact hit, streamed replay", samples.hitStream, against("hitStream", bareP50, "bare adapter")),
      timedRow(SECTION, "gateway.chat, no cache section", samples.noCache, against("noCache", bareP50, "bare adapter")),
      timedRow(SECTION, "gateway.chat miss (key + lookup + store)", samples.miss, against("miss", missNoCacheP50, "no cache, same bodies")),
      timedRow(SECTION, "gateway.chat new bodies, no cache", samples.missNoCache, {
        note: "a 0-latency mock; a real provider call is 0.6-1.3 ms on loopback, far more over the internet",
      }),
    ];
  } finally {
    await cached.close();
    await plain.close();
  }
}

function keyRow(iterations: number): Row {
  const request = chatRequestSchema.parse(requestBody("And shipping?"));
  const prefix = scopePrefix("key", "team-a", undefined);
  const durations = new Float64Array(iterations);
  for (let index = 0; index < 1_000; index++) cacheKeysFor(request, "smart", prefix, true);
  for (let index = 0; index < iterations; index++) {
    const started = performance.now();
    cacheKeysFor(request, "smart", prefix, true);
    durations[index] = (performance.now() - started) * 1000;
  }
  const bytes = JSON.stringify(request).length;
  return timedRow(SECTION, `cache keys (exact + semantic partition) of a ${bytes} B request`, sample(durations));
}

/** A deterministic pseudo-random unit vector (xorshift), so runs compare. */
function randomVector(dimensions: number, seed: number): Float32Array {
  let state = seed * 2654435761 + 1;
  const values = new Array<number>(dimensions);
  for (let index = 0; index < dimensions; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[index] = (state >>> 0) / 4294967296 - 0.5;
  }
  return normalizeVector(values)!;
}

function semanticRows(sizes: readonly number[], dimensions: number): Row[] {
  const rows: Row[] = [];
  for (const size of sizes) {
    const index = new SemanticIndex(size, 3_600_000);
    for (let entry = 0; entry < size; entry++) index.add("partition", `entry-${entry}`, randomVector(dimensions, entry + 1));
    const queries = Math.max(20, Math.min(500, Math.floor(2_000_000 / size)));
    const durations = new Float64Array(queries);
    for (let query = 0; query < queries + 5; query++) {
      const vector = randomVector(dimensions, 1_000_000 + query);
      const started = performance.now();
      // A threshold no random vector reaches: the whole partition is scanned, the worst case.
      index.search("partition", vector, 0.99);
      if (query >= 5) durations[query - 5] = (performance.now() - started) * 1000;
    }
    rows.push(
      timedRow(SECTION, `semantic lookup, ${size.toLocaleString("en-US")} × ${dimensions}-d in one partition`, sample(durations), {}, "ms"),
    );
    index.clear();
  }
  return rows;
}

/** All cache rows; `quick` runs fewer iterations and skips the 100k index. */
export async function benchCache(options: { quick?: boolean } = {}): Promise<Row[]> {
  const iterations = options.quick ? 2_000 : 20_000;
  return [
    ...(await exactRows(iterations)),
    keyRow(iterations),
    ...semanticRows(options.quick ? [1_000, 10_000] : [1_000, 10_000, 100_000], 384),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchCache({ quick: process.argv.includes("--quick") });
  console.log(renderTable(rows));
}
