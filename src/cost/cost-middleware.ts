import type { ChatResponse, Usage } from "../core/chat-response.js";
import { addUsd, computeCost } from "../core/cost.js";
import { estimateCompletionTokens, estimatePromptTokens } from "../core/token-estimate.js";
import type { Middleware } from "../core/compose.js";
import type { CallContext } from "../core/call-context.js";
import { whenSettled } from "../core/settle.js";

/**
 * Prices every served answer, innermost (just outside the router), so everything outside it
 * (budgets, the cache, the spend ledger) sees `ctx.costUsd` and `ctx.usage` when the call
 * settles: at once for a response, at the end of a stream (also a failed or abandoned one:
 * what was delivered is billed). Usage the provider did not send, or sent as nonsense, is
 * estimated from the request and the delivered text; a model without a known price costs 0.
 * Both mark the cost `costEstimated`. Always registered: ~1 µs per call.
 */
export function createCost(): Middleware<CallContext> {
  return async function cost(ctx, next) {
    await next();
    whenSettled(ctx, (settlement) => settleCost(ctx, settlement.response));
  };
}

function settleCost(ctx: CallContext, response: ChatResponse | undefined): void {
  let usage = response?.usage;
  let estimated = false;
  if (!usage || !isPlausible(usage)) {
    estimated = true;
    const prompt = ctx.promptTokenEstimate ?? estimatePromptTokens(ctx.request);
    const completion = response ? estimateCompletionTokens(response) : 0;
    usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }
  const price = ctx.served?.deployment.price;
  if (price) {
    const result = computeCost(usage, price);
    ctx.costUsd = result.usd;
    if (!result.sane) estimated = true;
  } else {
    ctx.costUsd = 0;
    estimated = true;
  }
  // Earlier cascade tiers, judge checks and a losing hedge were billed for this call too.
  if (ctx.extraCostUsd) ctx.costUsd = addUsd(ctx.costUsd, ctx.extraCostUsd);
  ctx.usage = usage;
  ctx.costEstimated = estimated;
}

/** Counts that can be billed: whole, non-negative, and a prompt of at least one token. */
function isPlausible(usage: Usage): boolean {
  const { prompt_tokens: prompt, completion_tokens: completion } = usage;
  return Number.isSafeInteger(prompt) && Number.isSafeInteger(completion) && prompt > 0 && completion >= 0;
}
