import type { ChatRequest } from "../contract/chat-request.js";
import type { ChatChunk } from "../contract/chat-chunk.js";
import type { AttemptRecord, CacheOutcome, ChatResponse } from "../contract/chat-response.js";
import type { Deployment, Route } from "../config/resolve-routes.js";

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
  readonly request: ChatRequest;
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
   * the first one already received. Middleware that need the end wrap it with `whenSettled`.
   */
  chunks?: AsyncIterable<ChatChunk>;
  served?: Served;
  readonly attempts: AttemptRecord[];
  cache: CacheOutcome;
  costUsd: number;
  savedUsd: number;
  /** Prompt-token estimate, computed once by whoever first needs it. */
  promptTokenEstimate?: number;
}
