import { NO_GROUP, type SpendDimension, type SpendRecord, type SpendReportRow } from "./spend-record.js";

/** Running sums for one group of a report. */
export interface SpendTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  savedUsd: number;
}

export function emptyTotals(): SpendTotals {
  return { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, savedUsd: 0 };
}

/** Adds one record (or a sum of records) to running totals. */
export function addTotals(into: SpendTotals, from: SpendTotals): void {
  into.requests += from.requests;
  into.inputTokens += from.inputTokens;
  into.outputTokens += from.outputTokens;
  into.costUsd += from.costUsd;
  into.savedUsd += from.savedUsd;
}

export function recordTotals(record: SpendRecord): SpendTotals {
  return {
    requests: 1,
    inputTokens: record.inputTokens,
    outputTokens: record.outputTokens,
    costUsd: record.costUsd,
    savedUsd: record.savedUsd,
  };
}

/** The groups a record counts under for a dimension: one, or one per tag. */
export function groupsOf(record: SpendRecord, by: SpendDimension): readonly string[] {
  switch (by) {
    case "key":
      return [record.key ?? NO_GROUP];
    case "user":
      return [record.user ?? NO_GROUP];
    case "model":
      return [record.model];
    case "provider":
      return [record.provider || NO_GROUP];
    case "tag":
      return record.tags.length > 0 ? record.tags : [NO_GROUP];
  }
}

/** Report rows from grouped totals: costliest first, then busiest, then by name. */
export function toRows(groups: ReadonlyMap<string, SpendTotals>): SpendReportRow[] {
  const rows: SpendReportRow[] = [];
  for (const [group, totals] of groups) {
    // Sums of costs rounded to 1e-10 drift in the last float bits; report what was billed.
    rows.push({ group, ...totals, costUsd: roundUsd(totals.costUsd), savedUsd: roundUsd(totals.savedUsd) });
  }
  return rows.sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

function roundUsd(usd: number): number {
  return Math.round(usd * 1e10) / 1e10;
}
