import type { ChatRequest } from "../core/chat-request.js";
import { embeddingAsChat, toEmbeddingResponse, type EmbeddingCall } from "../core/embedding-request.js";
import type { GatewayChatResponse, GatewayInfo } from "../core/chat-response.js";
import { echo, echoList } from "../core/echo.js";
import { AbortError, GatewayClosedError, GatewayError, InvalidRequestError } from "../core/errors.js";
import type { Route, RouteTable } from "../core/route.js";
import { whenSettled, settlementAccumulatorOf } from "../core/settle.js";
import type { CallContext, ChatOptions } from "../core/call-context.js";
import type { Pipeline } from "./build-pipeline.js";
import { ChatStream } from "./chat-stream.js";
import type { ChatBody, EmbeddingBody, GatewayEmbeddingResponse } from "./gateway-types.js";
import type { KeyAdmission } from "./key-admission.js";
import { parseEmbeddingRequest, parseOptions, parseRequest } from "./parse-call.js";

/**
 * The per-call runtime behind `gateway.chat()` and `gateway.embed()`: parses the call, checks its
 * model and key, links the caller's signal, builds its `CallContext`, runs the pipeline, and
 * hands back the answer with `.gateway` (or a `ChatStream`). A class, so a call allocates no
 * closures of its own beyond what it needs (an abort link, a stream's info getter).
 */
export class CallRuntime {
  /** Calls that carry a caller's signal, so `close()` reaches them without a listener each. */
  private readonly linkedCalls = new Set<AbortController>();
  private readonly table: RouteTable;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly keys: KeyAdmission,
    /** Configured provider names, for the unknown-model message. */
    private readonly providerNames: readonly string[],
  ) {
    this.table = pipeline.table;
  }

  async chat(body: ChatBody, options?: ChatOptions): Promise<GatewayChatResponse | ChatStream> {
    if (this.pipeline.closeSignal.aborted) throw new GatewayClosedError();
    const startedAt = performance.now();
    const request = parseRequest(body);
    const callOptions = parseOptions(options);
    const route = this.routeOf(request);
    const admitting = this.admitKey(callOptions.key);
    if (admitting) await admitting;
    const link = callOptions.signal ? this.link(callOptions.signal) : undefined;
    const unlink = link?.unlink;
    const ctx = this.contextOf(request, callOptions, route, startedAt, link?.signal ?? this.pipeline.closeSignal, undefined);
    try {
      await this.pipeline.run(ctx);
    } catch (error) {
      unlink?.();
      throw error;
    }
    if (ctx.chunks) {
      if (unlink) whenSettled(ctx, unlink);
      const chunks = ctx.chunks;
      // The call's settlement tap already assembles every chunk the stream hands out: reuse it.
      const stream = new ChatStream(chunks[Symbol.asyncIterator](), () => gatewayInfo(ctx), settlementAccumulatorOf(chunks));
      ctx.abandonStream = (reason) => void stream.abort(reason);
      return stream;
    }
    unlink?.();
    if (!ctx.response) throw new Error("modelgate: the pipeline finished without a response (a middleware bug)");
    // Copied, not `{ ...response, gateway }`: V8 builds a spread-then-extended object on a slow
    // path (measured 2.8-3.5 µs a call against 0.46 µs). Same keys, same order.
    const answer = Object.assign({}, ctx.response) as GatewayChatResponse;
    answer.gateway = gatewayInfo(ctx);
    return answer;
  }

  async embed(body: EmbeddingBody, options?: ChatOptions): Promise<GatewayEmbeddingResponse> {
    if (this.pipeline.closeSignal.aborted) throw new GatewayClosedError();
    const startedAt = performance.now();
    const call = parseEmbeddingRequest(body);
    const callOptions = parseOptions(options);
    const request = embeddingAsChat(call);
    const route = this.routeOf(request, call);
    const admitting = this.admitKey(callOptions.key);
    if (admitting) await admitting;
    const link = callOptions.signal ? this.link(callOptions.signal) : undefined;
    const ctx = this.contextOf(request, callOptions, route, startedAt, link?.signal ?? this.pipeline.closeSignal, call);
    try {
      await this.pipeline.run(ctx);
    } finally {
      link?.unlink();
    }
    if (!ctx.embeddings) throw new Error("modelgate: the pipeline finished without embeddings (a middleware bug)");
    return { ...toEmbeddingResponse(ctx.embeddings, call.request.encoding_format), gateway: gatewayInfo(ctx) };
  }

  /** Aborts every call in flight (those with a caller's signal too), then closes the pipeline. */
  async close(): Promise<void> {
    if (this.pipeline.closeSignal.aborted) return;
    const closed = new GatewayClosedError();
    this.pipeline.abort(closed);
    for (const controller of this.linkedCalls) controller.abort(closed);
    await this.pipeline.close();
  }

  /** The route a call names: `InvalidRequestError` for an unknown one, or a cascade asked for embeddings. */
  private routeOf(request: ChatRequest, embedding?: EmbeddingCall): Route {
    const route = this.table.resolve(request.model);
    if (!route) throw unknownModel(request.model, this.table, this.providerNames);
    if (embedding && route.accept) {
      throw new InvalidRequestError(
        [{ path: "model", message: `'${echo(request.model)}' is a cascade route, which judges generated text: name an embedding model's route` }],
        "Invalid embeddings request:",
      );
    }
    return route;
  }

  /**
   * Before anything records the key (spans, events): an unknown one may be a pasted secret.
   * Waits only for a key not known yet (runtime keys still loading); a known one costs no await.
   */
  private admitKey(key: string | undefined): Promise<void> | undefined {
    if (key === undefined || this.keys.admits(key)) return undefined;
    return this.keys.admitOnceLoaded(key);
  }

  /**
   * A call's own signal, following the caller's: `unlink` detaches it once the call is over.
   * Not AbortSignal.any: on Node 20 each one stays attached to the long-lived close signal
   * (nodejs/node#55351), a leak per call. One controller per call that has a signal instead.
   */
  private link(callerSignal: AbortSignal): { signal: AbortSignal; unlink: () => void } {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(callerSignal.reason instanceof GatewayError ? callerSignal.reason : new AbortError());
    if (callerSignal.aborted) onAbort();
    else callerSignal.addEventListener("abort", onAbort, { once: true });
    const linkedCalls = this.linkedCalls;
    linkedCalls.add(controller);
    return {
      signal: controller.signal,
      unlink: () => {
        callerSignal.removeEventListener("abort", onAbort);
        linkedCalls.delete(controller);
      },
    };
  }

  /**
   * The call's context. Every field middleware may set later is declared here, so each call's
   * context has one shape from the start (a literal of fixed fields, no spread): V8 keeps the
   * properties in the object and the middleware's reads and writes monomorphic.
   */
  private contextOf(
    request: ChatRequest,
    callOptions: ChatOptions,
    route: Route,
    startedAt: number,
    signal: AbortSignal,
    embedding: EmbeddingCall | undefined,
  ): CallContext {
    return {
      request,
      embedding,
      embeddings: undefined,
      options: callOptions,
      route,
      stream: request.stream === true,
      signal,
      startedAt,
      deadline: startedAt + (callOptions.deadlineMs ?? this.pipeline.deadlineMs),
      response: undefined,
      chunks: undefined,
      settlement: undefined,
      served: undefined,
      attempts: [],
      cache: "miss",
      costUsd: 0,
      savedUsd: 0,
      abandonStream: undefined,
      extraCostUsd: undefined,
      reserveExtraUsd: undefined,
      cascade: undefined,
      promptTokenEstimate: undefined,
      countPrompt: this.pipeline.countPrompt,
      settled: undefined,
      settleTier: undefined,
      usage: undefined,
      costEstimated: undefined,
      trace: undefined,
    };
  }
}

/** What the gateway did for a call, attached to its answer as `.gateway`. */
function gatewayInfo(ctx: CallContext): GatewayInfo {
  const served = ctx.served;
  // A literal, then `cascade` only when set: a spread in a literal takes V8's slow path.
  const info: GatewayInfo = {
    provider: served?.deployment.provider ?? "",
    deployment: served?.deployment.id ?? "",
    model: served?.deployment.model ?? "",
    route: served?.route.name ?? ctx.route.name,
    attempts: ctx.attempts,
    cache: ctx.cache,
    costUsd: ctx.costUsd,
    savedUsd: ctx.savedUsd,
    latencyMs: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
  };
  if (ctx.cascade) info.cascade = ctx.cascade;
  return info;
}

/** Providers are few; the cap keeps the message short however many are configured. */
const MAX_CHOICES_SHOWN = 8;

function unknownModel(model: string, table: RouteTable, providers: readonly string[]): InvalidRequestError {
  const choices = table.servedBy?.(model) ?? [];
  if (choices.length > 1) {
    return new InvalidRequestError([
      {
        path: "model",
        message: `'${echo(model)}' is served by more than one configured provider: name one (${choices
          .slice(0, MAX_CHOICES_SHOWN)
          .map((choice) => `'${echo(choice)}'`)
          .join(" or ")}) or declare it in models`,
      },
    ]);
  }
  const declared = [...table.routes.keys()];
  return new InvalidRequestError([
    {
      path: "model",
      message: `'${echo(model)}' is not a declared model (have: ${echoList(declared) || "none"}), a model a configured provider's catalog lists, nor 'provider/model' with a configured provider (have: ${echoList(providers)})`,
    },
  ]);
}
