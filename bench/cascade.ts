/**
 * `npm run bench:cascade`: a task set through a cascade (cheap -> mid -> top, accepted by a
 * check) and through the top tier alone, with simulated models of known quality and price.
 * Seeded: the same numbers every run. Models are mockProviders behind the real gateway, so the
 * cost is what the gateway billed (res.gateway.costUsd), not a formula.
 *
 *   cheap right 70% of the time, mid 90%, top 98%; each wrong answer is caught by the check
 *   (malformed, so validJson() rejects it) with probability `catchRate`, else it is plausible
 *   (valid JSON, wrong value) and slips through. Correct answers always pass the check.
 */
import { createGateway, type GatewayChatResponse } from "../src/index.js";
import { validJson } from "../src/checks.js";
import { mockProvider } from "../src/testing.js";
import type { ChatRequest } from "../src/core/chat-request.js";

const TASKS = Number(process.env.CASCADE_TASKS ?? 2_000);
const SEED = 19;
const usage = { prompt_tokens: 500, completion_tokens: 200, total_tokens: 700 };
// USD per 1M tokens, shaped like gpt-4o-mini / a mid model / gpt-4o.
const tiers = [
  { name: "cheap", quality: 0.7, price: { input: 0.15, output: 0.6 } },
  { name: "mid", quality: 0.9, price: { input: 1, output: 4 } },
  { name: "top", quality: 0.98, price: { input: 2.5, output: 10 } },
] as const;

/** A uniform number in [0, 1) from a seed and a few integers: the same input, the same draw. */
function draw(...parts: number[]): number {
  let h = SEED >>> 0;
  for (const part of parts) {
    h = Math.imul(h ^ part, 0x9e3779b1) >>> 0;
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
  }
  return (h >>> 0) / 2 ** 32;
}

function taskOf(request: ChatRequest): number {
  return Number(String(request.messages.at(-1)?.content).replace("task ", ""));
}
const rightAnswer = (task: number): string => JSON.stringify({ answer: task });

function simulatedModel(tier: number, catchRate: number) {
  return mockProvider({
    usage,
    reply: (request) => {
      const task = taskOf(request);
      if (draw(tier, task, 1) < tiers[tier]!.quality) return rightAnswer(task);
      // Wrong: mostly malformed (the check catches it), sometimes plausible (it does not).
      return draw(tier, task, 2) < catchRate ? `I think the answer is ${task + 1}` : JSON.stringify({ answer: task + 1 });
    },
  });
}

async function run(mode: "cascade" | "top", catchRate: number): Promise<{ costPerTask: number; passRate: number; perTier: number[] }> {
  const providers = Object.fromEntries(tiers.map((tier, index) => [tier.name, simulatedModel(index, catchRate)]));
  const deployments = tiers.map((tier) => ({ provider: tier.name, model: tier.name, price: tier.price }));
  const gateway = createGateway({
    providers,
    models: {
      answer: mode === "cascade" ? { strategy: "cascade", deployments, accept: validJson() } : { deployments: [deployments[2]!] },
    },
  });
  let cost = 0;
  let passed = 0;
  const perTier = [0, 0, 0];
  for (let task = 0; task < TASKS; task++) {
    const res = (await gateway.chat({ model: "answer", messages: [{ role: "user", content: `task ${task}` }] })) as GatewayChatResponse;
    cost += res.gateway.costUsd;
    if (res.choices[0]!.message.content === rightAnswer(task)) passed++;
    perTier[tiers.findIndex((tier) => tier.name === res.gateway.provider)]!++;
  }
  await gateway.close();
  return { costPerTask: cost / TASKS, passRate: passed / TASKS, perTier };
}

const usd = (value: number): string => `$${(value * 1000).toFixed(4)}`;
const pct = (value: number): string => `${(value * 100).toFixed(1)}%`;

console.log(`cascade bench: ${TASKS} tasks, seed ${SEED}; cheap/mid/top right ${tiers.map((t) => pct(t.quality)).join("/")}; cost per 1k tasks`);
console.log("| check catches | setup | cost per 1k tasks | pass rate | served by cheap/mid/top | saved vs top | pass vs top |");
console.log("|---|---|---|---|---|---|---|");
for (const catchRate of [0.9, 0.95, 0.99]) {
  const top = await run("top", catchRate);
  const cascade = await run("cascade", catchRate);
  const saved = 1 - cascade.costPerTask / top.costPerTask;
  const points = (cascade.passRate - top.passRate) * 100;
  const caught = pct(catchRate);
  console.log(`| ${caught} of wrong answers | top tier alone | ${usd(top.costPerTask)} | ${pct(top.passRate)} | ${top.perTier.join("/")} | - | - |`);
  console.log(
    `| ${caught} of wrong answers | cascade | ${usd(cascade.costPerTask)} | ${pct(cascade.passRate)} | ${cascade.perTier.join("/")} | ${pct(saved)} | ${points >= 0 ? "+" : ""}${points.toFixed(1)} pts |`,
  );
}
