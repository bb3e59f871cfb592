/**
 * `npm run bench:hedge`: tail latency with and without hedging. A route of two mock deployments:
 * the first answers in 5 ms, except a seeded 10% of calls that take 200 ms; the second always
 * answers in 5 ms. Each setup gets its own gateway and providers, and the setups are interleaved
 * call by call (call i of every setup, then call i + 1), so a busy moment of the machine hits
 * them all alike. The slow calls are the same call numbers for every setup.
 *
 * Latency is the wall time of `gateway.chat()` over in-process mock providers (timers, no
 * network): it measures the gateway's hedging, not a real provider's tail.
 */
import { createGateway, type AdapterContext, type ProviderAdapter } from "../src/index.js";
import { mockProvider } from "../src/testing.js";
import { sleep } from "../src/core/abortable.js";
import type { ChatRequest } from "../src/core/chat-request.js";

const CALLS = Number(process.env.HEDGE_CALLS ?? 400);
const SEED = 19;
const SLOW_SHARE = 0.1;
const SLOW_MS = 200;
const FAST_MS = 5;

/** A uniform number in [0, 1) from the seed and a call number. */
function draw(call: number): number {
  let h = Math.imul(SEED ^ call, 0x9e3779b1) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return (h >>> 0) / 2 ** 32;
}

/** A mock whose n-th call waits `delayOf(n)` ms first (abortable, as a hedge's loser is aborted). */
function timedProvider(delayOf: (call: number) => number): ProviderAdapter & { readonly calls: number } {
  const inner = mockProvider({ reply: "ok", usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } });
  let calls = 0;
  return {
    name: "mock",
    get calls() {
      return calls;
    },
    async chat(request: ChatRequest, ctx: AdapterContext) {
      await sleep(delayOf(calls++), ctx.signal);
      return inner.chat(request, ctx);
    },
    stream: (request: ChatRequest, ctx: AdapterContext) => inner.stream(request, ctx),
  };
}

type Hedge = { afterMs: number; budgetPercent?: number } | { afterPercentile: number; budgetPercent?: number } | undefined;
const setups: { label: string; hedge: Hedge }[] = [
  { label: "no hedge", hedge: undefined },
  { label: "hedge { afterMs: 50 } (budget 10%)", hedge: { afterMs: 50 } },
  { label: "hedge { afterMs: 50, budgetPercent: 20 }", hedge: { afterMs: 50, budgetPercent: 20 } },
  { label: "hedge { afterPercentile: 95 } (budget 10%)", hedge: { afterPercentile: 95 } },
  { label: "hedge { afterPercentile: 85 } (budget 10%)", hedge: { afterPercentile: 85 } },
];

const runs = setups.map(({ label, hedge }) => {
  const slow = timedProvider((call) => (draw(call) < SLOW_SHARE ? SLOW_MS : FAST_MS));
  const fast = timedProvider(() => FAST_MS);
  const gateway = createGateway({
    providers: { slow, fast },
    retry: { retries: 0 },
    models: { complete: { deployments: ["slow/a", "fast/b"], ...(hedge ? { hedge } : {}) } },
  });
  return { label, slow, fast, gateway, latencies: [] as number[] };
});

for (let call = 0; call < CALLS; call++) {
  for (const run of runs) {
    const startedAt = performance.now();
    await run.gateway.chat({ model: "complete", messages: [{ role: "user", content: `call ${call}` }] });
    run.latencies.push(performance.now() - startedAt);
  }
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const slowCalls = Array.from({ length: CALLS }, (_, call) => draw(call) < SLOW_SHARE).filter(Boolean).length;
console.log(`hedge bench: ${CALLS} calls per setup, interleaved; first deployment ${SLOW_MS} ms on ${slowCalls} seeded calls, else ${FAST_MS} ms; second ${FAST_MS} ms`);
console.log("| setup | p50 | p99 | requests per call | hedged | hedge won | refused by budget |");
console.log("|---|---|---|---|---|---|---|");
for (const run of runs) {
  const sorted = [...run.latencies].sort((a, b) => a - b);
  const stats = run.gateway.stats().hedge?.["complete"];
  const requests = (run.slow.calls + run.fast.calls) / CALLS;
  console.log(
    `| ${run.label} | ${percentile(sorted, 50).toFixed(1)} ms | ${percentile(sorted, 99).toFixed(1)} ms | ${requests.toFixed(3)} | ${stats?.hedged ?? 0} | ${stats?.hedgeWon ?? 0} | ${stats?.overBudget ?? 0} |`,
  );
  await run.gateway.close();
}
