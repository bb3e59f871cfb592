import type { SpendDimension, SpendQuery, SpendRecord, SpendReportRow } from "./spend-record.js";
import type { SpendStore } from "./spend-store.js";
import { addTotals, emptyTotals, groupsOf, recordTotals, toRows, type SpendTotals } from "./spend-totals.js";

export interface MemorySpendStoreOptions {
  /** Raw records kept (default 50,000, about 15 MB); older ones live on as daily totals. */
  maxRecords?: number;
}

const DAY_MS = 86_400_000;
const BUCKET_MS = { hour: 3_600_000, day: DAY_MS } as const;
const DIMENSIONS: readonly SpendDimension[] = ["key", "user", "model", "provider", "tag"];
const DEFAULT_MAX_RECORDS = 50_000;

/**
 * The default `SpendStore`: the last `maxRecords` records, plus per-UTC-day totals of every older
 * one, so reports stay right after raw records are evicted. A report counts raw records exactly
 * by `since`/`until`; an evicted record counts by its day, when that day overlaps the range.
 * Daily totals are bounded too (as many group-days as `maxRecords`): past that the oldest days
 * are forgotten.
 *
 * @example
 * createGateway({ providers, spend: { store: memorySpendStore({ maxRecords: 10_000 }) } });
 */
export function memorySpendStore(options: MemorySpendStoreOptions = {}): SpendStore {
  const maxRecords = Math.max(1, Math.floor(options.maxRecords ?? DEFAULT_MAX_RECORDS));
  const ring: (SpendRecord | undefined)[] = new Array(maxRecords);
  let start = 0;
  let count = 0;
  /** Day start -> `dimension\0group` -> totals of evicted records. */
  const daily = new Map<number, Map<string, SpendTotals>>();
  let dailyEntries = 0;

  const fold = (record: SpendRecord): void => {
    const day = record.time - (((record.time % DAY_MS) + DAY_MS) % DAY_MS);
    let groups = daily.get(day);
    if (!groups) {
      groups = new Map();
      daily.set(day, groups);
    }
    const totals = recordTotals(record);
    for (const dimension of DIMENSIONS) {
      for (const group of groupsOf(record, dimension)) {
        const id = `${dimension}\u0000${group}`;
        let sum = groups.get(id);
        if (!sum) {
          sum = emptyTotals();
          groups.set(id, sum);
          dailyEntries++;
        }
        addTotals(sum, totals);
      }
    }
    while (dailyEntries > maxRecords && daily.size > 1) forgetOldestDay();
  };

  const forgetOldestDay = (): void => {
    let oldest = Number.POSITIVE_INFINITY;
    for (const day of daily.keys()) if (day < oldest) oldest = day;
    dailyEntries -= daily.get(oldest)?.size ?? 0;
    daily.delete(oldest);
  };

  return {
    append(records) {
      for (const record of records) {
        if (count < maxRecords) {
          ring[(start + count) % maxRecords] = record;
          count++;
          continue;
        }
        const evicted = ring[start];
        if (evicted) fold(evicted);
        ring[start] = record;
        start = (start + 1) % maxRecords;
      }
    },
    report(query: SpendQuery): SpendReportRow[] {
      const since = toMs(query.since, Number.NEGATIVE_INFINITY);
      const until = toMs(query.until, Number.POSITIVE_INFINITY);
      const bucketMs = query.bucket === undefined ? undefined : BUCKET_MS[query.bucket];
      // Per bucket start (one bucket, 0, when the query asked for none): group -> totals.
      const buckets = new Map<number, Map<string, SpendTotals>>();
      const add = (time: number, group: string, totals: SpendTotals): void => {
        const bucket = bucketMs === undefined ? 0 : time - (((time % bucketMs) + bucketMs) % bucketMs);
        let groups = buckets.get(bucket);
        if (!groups) {
          groups = new Map();
          buckets.set(bucket, groups);
        }
        let sum = groups.get(group);
        if (!sum) {
          sum = emptyTotals();
          groups.set(group, sum);
        }
        addTotals(sum, totals);
      };
      const prefix = `${query.by}\u0000`;
      for (const [day, dayGroups] of daily) {
        if (day >= until || day + DAY_MS <= since) continue;
        // Evicted records live on as daily totals: by hour they count in their day's first hour.
        for (const [id, totals] of dayGroups) if (id.startsWith(prefix)) add(day, id.slice(prefix.length), totals);
      }
      for (let index = 0; index < count; index++) {
        const record = ring[(start + index) % maxRecords]!;
        if (record.time < since || record.time >= until) continue;
        const totals = recordTotals(record);
        for (const group of groupsOf(record, query.by)) add(record.time, group, totals);
      }
      if (bucketMs === undefined) return toRows(buckets.get(0) ?? new Map());
      // Buckets in time order, costliest first within each, as the Postgres ledger answers.
      return [...buckets.keys()]
        .sort((a, b) => a - b)
        .flatMap((bucket) => toRows(buckets.get(bucket)!).map((row) => ({ ...row, bucket })));
    },
    // Nothing to release, and a report after `gateway.close()` should still answer.
    close() {},
  };
}

function toMs(value: Date | number | undefined, otherwise: number): number {
  if (value === undefined) return otherwise;
  return typeof value === "number" ? value : value.getTime();
}
