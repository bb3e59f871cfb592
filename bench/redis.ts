/**
 * Redis store bench: what `redisStore` adds to each `gateway.chat()` against `memoryStore`,
 * with the same key and user limits (RPM, TPM and a budget: one token take and one budget
 * reservation on the call's path, the settlement after it), interleaved in one run, over
 * loopback to a redis-server this bench starts itself. Then the same gateway with Redis
 * killed (`onError: "open"`): what an outage costs a call once the link knows it is down.
 *
 * Standalone: `npx tsx bench/redis.ts [--quick]`; `benchRedis()` returns the rows for `npm run bench`.
 */
import { pathToFileURL } from "node:url";
import { createGateway, type ChatBody, type GatewayConfig } from "../src/index.js";
import { redisStore } from "../src/redis.js";
import { memoryStore } from "../src/stores/memory-store.js";
import { mockProvider } from "../src/testing.js";
import { startRedisServer } from "../test/fakes/redis-server.js";
import { measureInterleaved, renderTable, summarize, timedRow, type Row } from "./stats.js";

const SECTION = "redis";
/** Limits that never trip, so every call pays for the checks, never for a rejection. */
const NEVER_TRIPS = { rpm: 100_000_000, tpm: 1_000_000_000_000 };

function config(store: GatewayConfig["store"]): GatewayConfig {
  return {
    providers: { mock: mockProvider({ reply: "ok", usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 } }) },
    models: { bench: "mock/bench-model" },
    keys: { "bench-key": { ...NEVER_TRIPS, budget: { usd: 1_000_000, period: "month" } } },
    users: { ...NEVER_TRIPS, budget: { usd: 1_000_000, period: "day" } },
    prices: { "bench-model": { input: 2.5, output: 10 } },
    store,
  };
}

const body = (index: number): ChatBody => ({ model: "bench", max_tokens: 50, messages: [{ role: "user", content: `question ${index}` }] });
const options = { key: "bench-key", user: "u42" };

/** Rows: memory store, Redis store (and the added p50/p99), Redis store while Redis is down. */
export async function benchRedis(settings: { quick?: boolean } = {}): Promise<Row[]> {
  const iterations = settings.quick ? 1_000 : 5_000;
  const server = await startRedisServer();
  const store = redisStore({ url: server.url }, { prefix: "bench:" });
  const memory = createGateway(config(memoryStore()));
  const shared = createGateway(config(store));
  try {
    const runs = await measureInterleaved(
      {
        memory: { prepare: body, run: (request: ChatBody) => memory.chat(request, options) },
        redis: { prepare: body, run: (request: ChatBody) => shared.chat(request, options) },
      },
      { iterations, warmup: Math.ceil(iterations / 10), block: 250, maxMs: settings.quick ? 10_000 : 30_000 },
    );
    const base = summarize(runs.memory);
    const redis = summarize(runs.redis);
    const rows = [
      timedRow(SECTION, "chat(), limits + budgets on memoryStore (baseline)", runs.memory, { ratio: 1 }),
      timedRow(SECTION, "chat(), limits + budgets on redisStore (loopback)", runs.redis, {
        ratio: redis.p50 / base.p50,
        note: `added ${Math.round(redis.p50 - base.p50)} µs p50, ${Math.round(redis.p99 - base.p99)} µs p99`,
      }),
    ];

    await server.kill();
    await shared.chat(body(-1), options); // the first call finds out: one failed command at most
    const outage = await measureInterleaved(
      { down: { prepare: body, run: (request: ChatBody) => shared.chat(request, options) } },
      { iterations, warmup: 100, block: 250, maxMs: settings.quick ? 5_000 : 15_000 },
    );
    rows.push(
      timedRow(SECTION, 'chat() on redisStore, Redis killed (onError "open")', outage.down, {
        ratio: summarize(outage.down).p50 / base.p50,
        note: "counted locally; one call per second tries Redis",
      }),
    );
    return rows;
  } finally {
    await memory.close();
    await shared.close();
    await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchRedis({ quick: process.argv.includes("--quick") });
  console.log(renderTable(rows));
}
