/**
 * Cache bench: what an exact hit costs against a bare call to the mock adapter (measured in
 * the same run, interleaved), what the cache adds to a miss, and how long a semantic lookup
 * takes by partition size (an exact scan over 384-d float32 vectors up to 2,048, LSH above),
 * what an add costs, memory per vector, and LSH recall on planted near-duplicates.
 *
 * Standalone: `npx tsx bench/cache.ts`; `benchCache()` returns the rows for `npm run bench`.
 */
import { pathToFileURL } from "node:url";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { CacheKeyMaker } from "../src/cache/cache-key.js";
import { SemanticIndex, normalizeVector } from "../src/cache/semantic-index.js";
import { seededRandom } from "../src/cache/simhash-lsh.js";
import { chatRequestSchema, type ChatRequest } from "../src/core/chat-request.js";
import { createGateway, type ChatBody } from "../src/index.js";
import { mockProvider } from "../src/testing.js";
import { measureInterleaved, renderTable, sample, timedRow, type Row } from "./stats.js";
import { near, normal } from "../test/fakes/vectors.js";

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
  const scope = { scope: "key", key: "team-a", user: undefined } as const;
  const keys = new CacheKeyMaker();
  const durations = new Float64Array(iterations);
  for (let index = 0; index < 1_000; index++) keys.keysFor(request, "smart", scope, true);
  for (let index = 0; index < iterations; index++) {
    const started = performance.now();
    keys.keysFor(request, "smart", scope, true);
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

function unitOf(values: Float64Array): Float32Array {
  return normalizeVector(Array.from(values))!;
}

/** `size` unit vectors: uniformly random, or around 200 random centres at cosine ≈ 0.8 to theirs. */
function dataset(kind: "random" | "clustered", size: number, dimensions: number, seed: number): Float32Array[] {
  const gauss = normal(seededRandom(seed));
  const draw = (): Float64Array => Float64Array.from({ length: dimensions }, gauss);
  const centres = kind === "clustered" ? Array.from({ length: 200 }, () => unitOf(draw())) : [];
  const noise = 0.75 / Math.sqrt(dimensions);
  return Array.from({ length: size }, (_, entry) => {
    const values = draw();
    if (kind === "random") return unitOf(values);
    const centre = centres[entry % 200]!;
    for (let index = 0; index < dimensions; index++) values[index] = centre[index]! + noise * values[index]!;
    return unitOf(values);
  });
}

const collectGarbage: () => void = (() => {
  v8.setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

function heapBytes(): number {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/**
 * Lookup p50/p99 by partition size (exact scan up to 2,048 vectors, LSH above), add cost and
 * memory per vector at the largest size, and recall: how often the index returns the exact
 * scan's best match for a planted near-duplicate (random and clustered data).
 */
function semanticRows(sizes: readonly number[], dimensions: number): Row[] {
  const rows: Row[] = [];
  const largest = sizes[sizes.length - 1]!;
  let addRow: Row | undefined;
  let memoryRow: Row | undefined;
  for (const size of sizes) {
    const before = size === largest ? heapBytes() : 0;
    const index = new SemanticIndex(size, 3_600_000);
    const vectors = Array.from({ length: size }, (_, entry) => randomVector(dimensions, entry + 1));
    const adds = new Float64Array(size);
    for (let entry = 0; entry < size; entry++) {
      const started = performance.now();
      index.add("partition", `entry-${entry}`, vectors[entry]!);
      adds[entry] = (performance.now() - started) * 1000;
    }
    if (size === largest) {
      vectors.length = 0;
      const perVector = (heapBytes() - before) / size;
      addRow = timedRow(SECTION, `semantic add, filling one partition to ${size.toLocaleString("en-US")} × ${dimensions}-d`, sample(adds), {
        note: "incl. hashing into 12 LSH tables above 2,048; the crossing hashes the held vectors 128 per add",
      });
      memoryRow = {
        section: SECTION,
        name: `semantic index memory per vector, ${size.toLocaleString("en-US")} × ${dimensions}-d`,
        iterations: size,
        unit: "bytes",
        value: Math.round(perVector),
        note: `raw vector ${dimensions * 4} B; incl. ids, LRU map, growth room, LSH codes and links`,
      };
    }
    const queries = index.isApproximate("partition") ? 1_000 : Math.max(20, Math.min(500, Math.floor(2_000_000 / size)));
    const durations = new Float64Array(queries);
    for (let query = 0; query < queries + 5; query++) {
      const vector = randomVector(dimensions, 1_000_000 + query);
      const started = performance.now();
      // A threshold no random vector reaches: a scan reads the whole partition, the worst case.
      index.search("partition", vector, 0.99);
      if (query >= 5) durations[query - 5] = (performance.now() - started) * 1000;
    }
    const how = index.isApproximate("partition") ? "LSH + exact rerank" : "exact scan";
    rows.push(timedRow(SECTION, `semantic lookup, ${size.toLocaleString("en-US")} × ${dimensions}-d in one partition (${how})`, sample(durations), {}, "ms"));
    index.clear();
  }
  rows.push(...(addRow ? [addRow] : []), ...(memoryRow ? [memoryRow] : []), crossingRow(dimensions));
  for (const kind of ["random", "clustered"] as const) rows.push(...recallRows(kind, largest, dimensions));
  return rows;
}

/** What the add that crosses 2,048 vectors and the adds after it cost while the tables catch up. */
function crossingRow(dimensions: number): Row {
  const index = new SemanticIndex(10_000, 3_600_000);
  for (let entry = 0; entry < 2_048; entry++) index.add("p", `e${entry}`, randomVector(dimensions, entry + 1));
  let worst = 0;
  let total = 0;
  let adds = 0;
  while (!index.isApproximate("p")) {
    const vector = randomVector(dimensions, 50_000 + adds);
    const started = performance.now();
    index.add("p", `x${adds++}`, vector);
    const elapsed = performance.now() - started;
    worst = Math.max(worst, elapsed);
    total += elapsed;
  }
  return {
    section: SECTION,
    name: `semantic LSH build on crossing 2,048 × ${dimensions}-d (worst single add)`,
    iterations: adds,
    unit: "ms",
    value: worst,
    note: `${total.toFixed(1)} ms in all, spread over ${adds} adds; the partition is scanned exactly meanwhile`,
  };
}

/** Recall of planted near-duplicates at 0.95 and 0.98 against the exact scan's best match. */
function recallRows(kind: "random" | "clustered", size: number, dimensions: number): Row[] {
  const vectors = dataset(kind, size, dimensions, kind === "random" ? 11 : 12);
  const index = new SemanticIndex(size, 3_600_000);
  const exact = new SemanticIndex(size, 3_600_000, { approximateAbove: Infinity });
  vectors.forEach((vector, entry) => {
    index.add("p", `e${entry}`, vector, 0);
    exact.add("p", `e${entry}`, vector, 0);
  });
  const rows: Row[] = [];
  for (const similarity of [0.95, 0.98]) {
    const random = seededRandom(Math.round(similarity * 100));
    const gauss = normal(random);
    const queries = size > 20_000 ? 150 : 400;
    const durations = new Float64Array(queries);
    let same = 0;
    for (let query = 0; query < queries; query++) {
      const vector = near(vectors[Math.floor(random() * size)]!, similarity, gauss);
      const expected = exact.search("p", vector, 0.9, 0);
      const started = performance.now();
      const match = index.search("p", vector, 0.9, 0);
      durations[query] = (performance.now() - started) * 1000;
      if (match?.id === expected?.id) same++;
    }
    rows.push(
      timedRow(SECTION, `semantic recall, ${kind}, near-duplicate at cosine ${similarity}, ${size.toLocaleString("en-US")} × ${dimensions}-d`, sample(durations), {
        note: `recall ${(same / queries).toFixed(3)} (${same}/${queries} same best match as the exact scan); times: these hits, each right after a 100k exact scan (cold CPU caches)`,
      }, "ms"),
    );
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
