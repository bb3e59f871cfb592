import type { CacheOutcome } from "./chat-response.js";
import type { GatewayError } from "./errors.js";
import type { Deprecation } from "./route.js";

/** Who a call was made for, on every event. */
export interface CallIdentity {
  /** The logical model the request named. */
  model: string;
  key: string | undefined;
  user: string | undefined;
  tags: readonly string[];
  stream: boolean;
}

export interface RequestEvent extends CallIdentity {}

export interface ResponseEvent extends CallIdentity {
  provider: string;
  deployment: string;
  route: string;
  attempts: number;
  cache: CacheOutcome;
  costUsd: number;
  latencyMs: number;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
}

export interface RetryEvent extends CallIdentity {
  deployment: string;
  /** The attempt that failed, 1-based, on this deployment. */
  attempt: number;
  delayMs: number;
  error: GatewayError;
}

export interface FallbackEvent extends CallIdentity {
  /** The route whose deployments all failed or were unavailable. */
  from: string;
  to: string;
}

export interface CooldownEvent {
  deployment: string;
  durationMs: number;
  /** `deployment`: a failure of this deployment alone (its route's `fallbackOn`), cooled long. */
  reason: "failures" | "retry-after" | "probe-failed" | "deployment";
}

export interface CacheEvent extends CallIdentity {
  outcome: CacheOutcome;
  savedUsd: number;
}

export interface LimitEvent extends CallIdentity {
  scope: "key" | "user" | "deployment";
  kind: "rpm" | "tpm" | "budget";
  /** `skipped`: a deployment at its limit was passed over for the next candidate. */
  action: "rejected" | "queued" | "skipped";
  /** Expected wait (queued) or time until the limit would admit the call (rejected, skipped). */
  waitMs: number;
  /** The deployment passed over, for `skipped`. */
  deployment?: string;
}

export interface ErrorEvent extends CallIdentity {
  error: GatewayError;
  latencyMs: number;
}

/** A key's or user's settled spend crossed a threshold of its budget (once per threshold per period). */
export interface BudgetAlertEvent {
  scope: "key" | "user";
  key: string | undefined;
  user: string | undefined;
  /** The fraction of the budget crossed, e.g. 0.8. */
  threshold: number;
  spentUsd: number;
  limitUsd: number;
  period: "day" | "week" | "month" | "total";
}

/**
 * Unusual spend. `share`: one user's part of a key's spend (or the whole gateway's when `key`
 * is undefined) in the current window passed the configured share; `share` is that part.
 * `spike`: a user's spend this hour passed k times its trailing hourly baseline; `share` is
 * this hour's spend divided by the baseline.
 */
export interface AnomalyEvent {
  kind: "share" | "spike";
  key: string | undefined;
  user: string;
  share: number;
  spentUsd: number;
  windowMs: number;
}

/** An alert webhook delivery that was dropped (queue full) or given up on after its retries. */
export interface WebhookEvent {
  status: "dropped" | "failed";
  alert: "budget" | "anomaly";
  attempts: number;
}

/**
 * Something the caller should act on that did not fail the call. `code` is stable:
 * - `model_deprecated`: the catalog marks the deployment's model deprecated or retired
 *   (`deprecated` says until when and what replaces it). Emitted once per provider/model per
 *   gateway, on its first attempt, not on every call.
 */
export interface WarningEvent extends CallIdentity {
  code: "model_deprecated";
  message: string;
  provider: string;
  deployment: string;
  /** The provider-side model name. */
  providerModel: string;
  deprecated: Deprecation;
}

/** Event name -> payload, for `gateway.on(name, listener)`. */
export interface GatewayEventMap {
  request: RequestEvent;
  response: ResponseEvent;
  retry: RetryEvent;
  fallback: FallbackEvent;
  cooldown: CooldownEvent;
  cache: CacheEvent;
  limit: LimitEvent;
  error: ErrorEvent;
  cascade: CascadeEvent;
  hedge: HedgeEvent;
  budget: BudgetAlertEvent;
  anomaly: AnomalyEvent;
  webhook: WebhookEvent;
  warning: WarningEvent;
}

/** A cascade tier's verdict: accepted, rejected, failed, or a check that threw (`checkError`). */
export interface CascadeEvent extends CallIdentity {
  deployment: string;
  /** 0-based position of the tier. */
  tier: number;
  accepted: boolean;
  /** Set when the check threw: the tier then counts as rejected. */
  checkError?: unknown;
  /** Set when the tier failed outright (every retry spent). */
  error?: GatewayError;
}

/** A hedged call: a second attempt started, and which one answered first. */
export interface HedgeEvent extends CallIdentity {
  route: string;
  primary: string;
  hedge: string;
  winner: string;
}

export type GatewayEventName = keyof GatewayEventMap;
export type GatewayEventListener<Name extends GatewayEventName> = (event: GatewayEventMap[Name]) => void;

/**
 * A small typed emitter. A listener that throws is reported to `onListenerError` and never
 * breaks the call; emitting with no listeners costs one map lookup.
 */
export class GatewayEvents {
  private readonly listeners = new Map<GatewayEventName, Set<(event: never) => void>>();

  constructor(private readonly onListenerError: (error: unknown, event: GatewayEventName) => void = () => {}) {}

  on<Name extends GatewayEventName>(name: Name, listener: GatewayEventListener<Name>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => this.off(name, listener);
  }

  off<Name extends GatewayEventName>(name: Name, listener: GatewayEventListener<Name>): void {
    this.listeners.get(name)?.delete(listener as (event: never) => void);
  }

  /** True when someone listens: lets callers skip building a payload nobody reads. */
  has(name: GatewayEventName): boolean {
    return (this.listeners.get(name)?.size ?? 0) > 0;
  }

  emit<Name extends GatewayEventName>(name: Name, event: GatewayEventMap[Name]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as GatewayEventListener<Name>)(event);
      } catch (error) {
        this.onListenerError(error, name);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
