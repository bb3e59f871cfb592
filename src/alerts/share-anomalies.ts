import type { AnomalyEvent } from "../core/events.js";
import type { SettledSpend } from "./settled-spend.js";

export interface ShareAnomalyOptions {
  userShare: number;
  minRequests: number;
  windowMs: number;
  maxTrackedUsers: number;
  emit(event: AnomalyEvent): void;
}

interface Totals {
  usd: number;
  requests: number;
  /** Distinct users seen in the scope this window. */
  users: number;
}

/** The gateway-wide scope in the maps below (a key name is never empty). */
const GATEWAY = "";

/**
 * One user's share of a key's spend, and of the whole gateway's, in tumbling windows of
 * `windowMs`: fires `anomaly` (kind `share`) once per user and scope per window when the share
 * reaches `userShare` and twice an equal split among the scope's users, and the scope has at
 * least `minRequests` requests. O(1) per record; at most
 * `maxTrackedUsers` user entries per window, later users are not tracked (counted).
 */
export class ShareAnomalies {
  private windowStart = Number.NEGATIVE_INFINITY;
  private readonly scopes = new Map<string, Totals>();
  private readonly users = new Map<string, number>();
  private readonly flagged = new Set<string>();
  untrackedUsers = 0;

  constructor(private readonly options: ShareAnomalyOptions) {}

  observe(record: SettledSpend): void {
    const { windowMs } = this.options;
    const start = Math.floor(record.time / windowMs) * windowMs;
    if (start > this.windowStart) {
      this.windowStart = start;
      this.scopes.clear();
      this.users.clear();
      this.flagged.clear();
    } else if (start < this.windowStart) return; // a late record from a window already closed
    this.count(GATEWAY, record);
    if (record.key !== undefined) this.count(record.key, record);
  }

  private count(scope: string, record: SettledSpend): void {
    let totals = this.scopes.get(scope);
    if (!totals) {
      totals = { usd: 0, requests: 0, users: 0 };
      this.scopes.set(scope, totals);
    }
    totals.usd += record.costUsd;
    totals.requests++;
    if (record.user === undefined) return;
    const id = `${scope}\u0000${record.user}`;
    const before = this.users.get(id);
    if (before === undefined && this.users.size >= this.options.maxTrackedUsers) {
      this.untrackedUsers++;
      return;
    }
    if (before === undefined) totals.users++;
    const usd = (before ?? 0) + record.costUsd;
    this.users.set(id, usd);
    if (totals.requests < this.options.minRequests || totals.usd <= 0 || this.flagged.has(id)) return;
    const share = usd / totals.usd;
    // Also past twice an equal split: on a key with two users, one of them always holds 25%.
    if (share < this.options.userShare || share < 2 / totals.users) return;
    this.flagged.add(id);
    this.options.emit({
      kind: "share",
      key: scope === GATEWAY ? undefined : scope,
      user: record.user,
      share: Math.round(share * 1e4) / 1e4,
      spentUsd: Math.round(usd * 1e10) / 1e10,
      windowMs: this.options.windowMs,
    });
  }
}
