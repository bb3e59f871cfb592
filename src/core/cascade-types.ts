import type { ChatRequest } from "./chat-request.js";
import type { CascadeInfo, CascadeTier, ChatResponse } from "./chat-response.js";

export type { CascadeInfo, CascadeTier };

/**
 * What a check may do besides reading the answer: ask another logical model through the same
 * gateway (routes, retries, health). What that call costs is added to the checked call's cost.
 */
export interface CheckContext {
  chat(body: { model: string } & Partial<ChatRequest>): Promise<ChatResponse>;
}

/** Decides whether a cascade tier's answer meets the bar; a throw counts as "no". */
export type AcceptCheck = (response: ChatResponse, request: ChatRequest, context: CheckContext) => boolean | Promise<boolean>;

/**
 * When to start a second attempt: after a fixed wait, or after the route's observed latency
 * percentile (no hedge until 20 calls are measured). `budgetPercent` caps hedges at that share
 * of the route's calls, at least one (default 10).
 */
export type HedgePolicy = ({ afterMs: number } | { afterPercentile: number }) & { budgetPercent?: number };
