import { LRUCache } from "lru-cache";
import type { AnomalyEvent } from "../core/events.js";
import type { SettledSpend } from "./settled-spend.js";

const HOUR_MS = 3_600_000;
/** Weight of the newest finished hour in the trailing baseline (an EWMA over hours). */
const ALPHA = 0.3;

export interface SpikeAnomalyOptions {
  spikeFactor: number;
  maxTrackedUsers: number;
  emit(event: AnomalyEvent): void;
}

interface UserHours {
  hour: number;
  hourUsd: number;
  /** EWMA of finished hours' spend; undefined until one hour has finished. */
  baselineUsd: number | undefined;
  flagged: boolean;
}

/**
 * A user's spend this hour against its trailing hourly baseline (an EWMA over past hours,
 * idle hours counted as 0): fires `anomaly` (kind `spike`) once per user per hour when this
 * hour's spend passes `spikeFactor` times the baseline. O(1) per record (idle hours decay the
 * baseline in one power); users live in an LRU of `maxTrackedUsers`, evictions counted.
 */
export class SpikeAnomalies {
  private readonly users: LRUCache<string, UserHours>;
  evictedUsers = 0;

  constructor(private readonly options: SpikeAnomalyOptions) {
    this.users = new LRUCache({
      max: options.maxTrackedUsers,
      dispose: (_value, _key, reason) => {
        if (reason === "evict") this.evictedUsers++;
      },
    });
  }

  observe(record: SettledSpend): void {
    if (record.user === undefined || record.costUsd <= 0) return;
    const hour = Math.floor(record.time / HOUR_MS);
    let entry = this.users.get(record.user);
    if (!entry) {
      entry = { hour, hourUsd: 0, baselineUsd: undefined, flagged: false };
      this.users.set(record.user, entry);
    } else if (hour > entry.hour) {
      const idleHours = hour - entry.hour - 1;
      const folded = entry.baselineUsd === undefined ? entry.hourUsd : entry.baselineUsd * (1 - ALPHA) + entry.hourUsd * ALPHA;
      entry.baselineUsd = folded * (1 - ALPHA) ** idleHours;
      entry.hour = hour;
      entry.hourUsd = 0;
      entry.flagged = false;
    } else if (hour < entry.hour) return;
    entry.hourUsd += record.costUsd;
    const baseline = entry.baselineUsd;
    if (entry.flagged || baseline === undefined || baseline <= 0) return;
    if (entry.hourUsd <= this.options.spikeFactor * baseline) return;
    entry.flagged = true;
    this.options.emit({
      kind: "spike",
      key: record.key,
      user: record.user,
      share: Math.round((entry.hourUsd / baseline) * 100) / 100,
      spentUsd: Math.round(entry.hourUsd * 1e10) / 1e10,
      windowMs: HOUR_MS,
    });
  }
}
