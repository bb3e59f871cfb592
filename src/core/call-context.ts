import type { GatewayError } from "./errors.js";
import type { ChatRequest } from "./chat-request.js";
import type { ChatChunk } from "./chat-chunk.js";
import type { AttemptRecord, CacheOutcome, CascadeTier, ChatResponse, Usage } from "./chat-response.js";
import type { Deployment, Price, Route } from "./route.js";
import type { GatewayEventMap } from "./events.js";
import type { PromptCounter, Settlement, SettlementTap } from "./settle.js";
import type { CascadeInfo } from "./cascade-types.js";
import type { EmbeddingCall, EmbeddingResult } from "./embedding-request.js";

/** How a call may use the cache. */
export type CacheMode = "default" | "bypass" | "refresh";

/** Per-call options of `gateway.chat(body, options)`. */
export interface ChatOptions {
  /** Virtual key (team, tenant, app) the call is made for; limits, budgets and cache scope follow it. */
  key?: string;
  /** End user the call is made for; user limits, budgets and cost attribution follow it. */
  user?: string;
  /** Free-form labels for spend reports. */
  tags?: string[];
  /** Aborts the call: the in-flight provider request is cancelled and every reservation released. */
  signal?: AbortSignal;
  /** Per attempt, overriding the config's `timeoutMs`. */
  timeoutMs?: number;
  /** One deadline over every retry and fallback, overriding the config's `deadlineMs`. */
  deadlineMs?: number;
  cache?: CacheMode;
  /**
   * Semantic-cache similarity this call requires; never below the config's
   * `cache.semantic.minThreshold` (which defaults to `threshold`).
   */
  semanticThreshold?: number;
}

/** The deployment that served a call, and under which route. */
export interface Served {
  route: Route;
  deployment: Deployment;
}

/**
 * What middleware share about one `chat()` call. Each middleware reads what it needs and
 * writes only its own fields; none reaches into another's state.
 */
export interface CallContext {
  /**
   * The chat request; for an embeddings call, its chat-shaped view (`embeddingAsChat`): the
   * inputs as one user message and no output tokens, which is what limits, budgets, key checks
   * and telemetry read.
   */
  readonly request: ChatRequest;
  /**
   * Set for `gateway.embed()`: the embeddings request. Its answer lands in `embeddings`, and
   * `response` then carries only the usage (no choices), so cost, TPM and budgets settle as for chat.
   */
  readonly embedding?: EmbeddingCall;
  /** Set by the router (or a cache hit) when an embeddings call succeeded. */
  embeddings?: EmbeddingResult;
  readonly options: ChatOptions;
  /** The route the request named. */
  readonly route: Route;
  readonly stream: boolean;
  /** Aborts on caller abort, deadline or gateway close. */
  readonly signal: AbortSignal;
  /** `performance.now()` at the start of the call. */
  readonly startedAt: number;
  /** Absolute `performance.now()` by which every retry and fallback must be over. */
  readonly deadline: number;
  /** Set by the router (or a cache hit) on success without streaming. */
  response?: ChatResponse;
  /**
   * Set by the router (or a cache hit) on success with streaming: the chunks still to deliver,
   * the first one already received. Middleware that need the end register with `whenSettled`,
   * which wraps it once per call (see `settlement`).
   */
  chunks?: AsyncIterable<ChatChunk>;
  /**
   * @internal Owned by `whenSettled` (core/settle.ts), no one else reads or writes it:
   * the call's one tap on `chunks`, holding one accumulator and every middleware's end-of-call
   * callback in registration order (inner middleware first). Set by the first `whenSettled` on
   * a stream; when a middleware replaced `chunks` since, the next `whenSettled` wraps the new
   * chunks and moves the callbacks there, so the tap stays the outermost layer.
   */
  settlement?: SettlementTap;
  served?: Served;
  readonly attempts: AttemptRecord[];
  cache: CacheOutcome;
  /** Mirrors `Settlement.costUsd` once the call settled (for `res.gateway`); 0 before. */
  costUsd: number;
  savedUsd: number;
  /**
   * Set by the gateway once it hands a stream to the caller: stops and settles the whole
   * stream (every middleware's end-of-call work) when it is abandoned while nobody reads it.
   */
  abandonStream?: (reason: GatewayError) => void;
  /**
   * What other provider requests made for this call cost (earlier cascade tiers, judge checks,
   * a hedge that lost): the cost step adds it to the served answer's cost, so one record holds all.
   */
  extraCostUsd?: number;
  /**
   * The most a step inside the limits will bill this call beyond the answer (the semantic
   * cache's lookup embedding), set before the limits run: budgets reserve it with the answer's
   * worst case, then settle to what was actually spent (`extraCostUsd` included once).
   */
  reserveExtraUsd?: number;
  /** Set by a cascade route: each tier's verdict and cost. */
  cascade?: CascadeInfo;
  /**
   * The prompt-token count: read it with `promptTokensOf(ctx)` (core/settle.ts), which counts
   * once, with `countPrompt`, the first time anyone needs it.
   */
  promptTokenEstimate?: number;
  /** The gateway's prompt counter (the estimate when absent); run at most once per call. */
  readonly countPrompt?: PromptCounter;
  /**
   * @internal The call's one outcome, computed once by `settleCall` (core/settle.ts) when the
   * call is over and handed to every `whenSettled` callback. Read the callback's argument instead.
   */
  settled?: Settlement;
  /** @internal A cascade's live tier, priced when the call settles (its stream ended). */
  settleTier?: { readonly tier: CascadeTier; readonly price?: Price };
  /** Mirrors `Settlement.usage` once the call settled (for `res.gateway`). */
  usage?: Usage;
  /** Mirrors `Settlement.costEstimated` once the call settled. */
  costEstimated?: boolean;
  /**
   * The call's trace, set by the telemetry middleware (outermost) before anything else runs.
   * Middleware report what happened inside the call through `report` (core/report.ts), which feeds it
   * and the public events alike, so it lands on this call's span; they stay ignorant of OpenTelemetry.
   */
  trace?: CallTrace;
}

/** The moments of a call worth a mark on its trace, named and shaped like the public events. */
export type CallTraceEventName = "retry" | "fallback" | "cooldown" | "limit" | "cache";

/**
 * A per-call hook onto the call's trace. The router reports `retry`, `fallback` and `cooldown`;
 * limits report `limit` (a throttle wait, or a rejection just before throwing); the cache reports
 * `cache` on a hit, each through `report` (core/report.ts), which hands the same payload to the
 * public event and to this hook. Never throws; costs little when no tracer records.
 */
export interface CallTrace {
  event<Name extends CallTraceEventName>(name: Name, payload: GatewayEventMap[Name]): void;
}
