import type { CacheOutcome } from "../core/chat-response.js";
import type { CascadeInfo } from "../core/cascade-types.js";

/**
 * One call's spend, written once per call that was served (by a provider, also when its stream
 * failed or was abandoned after the provider began billing) or answered from the cache.
 * Failed attempts that were retried or fell back cost nothing and add no record.
 *
 * @example
 * { id: "0d5c…", time: 1749038400000, key: "team-a", user: "u42", tags: ["checkout"], model: "smart",
 *   route: "smart", deployment: "openai/gpt-4o", provider: "openai", inputTokens: 812, outputTokens: 95,
 *   cachedTokens: 512, costUsd: 0.001755, savedUsd: 0, cache: "miss", estimated: false }
 */
export interface SpendRecord {
  /** Unique per record, so a store that receives a batch twice (after a failed write) can drop the copy. */
  readonly id: string;
  /** When the call ended, epoch ms. */
  readonly time: number;
  readonly key: string | undefined;
  readonly user: string | undefined;
  readonly tags: readonly string[];
  /** The logical model the request named. */
  readonly model: string;
  /** The logical model that served it: the requested one, or a fallback. */
  readonly route: string;
  /** `provider/model` of the deployment that served it; `""` for a cache hit. */
  readonly deployment: string;
  /** The provider (config key) that served it; `""` for a cache hit. */
  readonly provider: string;
  /** Prompt tokens billed, cached ones included (0 for a cache hit: nothing was billed). */
  readonly inputTokens: number;
  /** Completion tokens billed, reasoning included. */
  readonly outputTokens: number;
  /** Of `inputTokens`, those read from the provider's prompt cache. */
  readonly cachedTokens: number;
  readonly costUsd: number;
  /** What a gateway cache hit saved (the answer's original cost). */
  readonly savedUsd: number;
  readonly cache: CacheOutcome;
  /**
   * True when the tokens or the cost are estimates: the provider reported no usable usage
   * (an abandoned stream, a missing or nonsensical usage block), or the model has no known price
   * (its cost is then recorded as 0).
   */
  readonly estimated: boolean;
  /** A cascade route's tiers, each with its cost; `costUsd` is their sum (one record per call). */
  readonly cascade?: CascadeInfo;
}

/** What `gateway.spend.report` groups by. A record with several tags counts once under each. */
export type SpendDimension = "key" | "user" | "model" | "provider" | "tag";

/** A time bucket for spend reports: UTC hours or UTC days. */
export type SpendBucket = "hour" | "day";

/** A spend report request; `since` is inclusive, `until` exclusive. */
export interface SpendQuery {
  by: SpendDimension;
  since?: Date | number;
  until?: Date | number;
  /** One row per group and UTC hour or day (rows carry `bucket`); absent: one row per group. */
  bucket?: SpendBucket;
}

/** One group of a spend report. */
export interface SpendReportRow {
  /** The key, user, logical model, provider or tag; `(none)` for calls without one. */
  group: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  savedUsd: number;
  /** When the query asked for buckets: epoch ms of the bucket's start (UTC). */
  bucket?: number;
}

/** The group name for records without a key, user, provider or tag. */
export const NO_GROUP = "(none)";
