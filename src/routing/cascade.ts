import type { CallContext } from "../core/call-context.js";
import type { AcceptCheck, CascadeInfo, CascadeTier, CheckContext } from "../core/cascade-types.js";
import type { ChatResponse } from "../core/chat-response.js";
import { chatRequestSchema, type ChatRequest } from "../core/chat-request.js";
import { addUsd, computeCost } from "../core/cost.js";
import { GatewayError, InvalidRequestError } from "../core/errors.js";
import type { CascadeEvent, GatewayEvents } from "../core/events.js";
import { identityOf, withIdentity } from "../core/identity.js";
import { report } from "../core/report.js";
import type { Deployment, Route, RouteTable } from "../core/route.js";
import { replayChunks, responseToChunks } from "../core/stream-replay.js";

export interface CascadeOptions {
  table: RouteTable;
  events: GatewayEvents;
  /** The router's walk of one route (retries, cooldowns, fallbacks), for a tier or a judge. */
  routeOnce: (ctx: CallContext) => Promise<void>;
}

/**
 * `strategy: "cascade"`: the route's deployments are tiers, tried in order. Each tier runs as
 * a one-deployment route (so retries and cooldowns apply to it as to any route); its answer is
 * checked with `accept`, and a rejected or failed tier escalates to the next. The first accepted
 * answer is served; when none is, the last tier's answer is, with `accepted: false`. What the
 * earlier tiers (and judge checks) cost goes to `ctx.extraCostUsd`, so the cost step and the
 * spend ledger see one sum. A stream buffers every tier but the last: an accepted earlier
 * answer is replayed as chunks, the last tier streams live (it is not checked before the
 * caller sees it: there is no tier left to escalate to).
 */
export function createCascade(options: CascadeOptions): (ctx: CallContext) => Promise<void> {
  const { events, routeOnce } = options;

  return async function cascade(ctx: CallContext): Promise<void> {
    const accept = ctx.route.accept!;
    const tiers = ctx.route.deployments;
    const info: CascadeInfo = { accepted: false, tiers: [] };
    ctx.cascade = info;
    const checkContext = judgeContext(ctx, options);
    let lastError: GatewayError | undefined;
    let rejected: { response: ChatResponse; tierCtx: CallContext; tier: CascadeTier } | undefined;

    /** Serves one tier's answer; every other tier tried was billed for this call too. */
    const serve = (tierCtx: CallContext, tier: CascadeTier, response: ChatResponse | undefined): void => {
      info.accepted = tier.accepted;
      ctx.served = tierCtx.served;
      for (const other of info.tiers) if (other !== tier) ctx.extraCostUsd = addUsd(ctx.extraCostUsd ?? 0, other.costUsd);
      if (!response) ctx.chunks = tierCtx.chunks;
      else if (ctx.stream) ctx.chunks = replayChunks(responseToChunks(response));
      else ctx.response = response;
    };

    for (let index = 0; index < tiers.length; index++) {
      const deployment = tiers[index]!;
      const final = index === tiers.length - 1;
      const liveStream = final && ctx.stream;
      const tierCtx = tierContext(ctx, deployment, liveStream);
      const tier: CascadeTier = { deployment: deployment.id, accepted: false, costUsd: 0, latencyMs: 0 };
      info.tiers.push(tier);
      const startedAt = performance.now();
      try {
        await routeOnce(tierCtx);
      } catch (error) {
        tier.latencyMs = round(performance.now() - startedAt);
        // Abort, deadline and close end the whole cascade; a failed tier escalates.
        if (ctx.signal.aborted || !(error instanceof GatewayError)) throw error;
        lastError = error;
        tier.error = error.code;
        emit(events, ctx, { deployment: deployment.id, tier: index, accepted: false, error });
        continue;
      }
      tier.latencyMs = round(performance.now() - startedAt);

      if (liveStream) {
        // The live tier is not checked (no tier is left to escalate to); its cost is known
        // when its stream ends.
        serve(tierCtx, tier, undefined);
        ctx.settleTier = { tier, price: deployment.price };
        return;
      }

      const response = tierCtx.response!;
      tier.costUsd = costOf(response, deployment);
      tier.accepted = await check(accept, response, ctx, checkContext, deployment.id, index);
      if (tier.accepted || final) {
        serve(tierCtx, tier, response);
        return;
      }
      rejected = { response, tierCtx, tier };
    }
    // The last tier failed: an earlier answer, though rejected, beats an error the caller paid for.
    if (rejected) {
      serve(rejected.tierCtx, rejected.tier, rejected.response);
      return;
    }
    if (ctx.route.fallbacks.length === 0) throw lastError!;
    // No tier answered at all: the route's fallbacks are walked as any route's are (retries,
    // cooldowns, `fallback` events). Their answer is served unchecked (`accepted: false`): there
    // is nothing cheaper left to prefer, and a check on it could only turn an answer into an error.
    const fallbackCtx = fallbackContext(ctx);
    await routeOnce(fallbackCtx);
    ctx.served = fallbackCtx.served;
    if (fallbackCtx.chunks) ctx.chunks = fallbackCtx.chunks;
    else ctx.response = fallbackCtx.response;
  };

  async function check(
    accept: AcceptCheck,
    response: ChatResponse,
    ctx: CallContext,
    checkContext: CheckContext,
    deployment: string,
    tier: number,
  ): Promise<boolean> {
    try {
      const accepted = (await accept(response, ctx.request, checkContext)) === true;
      emit(events, ctx, { deployment, tier, accepted });
      return accepted;
    } catch (checkError) {
      if (ctx.signal.aborted) throw checkError;
      // A check that throws is a "no": the next tier answers, and the owner hears of it.
      emit(events, ctx, { deployment, tier, accepted: false, checkError });
      return false;
    }
  }
}

function emit(events: GatewayEvents, ctx: CallContext, verdict: Omit<CascadeEvent, keyof ReturnType<typeof identityOf>>): void {
  report(events, ctx, "cascade", () => withIdentity(ctx, verdict));
}

/** One tier as a route of its own: no fallbacks, and a plain (buffered) request unless it streams live. */
function tierContext(ctx: CallContext, deployment: Deployment, liveStream: boolean): CallContext {
  const route: Route = { name: ctx.route.name, deployments: [deployment], strategy: "ordered", fallbacks: [], fallbackOn: ctx.route.fallbackOn, cache: ctx.route.cache };
  return subCall(ctx, route, liveStream ? ctx.request : plainRequest(ctx.request), liveStream);
}

/** The route's fallbacks alone: a route with no deployments of its own, whose chain is the fallbacks. */
function fallbackContext(ctx: CallContext): CallContext {
  const route: Route = { name: ctx.route.name, deployments: [], strategy: "ordered", fallbacks: ctx.route.fallbacks, fallbackOn: ctx.route.fallbackOn, cache: ctx.route.cache };
  return subCall(ctx, route, ctx.stream ? ctx.request : plainRequest(ctx.request), ctx.stream);
}

/**
 * A call within the call: shares its signal, deadline, attempt list and trace (so each tier's
 * attempts show as spans of the one call), but has its own answer fields.
 */
export function subCall(ctx: CallContext, route: Route, request: ChatRequest, stream: boolean, signal?: AbortSignal): CallContext {
  const sub: CallContext = {
    request,
    // A signal of its own (a hedge's) must reach the attempt: the trier listens to `options.signal`'s call signal.
    options: signal ? { ...ctx.options, signal } : ctx.options,
    route,
    stream,
    signal: signal ?? ctx.signal,
    startedAt: ctx.startedAt,
    deadline: ctx.deadline,
    attempts: ctx.attempts,
    cache: ctx.cache,
    costUsd: 0,
    savedUsd: 0,
    ...(ctx.trace ? { trace: ctx.trace } : {}),
    ...(ctx.promptTokenEstimate !== undefined ? { promptTokenEstimate: ctx.promptTokenEstimate } : {}),
    ...(ctx.countPrompt ? { countPrompt: ctx.countPrompt } : {}),
  };
  // The gateway sets `abandonStream` on the outer call only once the stream is handed out.
  Object.defineProperty(sub, "abandonStream", { get: () => ctx.abandonStream, enumerable: false });
  return sub;
}

function plainRequest(request: ChatRequest): ChatRequest {
  if (request.stream === undefined && request.stream_options === undefined) return request;
  const { stream: _stream, stream_options: _options, ...plain } = request;
  return plain as ChatRequest;
}

function costOf(response: ChatResponse, deployment: Deployment): number {
  return response.usage && deployment.price ? computeCost(response.usage, deployment.price).usd : 0;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * What a check may ask: another logical model, routed like any call (retries, cooldowns), its
 * cost added to the checked call's.
 */
function judgeContext(ctx: CallContext, options: CascadeOptions): CheckContext {
  return {
    async chat(body) {
      const parsed = chatRequestSchema.safeParse({ messages: [], ...body, stream: false });
      if (!parsed.success) {
        throw new InvalidRequestError([{ path: "check.chat", message: parsed.error.issues[0]?.message ?? "invalid request" }], "A check's request is invalid:");
      }
      const route = options.table.resolve(parsed.data.model);
      if (!route || route.accept) {
        throw new InvalidRequestError([{ path: "check.chat.model", message: `'${parsed.data.model}' is not a declared model without a cascade` }]);
      }
      const sub = subCall(ctx, route, plainRequest(parsed.data), false);
      await options.routeOnce(sub);
      const response = sub.response!;
      ctx.extraCostUsd = addUsd(ctx.extraCostUsd ?? 0, costOf(response, sub.served!.deployment));
      return response;
    },
  };
}
