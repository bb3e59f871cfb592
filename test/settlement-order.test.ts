import { describe, expect, it } from "vitest";
import type { CallContext } from "../src/core/call-context.js";
import type { ChatChunk } from "../src/core/chat-chunk.js";
import type { ChatResponse } from "../src/core/chat-response.js";
import { compose, type Middleware } from "../src/core/compose.js";
import type { Deployment, Route } from "../src/core/route.js";
import { promptTokensOf, whenSettled, type PromptCounter, type Settlement } from "../src/core/settle.js";
import { createSpend } from "../src/spend/spend-middleware.js";
import type { SpendRecord } from "../src/spend/spend-record.js";
import { mockProvider } from "../src/testing.js";

// The end-of-call consumers (spend, budgets, TPM, cache, spans) each read the one outcome the
// call settles to; none computes it or reads what another wrote. So the order they are
// registered in cannot change what any of them sees.

const deployment: Deployment = {
  id: "p/x",
  provider: "p",
  adapter: mockProvider({ reply: "unused" }),
  model: "x",
  weight: 1,
  rpm: undefined,
  tpm: undefined,
  timeoutMs: undefined,
  contextWindow: undefined,
  maxOutputTokens: undefined,
  price: { input: 1, output: 2 },
};
const route: Route = { name: "m", deployments: [deployment], strategy: "ordered", fallbacks: [], cache: false, fallbackOn: [] };

const answer = (usage: boolean): ChatResponse => ({
  id: "r",
  object: "chat.completion",
  created: 1,
  model: "x",
  choices: [{ index: 0, message: { role: "assistant", content: "one two three", refusal: null }, finish_reason: "stop", logprobs: null }],
  ...(usage ? { usage: { prompt_tokens: 1_000, completion_tokens: 500, total_tokens: 1_500 } } : {}),
});

async function* chunksOf(usage: boolean): AsyncGenerator<ChatChunk> {
  const base = { id: "r", object: "chat.completion.chunk" as const, created: 1, model: "x" };
  yield { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "one two " }, finish_reason: null, logprobs: null }] };
  yield { ...base, choices: [{ index: 0, delta: { content: "three" }, finish_reason: "stop", logprobs: null }] };
  if (usage) yield { ...base, choices: [], usage: { prompt_tokens: 1_000, completion_tokens: 500, total_tokens: 1_500 } };
}

interface Seen {
  records: Omit<SpendRecord, "id" | "time">[];
  settlements: Settlement[];
  promptCounts: number;
}

async function runCall(order: readonly ("spend" | "budget" | "tpm")[], stream: boolean, usage: boolean): Promise<Seen> {
  const seen: Seen = { records: [], settlements: [], promptCounts: 0 };
  const spend = createSpend(undefined, () => 0, ({ id: _id, time: _time, ...record }) => seen.records.push(record));
  // Stand-ins for the budget and TPM settlement: each reads the outcome, and the prompt count.
  const reader: Middleware<CallContext> = async (ctx, next) => {
    await next();
    promptTokensOf(ctx);
    whenSettled(ctx, (settlement) => {
      promptTokensOf(ctx);
      seen.settlements.push(settlement);
    });
  };
  const steps = { spend: spend.middleware, budget: reader, tpm: reader };
  const countPrompt: PromptCounter = () => {
    seen.promptCounts++;
    return 40;
  };
  const run = compose(
    order.map((name) => steps[name]),
    async (ctx: CallContext) => {
      ctx.served = { route, deployment };
      if (stream) ctx.chunks = chunksOf(usage);
      else ctx.response = answer(usage);
    },
  );
  const ctx: CallContext = {
    request: { model: "m", messages: [{ role: "user", content: "hello there" }] },
    options: { key: "team" },
    route,
    stream,
    signal: new AbortController().signal,
    startedAt: 0,
    deadline: 60_000,
    attempts: [],
    cache: "miss",
    costUsd: 0,
    savedUsd: 0,
    countPrompt,
  };
  await run(ctx);
  if (stream) {
    for await (const _chunk of ctx.chunks!) {
      // read to the end: the call settles
    }
  }
  await spend.close();
  return seen;
}

const ORDERS = [
  ["spend", "budget", "tpm"],
  ["tpm", "budget", "spend"],
  ["budget", "spend", "tpm"],
] as const;

describe("settlement is one outcome, whatever order its consumers registered in", () => {
  for (const stream of [false, true]) {
    for (const usage of [true, false]) {
      it(`${stream ? "a stream" : "a response"} ${usage ? "with usage" : "without usage (estimated)"}`, async () => {
        const runs = await Promise.all(ORDERS.map((order) => runCall(order, stream, usage)));
        for (const seen of runs) {
          // Every consumer of a call got the same frozen outcome.
          expect(seen.settlements).toHaveLength(2);
          expect(seen.settlements[0]).toBe(seen.settlements[1]);
          expect(Object.isFrozen(seen.settlements[0])).toBe(true);
          // The prompt was counted once, however many read it.
          expect(seen.promptCounts).toBe(1);
          expect(seen.records).toHaveLength(1);
        }
        const first = runs[0]!;
        const outcome = first.settlements[0]!;
        if (usage) {
          expect(outcome.costUsd).toBe(0.002); // 1,000 x $1/M + 500 x $2/M
          expect(outcome.costEstimated).toBe(false);
          expect(outcome.usage).toMatchObject({ prompt_tokens: 1_000, completion_tokens: 500 });
        } else {
          expect(outcome.costEstimated).toBe(true);
          expect(outcome.usage?.prompt_tokens).toBe(40); // the one prompt count
          expect(outcome.costUsd).toBeGreaterThan(0);
        }
        expect(first.records[0]).toMatchObject({ costUsd: outcome.costUsd, inputTokens: outcome.usage!.prompt_tokens, deployment: "p/x" });
        for (const seen of runs.slice(1)) {
          expect(seen.records).toEqual(first.records);
          const { response: _r, ...rest } = seen.settlements[0]!;
          const { response: _f, ...firstRest } = outcome;
          expect(rest).toEqual(firstRest);
        }
      });
    }
  }
});
