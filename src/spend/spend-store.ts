import type { SpendQuery, SpendRecord, SpendReportRow } from "./spend-record.js";

/**
 * Where spend records go and where reports come from: memory by default
 * (`memorySpendStore`), or your database. The gateway writes through a bounded buffer: a store
 * that throws keeps its records buffered and retried with backoff, and `gateway.close()`
 * flushes. A batch that threw is sent again whole, so a store that may have written part of it
 * should skip records whose `id` it already has.
 *
 * @example
 * const store: SpendStore = {
 *   async append(records) { await db.insert("spend", records); },
 *   async report({ by, since, until }) { return db.query(sql`...group by ${by}...`); },
 * };
 */
export interface SpendStore {
  /** Stores records, in the order calls ended. */
  append(records: readonly SpendRecord[]): void | Promise<void>;
  /** Groups stored records; rows sorted by `costUsd`, highest first. */
  report(query: SpendQuery): SpendReportRow[] | Promise<SpendReportRow[]>;
  close?(): void | Promise<void>;
}
