import type { ChatChunk } from "./chat-chunk.js";
import type { CacheOutcome, CascadeTier, ChatResponse, Usage } from "./chat-response.js";
import { ChunkAccumulator } from "./chunk-accumulator.js";
import { addUsd, computeCost } from "./cost.js";
import type { Deployment, Price, Route } from "./route.js";
import { EndOnceStream, type StreamEnd } from "./stream-end.js";
import { estimateCompletionTokens, estimatePromptTokens } from "./token-estimate.js";
import type { ChatRequest } from "./chat-request.js";

/**
 * How a call ended, computed once per call (`settleCall`) and handed, frozen, to every
 * middleware that acts at the end (budgets, TPM, spend, cache, spans). No consumer computes any
 * of it or reads another's result, so the order consumers registered in cannot change what any
 * of them sees.
 */
export interface Settlement {
  /** The full answer: the response, or a stream's chunks assembled. Absent when nothing arrived. */
  readonly response?: ChatResponse;
  /** Set when the call or its stream failed. */
  readonly error?: unknown;
  /** A stream the consumer stopped early: `response` holds what was delivered. */
  readonly abandoned: boolean;
  /**
   * The usage `costUsd` was computed from: the provider's, or an estimate when it sent none that
   * made sense (`costEstimated`). Absent for a cache hit (nothing was billed).
   */
  readonly usage?: Usage;
  /**
   * What the call cost: the served answer priced, plus earlier cascade tiers, checks, lost hedges
   * and the semantic lookup's embedding. A cache hit costs only that embedding (an exact hit, 0).
   */
  readonly costUsd: number;
  /** True when `usage` is an estimate or the served model has no known price (cost then 0). */
  readonly costEstimated: boolean;
  readonly cache: CacheOutcome;
  /** What a cache hit saved. */
  readonly savedUsd: number;
  readonly served?: { readonly route: Route; readonly deployment: Deployment };
}

/**
 * The gateway's one way to count a call's prompt tokens (the estimate, or OpenAI's tokenizer where
 * a TPM limit makes precision worth it), run once per call by `promptTokensOf`.
 */
export type PromptCounter = (request: ChatRequest, route: Route, who: { readonly key?: string; readonly user?: string }) => number;

type OnSettled = (settlement: Settlement) => void;

/** How the call's answer arrived, before it is priced. */
interface CallEnd {
  response?: ChatResponse;
  error?: unknown;
  abandoned: boolean;
}

/**
 * The part of a call's context settlement reads and owns (a `CallContext` is one). Named here so
 * this file needs nothing from call-context.ts, which names `SettlementTap`.
 */
export interface SettlementHost {
  readonly request: ChatRequest;
  response?: ChatResponse;
  chunks?: AsyncIterable<ChatChunk>;
  settlement?: SettlementTap;
  /** The call's one outcome, once computed. */
  settled?: Settlement;
  served?: { route: Route; deployment: Deployment };
  cache: CacheOutcome;
  savedUsd: number;
  costUsd: number;
  usage?: Usage;
  costEstimated?: boolean;
  extraCostUsd?: number;
  promptTokenEstimate?: number;
  readonly route: Route;
  readonly options: { readonly key?: string; readonly user?: string };
  countPrompt?: PromptCounter;
  settleTier?: { readonly tier: CascadeTier; readonly price?: Price };
}

/**
 * Runs `onSettled` once when the call is over, with the call's one outcome: at once for a plain
 * response; for a stream, when it ends, fails or is abandoned by the consumer. Call it after
 * `await next()` resolved; errors thrown by `next()` are the caller's to handle.
 *
 * A stream is tapped once per call, however many middleware wait on its end: the first call
 * wraps `ctx.chunks` in a {@link SettlementTap} (one accumulator, one async hop per chunk) and
 * later calls add their callback to it. A middleware that replaced `ctx.chunks` after a callback
 * was registered gets a fresh tap around its chunks, and the registered callbacks move to it:
 * the tap is always the outermost layer the caller reads.
 */
export function whenSettled(ctx: SettlementHost, onSettled: OnSettled): void {
  const chunks = ctx.chunks;
  if (!chunks) {
    onSettled(settleCall(ctx, { response: ctx.response, abandoned: false }));
    return;
  }
  if (chunks instanceof SettlementTap && !chunks.detached) {
    chunks.callbacks.push(onSettled);
    return;
  }
  const tap = new SettlementTap(chunks, ctx);
  const previous = ctx.settlement;
  if (previous && previous !== tap) tap.adopt(previous);
  tap.callbacks.push(onSettled);
  ctx.settlement = tap;
  ctx.chunks = tap;
}

/**
 * The call's outcome, computed the first time it is asked for and the same frozen object after:
 * the answer priced (usage estimated when the provider sent none that made sense; a model
 * without a known price costs 0, both marked `costEstimated`), cache hits billed nothing. Also
 * mirrored onto the context (`costUsd`, `usage`, `costEstimated`) for `res.gateway`.
 */
export function settleCall(ctx: SettlementHost, end: CallEnd): Settlement {
  if (ctx.settled) return ctx.settled;
  const hit = ctx.cache === "exact" || ctx.cache === "semantic";
  let usage: Usage | undefined;
  // A hit generated nothing; a semantic hit still paid its lookup's embedding (`extraCostUsd`).
  let costUsd = hit ? (ctx.extraCostUsd ?? 0) : 0;
  let costEstimated = false;
  if (hit) ctx.costUsd = costUsd;
  else {
    ({ usage, costUsd, costEstimated } = priceAnswer(ctx, end.response));
    // The live tier of a cascade stream is priced when its stream ends, like the call.
    const pending = ctx.settleTier;
    const reported = end.response?.usage;
    if (pending && reported && pending.price) pending.tier.costUsd = computeCost(reported, pending.price).usd;
    ctx.costUsd = costUsd;
    ctx.usage = usage;
    ctx.costEstimated = costEstimated;
  }
  // A literal of one shape, not `{ ...end, ... }`: V8 builds a spread-then-extended object on a
  // slow path (measured 11-14 µs against 0.13 µs, on every call).
  const settled: Settlement = Object.freeze({
    response: end.response,
    error: end.error,
    abandoned: end.abandoned,
    usage,
    costUsd,
    costEstimated,
    cache: ctx.cache,
    savedUsd: ctx.savedUsd,
    served: ctx.served,
  });
  ctx.settled = settled;
  return settled;
}

/**
 * The outcome of a call that threw before any answer: no usage, and a cost of only what it had
 * already paid on the way (a semantic lookup's embedding, earlier cascade tiers, judge checks),
 * so budgets settle to that and the ledger records it, rather than the money going unrecorded.
 * The same first-computed, frozen outcome as `settleCall`.
 */
export function settleFailedCall(ctx: SettlementHost, error: unknown): Settlement {
  if (ctx.settled) return ctx.settled;
  const costUsd = ctx.extraCostUsd ?? 0;
  ctx.costUsd = costUsd;
  const settled: Settlement = Object.freeze({
    response: undefined,
    error,
    abandoned: false,
    usage: undefined,
    costUsd,
    costEstimated: false,
    cache: ctx.cache,
    savedUsd: 0,
    served: ctx.served,
  });
  ctx.settled = settled;
  return settled;
}

function priceAnswer(ctx: SettlementHost, response: ChatResponse | undefined): { usage: Usage; costUsd: number; costEstimated: boolean } {
  let usage = response?.usage;
  let estimated = false;
  if (!usage || !isPlausible(usage)) {
    estimated = true;
    const prompt = promptTokensOf(ctx);
    const completion = response ? estimateCompletionTokens(response) : 0;
    usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }
  let costUsd = 0;
  const price = ctx.served?.deployment.price;
  if (price) {
    const result = computeCost(usage, price);
    costUsd = result.usd;
    if (!result.sane) estimated = true;
  } else {
    estimated = true;
  }
  // Earlier cascade tiers, judge checks and a losing hedge were billed for this call too.
  if (ctx.extraCostUsd) costUsd = addUsd(costUsd, ctx.extraCostUsd);
  return { usage, costUsd, costEstimated: estimated };
}

/**
 * The call's prompt-token count: counted once, the first time anyone needs it (context-window
 * checks, TPM reservations, an estimated cost), by the gateway's counter (`countPrompt`), and
 * the same number for every reader after.
 */
export function promptTokensOf(ctx: SettlementHost): number {
  if (ctx.promptTokenEstimate === undefined) {
    const count = ctx.countPrompt;
    ctx.promptTokenEstimate = count ? count(ctx.request, ctx.route, ctx.options) : estimatePromptTokens(ctx.request);
  }
  return ctx.promptTokenEstimate;
}

/** Counts that can be billed: whole, non-negative, and a prompt of at least one token. */
function isPlausible(usage: Usage): boolean {
  const { prompt_tokens: prompt, completion_tokens: completion } = usage;
  return Number.isSafeInteger(prompt) && Number.isSafeInteger(completion) && prompt > 0 && completion >= 0;
}

/**
 * The stream's assembled chunks so far, when `chunks` is the call's settlement tap (for
 * `ChatStream`, so the answer is assembled once per call); undefined otherwise.
 * @internal
 */
export function settlementAccumulatorOf(chunks: AsyncIterable<ChatChunk>): ChunkAccumulator | undefined {
  return chunks instanceof SettlementTap && !chunks.detached ? chunks.accumulator : undefined;
}

/**
 * The one tap on a call's stream: assembles what passes (for settlement and `ChatStream`) and,
 * once the stream ends, fails or is abandoned (`EndOnceStream`), settles the call and hands the
 * outcome to its callbacks.
 * @internal
 */
export class SettlementTap extends EndOnceStream<ChatChunk> {
  /** Run once, in order, when the stream ends, fails or is abandoned. */
  callbacks: OnSettled[] = [];
  readonly accumulator = new ChunkAccumulator();
  /** True once its callbacks moved to an outer tap: it only passes chunks through then. */
  detached = false;

  constructor(
    chunks: AsyncIterable<ChatChunk>,
    private readonly host: SettlementHost,
  ) {
    super(chunks);
  }

  /** Takes over an earlier tap's callbacks (its chunks were replaced or wrapped). */
  adopt(earlier: SettlementTap): void {
    if (earlier.ended) return;
    this.callbacks = earlier.callbacks;
    earlier.callbacks = [];
    earlier.detached = true;
  }

  protected override onItem(chunk: ChatChunk): void {
    this.accumulator.add(chunk);
  }

  protected override onEnd(end: StreamEnd): void {
    // A detached tap's chunks go on to the outer tap, which settles the call from what it saw.
    if (this.detached) return;
    if (end.kind === "done") this.settle({ response: this.accumulator.toResponse(), abandoned: false });
    else if (end.kind === "failed") this.settle({ response: this.partial(), error: end.error, abandoned: false });
    else this.settle({ response: this.partial(), abandoned: true });
  }

  private partial(): ChatResponse | undefined {
    return this.accumulator.hasContent ? this.accumulator.toResponse() : undefined;
  }

  /**
   * Settles the call once and hands the outcome to every callback. One that throws does not keep
   * the others from running (their reservations must still be released); the first such error
   * is rethrown afterwards.
   */
  private settle(end: CallEnd): void {
    const callbacks = this.callbacks;
    this.callbacks = [];
    if (callbacks.length === 0) return;
    const settlement = settleCall(this.host, end);
    let failed = false;
    let failure: unknown;
    for (const onSettled of callbacks) {
      try {
        onSettled(settlement);
      } catch (error) {
        if (!failed) {
          failed = true;
          failure = error;
        }
      }
    }
    if (failed) throw failure;
  }
}
