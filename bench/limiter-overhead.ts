/**
 * What a limit check costs, to choose the limiter (issue 4): bottleneck's `schedule()` against
 * a bare call and against our token bucket (memoryStore), the prompt tokenizer against the
 * estimate, and `gateway.chat()` with throttling and budgets on versus off, as a ratio in one
 * run. Run: `npx tsx bench/limiter-overhead.ts` (~20 s).
 */
import Bottleneck from "bottleneck";
import { createGateway, memoryStore, type GatewayConfig } from "../src/index.js";
import { mockProvider } from "../src/testing.js";
import { estimateTextTokens } from "../src/core/token-estimate.js";
import { measureInterleaved, renderTable, timedRow, type Row } from "./stats.js";

const rows: Row[] = [];

// 1. One job through a limiter that never has to wait.
const bare = async (): Promise<number> => 1;
const unlimited = new Bottleneck();
const reservoir = new Bottleneck({ reservoir: 1e9, reservoirRefreshAmount: 1e9, reservoirRefreshInterval: 60_000 });
const store = memoryStore();
const draw = [{ key: "rpm:key:bench", amount: 1, capacity: 1e9, refillPerMs: 1e9 / 60_000 }];
const limiterRuns = await measureInterleaved(
  {
    bare: bare,
    "bottleneck schedule (no options)": { run: () => unlimited.schedule(bare), iterations: 300 },
    "bottleneck schedule (reservoir)": { run: () => reservoir.schedule(bare), iterations: 300 },
    "memoryStore.consumeTokens (awaited)": () => store.consumeTokens(draw, Date.now()),
  },
  { iterations: 20_000, warmup: 2_000, block: 100 },
);
for (const [name, run] of Object.entries(limiterRuns)) rows.push(timedRow("limiter, under its limit", name, run));
await reservoir.stop({ dropWaitingJobs: true });
await unlimited.stop({ dropWaitingJobs: true });

// 2. Prompt tokens for TPM: OpenAI's tokenizer against the estimate, on 2 KB of English.
const words = "The quick brown fox jumps over the lazy dog while the gateway counts tokens for budgets. ";
const prompt = words.repeat(Math.ceil(2048 / words.length)).slice(0, 2048);
const loadStarted = performance.now();
const tokenizer = (await import("gpt-tokenizer/encoding/o200k_base")) as { countTokens(text: string): number };
const loadMs = performance.now() - loadStarted;
let variant = 0;
const tokenRuns = await measureInterleaved(
  {
    "gpt-tokenizer o200k countTokens": async () => tokenizer.countTokens(prompt + (variant++ % 64)),
    estimateTextTokens: async () => estimateTextTokens(prompt + (variant++ % 64)),
  },
  { iterations: 5_000, warmup: 500 },
);
for (const [name, run] of Object.entries(tokenRuns)) rows.push(timedRow("2 KB prompt -> tokens", name, run));
rows.push({ section: "2 KB prompt -> tokens", name: "gpt-tokenizer import (once)", iterations: 1, unit: "ms", value: loadMs });

// 3. chat() with and without key/user RPM+TPM+budget and deployment RPM/TPM (never tripping).
const never = { rpm: 100_000_000, tpm: 1_000_000_000_000 };
const base: GatewayConfig = {
  providers: { p: mockProvider({ reply: "ok", usage: { prompt_tokens: 20, completion_tokens: 2 } }) },
  models: { m: { deployments: [{ provider: "p", model: "x" }] } },
  prices: { x: { input: 1, output: 2 } },
};
const limited: GatewayConfig = {
  ...base,
  models: { m: { deployments: [{ provider: "p", model: "x", ...never }] } },
  keys: { bench: { ...never, budget: { usd: 1e9, period: "month" } } },
  users: { ...never, budget: { usd: 1e9, period: "day" } },
};
const off = createGateway(base);
const on = createGateway(limited);
const body = { model: "m", messages: [{ role: "user" as const, content: "hello there" }], max_tokens: 16 };
const options = { key: "bench", user: "u42" };
const chatRuns = await measureInterleaved(
  {
    "chat(), limits off": () => off.chat(body, options),
    "chat(), key+user RPM/TPM/budget + deployment RPM/TPM": () => on.chat(body, options),
  },
  { iterations: 20_000, warmup: 2_000 },
);
const offRun = chatRuns["chat(), limits off"];
for (const [name, run] of Object.entries(chatRuns)) {
  rows.push(timedRow("gateway.chat() on a mock provider", name, run, { ratio: median(run.sorted) / median(offRun.sorted) }));
}
await off.close();
await on.close();

console.log(renderTable(rows));

function median(sorted: Float64Array): number {
  return sorted[Math.floor(sorted.length / 2)]!;
}
