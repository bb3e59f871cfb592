import { SpanKind, type Attributes, type Context, type Span } from "@opentelemetry/api";
import type { CacheOutcome, ChatResponse } from "../core/chat-response.js";
import { BudgetExceededError, GatewayError, RateLimitError } from "../core/errors.js";
import type { GatewayEventMap, GatewayEvents } from "../core/events.js";
import type { CallContext, CallTrace, CallTraceEventName } from "../core/call-context.js";
import { withIdentity } from "../core/identity.js";
import { report } from "../core/report.js";
import type { Settlement } from "../core/settle.js";
import { errorType, requestAttributes, responseAttributes } from "./attributes.js";
import type { AttemptSpan } from "./attempt-span.js";
import { inputMessagesJson, legacyCompletionJson, legacyPromptJson, outputMessagesJson } from "./content.js";
import { EMBEDDINGS_OPERATION, OPERATION, type GatewayTelemetry } from "./gateway-telemetry.js";
import { contextWith } from "./context-with.js";
import { recordError } from "./record-error.js";
import {
  EVENT_BUDGET_REJECT,
  EVENT_CACHE_HIT,
  EVENT_COOLDOWN,
  EVENT_FALLBACK,
  EVENT_LIMIT_SKIP,
  EVENT_RATE_LIMIT_REJECT,
  EVENT_RETRY,
  EVENT_THROTTLE,
  ERROR_TYPE,
  GEN_AI_COMPLETION,
  GEN_AI_CONTENT_COMPLETION_EVENT,
  GEN_AI_CONTENT_PROMPT_EVENT,
  GEN_AI_INPUT_MESSAGES,
  GEN_AI_OPERATION_NAME,
  GEN_AI_OUTPUT_MESSAGES,
  GEN_AI_PROMPT,
  GEN_AI_REQUEST_MODEL,
  GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  MODELGATE_ABANDONED,
  MODELGATE_ATTEMPT,
  MODELGATE_ATTEMPTS,
  MODELGATE_BUDGET_LIMIT_USD,
  MODELGATE_BUDGET_SPENT_USD,
  MODELGATE_CACHE,
  MODELGATE_COOLDOWN_DURATION_MS,
  MODELGATE_COOLDOWN_REASON,
  MODELGATE_COST_ESTIMATED,
  MODELGATE_COST_USD,
  MODELGATE_DEPLOYMENT,
  MODELGATE_FALLBACK,
  MODELGATE_FALLBACK_FROM,
  MODELGATE_FALLBACK_TO,
  MODELGATE_KEY,
  MODELGATE_LIMIT_KIND,
  MODELGATE_LIMIT_SCOPE,
  MODELGATE_LIMIT_WAIT_MS,
  MODELGATE_OUTCOME,
  MODELGATE_RETRY_AFTER_MS,
  MODELGATE_RETRY_DELAY_MS,
  MODELGATE_ROUTE,
  MODELGATE_SAVED_USD,
  MODELGATE_USER,
  SERVER_ADDRESS,
} from "./semconv.js";

/** How a call ended, as `modelgate.requests` counts it. */
type Outcome = "success" | "cache_hit" | "abandoned" | "error";

/**
 * The telemetry of one `chat()` call: its INTERNAL span, the marks other middleware leave on
 * it through `ctx.trace`, the `modelgate.*` counts and the `request` / `response` / `error`
 * events. Span work is skipped when the span does not record (no SDK, or sampled out);
 * metrics and events do not depend on sampling.
 */
export class CallRecorder implements CallTrace {
  readonly span: Span;
  /** The caller's context with the call span active: attempt spans start under it. */
  readonly context: Context;
  private readonly recording: boolean;
  private requestAttributesOnce: Attributes | undefined;
  private inputContentOnce: string | undefined;
  /** A served stream's attempt, ended when the stream is over. */
  private streamingAttempt: AttemptSpan | undefined;
  private cacheMarked = false;
  private rejectionMarked = false;
  private ended = false;

  constructor(
    private readonly telemetry: GatewayTelemetry,
    private readonly events: GatewayEvents,
    private readonly ctx: CallContext,
    parent: Context,
  ) {
    const model = ctx.request.model;
    // OTel GenAI names an embeddings call's operation `embeddings`.
    const operation = ctx.embedding ? EMBEDDINGS_OPERATION : OPERATION;
    const attributes: Attributes = { [GEN_AI_OPERATION_NAME]: operation, [GEN_AI_REQUEST_MODEL]: model };
    // Who the call is for, at start: a sampler may keep every call of one key.
    if (ctx.options.key !== undefined) attributes[MODELGATE_KEY] = ctx.options.key;
    if (ctx.options.user !== undefined) attributes[MODELGATE_USER] = ctx.options.user;
    this.span = telemetry.tracer.startSpan(`${operation} ${model}`, { kind: SpanKind.INTERNAL, attributes }, parent);
    this.context = contextWith(parent, this.span);
    this.recording = this.span.isRecording();
  }

  /** `CallTrace`: a mark left by the router, limits or cache. */
  event<Name extends CallTraceEventName>(name: Name, payload: GatewayEventMap[Name]): void {
    // Remembered even when not recording, so the span's closing marks never repeat these.
    if (name === "cache" && isHit((payload as GatewayEventMap["cache"]).outcome)) this.cacheMarked = true;
    if (name === "limit" && (payload as GatewayEventMap["limit"]).action === "rejected") this.rejectionMarked = true;
    if (!this.recording) return;
    switch (name) {
      case "retry": {
        const retry = payload as GatewayEventMap["retry"];
        this.span.addEvent(EVENT_RETRY, {
          [MODELGATE_DEPLOYMENT]: retry.deployment,
          [MODELGATE_ATTEMPT]: retry.attempt,
          [MODELGATE_RETRY_DELAY_MS]: retry.delayMs,
          [ERROR_TYPE]: errorType(retry.error),
        });
        return;
      }
      case "fallback": {
        const fallback = payload as GatewayEventMap["fallback"];
        this.span.addEvent(EVENT_FALLBACK, { [MODELGATE_FALLBACK_FROM]: fallback.from, [MODELGATE_FALLBACK_TO]: fallback.to });
        return;
      }
      case "cooldown": {
        const cooldown = payload as GatewayEventMap["cooldown"];
        this.span.addEvent(EVENT_COOLDOWN, {
          [MODELGATE_DEPLOYMENT]: cooldown.deployment,
          [MODELGATE_COOLDOWN_DURATION_MS]: cooldown.durationMs,
          [MODELGATE_COOLDOWN_REASON]: cooldown.reason,
        });
        return;
      }
      case "limit": {
        const limit = payload as GatewayEventMap["limit"];
        const attributes: Attributes = { [MODELGATE_LIMIT_SCOPE]: limit.scope, [MODELGATE_LIMIT_KIND]: limit.kind, [MODELGATE_LIMIT_WAIT_MS]: limit.waitMs };
        if (limit.deployment !== undefined) attributes[MODELGATE_DEPLOYMENT] = limit.deployment;
        this.span.addEvent(limitEventName(limit), attributes);
        return;
      }
      case "cache": {
        const cache = payload as GatewayEventMap["cache"];
        if (isHit(cache.outcome)) {
          this.span.addEvent(EVENT_CACHE_HIT, { [MODELGATE_CACHE]: cache.outcome, [MODELGATE_SAVED_USD]: cache.savedUsd });
        }
        return;
      }
    }
  }

  /** What the caller asked of the model, built on first use and shared by every attempt span. */
  requestAttributes(): Attributes {
    return (this.requestAttributesOnce ??= requestAttributes(this.ctx.request));
  }

  /** Puts the prompt on a span when content capture is on; serialized once per call. */
  recordInputContent(span: Span): void {
    if (!this.telemetry.captureContent) return;
    if (this.telemetry.mode.latest) {
      span.setAttribute(GEN_AI_INPUT_MESSAGES, (this.inputContentOnce ??= inputMessagesJson(this.ctx.request)));
    } else {
      span.addEvent(GEN_AI_CONTENT_PROMPT_EVENT, { [GEN_AI_PROMPT]: (this.inputContentOnce ??= legacyPromptJson(this.ctx.request)) });
    }
  }

  /** The served attempt of a stream: its span ends with the stream. */
  holdStreamingAttempt(attempt: AttemptSpan): void {
    this.streamingAttempt = attempt;
  }

  /** `next()` resolved: the answer (or a stream's first chunk) is here. */
  answered(): void {
    if (this.ctx.chunks && this.recording) {
      this.span.setAttribute(GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, (performance.now() - this.ctx.startedAt) / 1000);
    }
  }

  /** The call is over: a plain response at once, a stream when it ended, failed or was abandoned. */
  settle(settlement: Settlement): void {
    if (settlement.error !== undefined) {
      this.fail(settlement.error, settlement);
      return;
    }
    this.streamingAttempt?.succeed(settlement.response, settlement.abandoned);
    const outcome = settlement.abandoned ? "abandoned" : isHit(settlement.cache) ? "cache_hit" : "success";
    this.finish(outcome, settlement.response, undefined, settlement);
  }

  /** The call failed: thrown from `next()` (nothing settled), or a stream that broke after its first chunk. */
  fail(error: unknown, settlement?: Settlement): void {
    this.streamingAttempt?.fail(error);
    this.finish("error", settlement?.response, error, settlement);
  }

  private finish(outcome: Outcome, response: ChatResponse | undefined, error: unknown, settlement: Settlement | undefined): void {
    if (this.ended) return;
    this.ended = true;
    const ctx = this.ctx;
    const served = ctx.served;
    const providerAttribute = this.telemetry.mode.providerAttribute;
    const costUsd = settlement?.costUsd ?? 0;
    if (this.recording) this.describe(outcome, response, error, costUsd, settlement?.costEstimated === true);
    this.span.end();

    const metrics = this.telemetry.metrics;
    const counted: Attributes = { [MODELGATE_OUTCOME]: outcome, [GEN_AI_REQUEST_MODEL]: ctx.request.model };
    if (error !== undefined) counted[ERROR_TYPE] = errorType(error);
    metrics.request(counted);
    if (outcome === "cache_hit") metrics.cacheHit({ [MODELGATE_CACHE]: ctx.cache, [GEN_AI_REQUEST_MODEL]: ctx.request.model });
    if (served && costUsd > 0) {
      metrics.spend(costUsd, { [providerAttribute]: served.deployment.adapter.name, [GEN_AI_REQUEST_MODEL]: served.deployment.model });
    }
    if (error instanceof RateLimitError) metrics.rateLimitRejection({ [MODELGATE_LIMIT_SCOPE]: error.scope });

    if (error !== undefined) {
      if (error instanceof GatewayError) report(this.events, ctx, "error", () => withIdentity(ctx, { error, latencyMs: elapsedMs(ctx) }));
      return;
    }
    report(this.events, ctx, "response", () =>
      withIdentity(ctx, {
        provider: served?.deployment.provider ?? "",
        deployment: served?.deployment.id ?? "",
        route: served?.route.name ?? ctx.route.name,
        attempts: ctx.attempts.length,
        cache: ctx.cache,
        costUsd,
        latencyMs: elapsedMs(ctx),
        inputTokens: response?.usage?.prompt_tokens,
        outputTokens: response?.usage?.completion_tokens,
      }),
    );
  }

  /** The call span's closing attributes; only when it records. */
  private describe(outcome: Outcome, response: ChatResponse | undefined, error: unknown, costUsd: number, costEstimated: boolean): void {
    const { ctx, span } = this;
    const served = ctx.served;
    span.setAttributes(this.requestAttributes());
    span.setAttribute(MODELGATE_CACHE, ctx.cache);
    span.setAttribute(MODELGATE_ATTEMPTS, ctx.attempts.length);
    span.setAttribute(MODELGATE_COST_USD, costUsd);
    if (costEstimated) span.setAttribute(MODELGATE_COST_ESTIMATED, true);
    span.setAttribute(MODELGATE_FALLBACK, served !== undefined && served.route.name !== ctx.route.name);
    if (served) {
      span.setAttribute(this.telemetry.mode.providerAttribute, served.deployment.adapter.name);
      if (served.deployment.adapter.serverAddress) span.setAttribute(SERVER_ADDRESS, served.deployment.adapter.serverAddress);
      span.setAttribute(MODELGATE_ROUTE, served.route.name);
      span.setAttribute(MODELGATE_DEPLOYMENT, served.deployment.id);
    }
    // Token usage stays on the attempt spans: a backend summing gen_ai.usage.* over a trace
    // would count it twice, and a cache hit used no tokens at all.
    if (response) span.setAttributes(responseAttributes(response));
    if (outcome === "abandoned") span.setAttribute(MODELGATE_ABANDONED, true);
    if (outcome === "cache_hit") {
      if (!this.cacheMarked) span.addEvent(EVENT_CACHE_HIT, { [MODELGATE_CACHE]: ctx.cache, [MODELGATE_SAVED_USD]: ctx.savedUsd });
      // No attempt span carries the content of a cache hit, so the call span does.
      if (response && this.telemetry.captureContent) this.recordCachedContent(response);
    }
    if (error === undefined) return;
    recordError(span, error, errorType(error));
    if (this.rejectionMarked) return;
    if (error instanceof RateLimitError) {
      span.addEvent(EVENT_RATE_LIMIT_REJECT, { [MODELGATE_LIMIT_SCOPE]: error.scope, [MODELGATE_RETRY_AFTER_MS]: error.retryAfterMs });
    } else if (error instanceof BudgetExceededError) {
      span.addEvent(EVENT_BUDGET_REJECT, {
        [MODELGATE_LIMIT_SCOPE]: error.scope,
        [MODELGATE_BUDGET_LIMIT_USD]: error.limitUsd,
        [MODELGATE_BUDGET_SPENT_USD]: error.spentUsd,
      });
    }
  }

  private recordCachedContent(response: ChatResponse): void {
    this.recordInputContent(this.span);
    if (this.telemetry.mode.latest) {
      this.span.setAttribute(GEN_AI_OUTPUT_MESSAGES, outputMessagesJson(response));
    } else {
      this.span.addEvent(GEN_AI_CONTENT_COMPLETION_EVENT, { [GEN_AI_COMPLETION]: legacyCompletionJson(response) });
    }
  }
}

/** Throttle wait, deployment passed over at its limit, or rejection (rate or budget). */
function limitEventName(limit: GatewayEventMap["limit"]): string {
  if (limit.action === "queued") return EVENT_THROTTLE;
  if (limit.action === "skipped") return EVENT_LIMIT_SKIP;
  return limit.kind === "budget" ? EVENT_BUDGET_REJECT : EVENT_RATE_LIMIT_REJECT;
}

function isHit(outcome: CacheOutcome): boolean {
  return outcome === "exact" || outcome === "semantic";
}

function elapsedMs(ctx: CallContext): number {
  return Math.round((performance.now() - ctx.startedAt) * 1000) / 1000;
}
