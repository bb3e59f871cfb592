import { InvalidRequestError } from "../core/errors.js";
import { Outbox } from "../core/outbox.js";
import type { SpendDimension, SpendRecord } from "../spend/spend-record.js";
import type { SpendStore } from "../spend/spend-store.js";
import { ControlPlaneUnavailableError, whileAvailable } from "./control-plane-errors.js";
import type { ControlPlaneEvents } from "./control-plane-events.js";
import { insertSpend, reportSpend, type BucketedSpendQuery, type BucketedSpendReportRow } from "./spend-sql.js";
import type { SqlExecutor } from "./sql-executor.js";

/** A `SpendStore` whose reports accept `bucket` and return rows with `bucket`. */
export interface PostgresSpendStore extends SpendStore {
  append(records: readonly SpendRecord[]): void;
  report(query: BucketedSpendQuery): Promise<BucketedSpendReportRow[]>;
  /** Delivers what is buffered now (cutting short a backoff); resolves when done or failed. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Counters of the ledger writer, for `controlPlane.stats()`. */
export interface LedgerStats {
  /** Records waiting for the database. */
  pendingRecords: number;
  /** Records the database acknowledged (each once; a re-sent duplicate is not counted twice by the database). */
  writtenRecords: number;
  /** Records dropped because the buffer was full (each drop also fired `spend-overflow`). */
  droppedRecords: number;
  /** Write attempts that failed and were retried. */
  failedWrites: number;
}

export interface LedgerDeps {
  /** The database once migrated, or undefined while it is not (then writes wait and retry). */
  executor(): SqlExecutor | undefined;
  schema: string;
  events: ControlPlaneEvents;
  maxPending: number;
  batchSize: number;
  flushDelayMs: number;
  maxRetryMs: number;
  /** Told of each write that failed or succeeded, so the control plane tracks up/down. */
  onOutcome(error: unknown | undefined): void;
}

const DIMENSIONS: ReadonlySet<SpendDimension> = new Set(["key", "user", "model", "provider", "tag"]);
const BUCKETS: ReadonlySet<string> = new Set(["hour", "day"]);

/**
 * The durable ledger: `append` returns at once and records go to Postgres in batches through a
 * bounded outbox, retried with backoff while the database is down or slow. Each record is
 * written exactly once (`ON CONFLICT (id) DO NOTHING` makes a re-sent batch harmless).
 */
export function postgresSpendStore(deps: LedgerDeps): PostgresSpendStore & { stats(): LedgerStats } {
  let written = 0;
  let failed = 0;
  let reportedDrops = 0;
  const outbox = new Outbox<SpendRecord>({
    maxPending: deps.maxPending,
    batchSize: deps.batchSize,
    lingerMs: deps.flushDelayMs,
    minRetryMs: 50,
    maxRetryMs: deps.maxRetryMs,
    async deliver(records) {
      const executor = deps.executor();
      if (!executor) {
        failed++;
        return 0;
      }
      try {
        await insertSpend(executor, deps.schema, records);
      } catch (error) {
        failed++;
        deps.onOutcome(error);
        // The outbox puts the batch back and trims to its bound right after this throws: report
        // any drop then, not only at the next append.
        setImmediate(noticeDrops);
        throw error;
      }
      deps.onOutcome(undefined);
      written += records.length;
      return records.length;
    },
  });

  const noticeDrops = (): void => {
    if (outbox.dropped === reportedDrops) return;
    const dropped = outbox.dropped - reportedDrops;
    reportedDrops = outbox.dropped;
    deps.events.emit("spend-overflow", { dropped, totalDropped: outbox.dropped, maxPendingRecords: deps.maxPending });
  };

  return {
    append(records) {
      for (const record of records) outbox.push(record);
      noticeDrops();
    },
    async report(query) {
      validateQuery(query);
      await outbox.flush();
      noticeDrops();
      const executor = deps.executor();
      if (!executor) throw new ControlPlaneUnavailableError("a spend report");
      return whileAvailable("a spend report", () => reportSpend(executor, deps.schema, query));
    },
    async flush() {
      await outbox.flush();
      noticeDrops();
    },
    async close() {
      await outbox.close();
      noticeDrops();
    },
    stats() {
      return { pendingRecords: outbox.size, writtenRecords: written, droppedRecords: outbox.dropped, failedWrites: failed };
    },
  };
}

function validateQuery(query: BucketedSpendQuery): void {
  const issues = [];
  if (!DIMENSIONS.has(query?.by)) issues.push({ path: "by", message: `expected one of ${[...DIMENSIONS].join(", ")}` });
  if (query?.bucket !== undefined && !BUCKETS.has(query.bucket)) issues.push({ path: "bucket", message: "expected hour or day" });
  for (const field of ["since", "until"] as const) {
    const value = query?.[field];
    if (value !== undefined && !(value instanceof Date) && !(typeof value === "number" && Number.isFinite(value))) {
      issues.push({ path: field, message: "expected epoch ms or a Date" });
    }
  }
  if (issues.length > 0) throw new InvalidRequestError(issues, "Invalid spend report query:");
}
