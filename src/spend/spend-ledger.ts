import { InvalidRequestError } from "../core/errors.js";
import { memorySpendStore } from "./memory-spend-store.js";
import { Outbox } from "../core/outbox.js";
import type { SpendDimension, SpendQuery, SpendRecord, SpendReportRow } from "./spend-record.js";
import type { SpendConfig } from "./spend-schema.js";
import type { SpendStore } from "./spend-store.js";

/** `gateway.spend`: who spent what. */
export interface SpendReporter {
  /**
   * Spend grouped by key, user, logical model, provider or tag, costliest first. Records still
   * buffered (a store that was failing) are delivered first when the store accepts them.
   *
   * @example
   * const [top] = await gateway.spend.report({ by: "user", since: Date.now() - 86_400_000 });
   * console.log(`${top.group} spent $${top.costUsd.toFixed(2)} in ${top.requests} calls`);
   */
  report(query: SpendQuery): Promise<SpendReportRow[]>;
}

const DIMENSIONS: ReadonlySet<SpendDimension> = new Set(["key", "user", "model", "provider", "tag"]);
const DEFAULT_MAX_PENDING = 10_000;
const RETRY = { minRetryMs: 100, maxRetryMs: 30_000, batchSize: 500 } as const;

/**
 * Takes one record per finished call and hands it to the spend store and to `onRecord`, each
 * through its own outbox: a store that fails does not hold the hook back, and a hook that fails
 * is retried without storing a record twice.
 */
export class SpendLedger implements SpendReporter {
  private readonly store: SpendStore;
  private readonly toStore: Outbox<SpendRecord>;
  private readonly toHook: Outbox<SpendRecord> | undefined;

  constructor(config: SpendConfig = {}) {
    this.store = config.store ?? memorySpendStore({ maxRecords: config.maxRecords });
    const maxPending = config.maxPending ?? DEFAULT_MAX_PENDING;
    const store = this.store;
    this.toStore = new Outbox({
      ...RETRY,
      maxPending,
      // Synchronous when the store is (the memory store): the outbox then delivers with no promise.
      deliver(records) {
        const appended = store.append(records);
        return appended ? Promise.resolve(appended).then(() => records.length) : records.length;
      },
    });
    const onRecord = config.onRecord;
    this.toHook = onRecord
      ? new Outbox({
          ...RETRY,
          maxPending,
          async deliver(records) {
            for (let index = 0; index < records.length; index++) {
              try {
                await onRecord(records[index]!);
              } catch {
                return index;
              }
            }
            return records.length;
          },
        })
      : undefined;
  }

  add(record: SpendRecord): void {
    this.toStore.push(record);
    this.toHook?.push(record);
  }

  async report(query: SpendQuery): Promise<SpendReportRow[]> {
    const issues = [];
    if (!DIMENSIONS.has(query?.by)) issues.push({ path: "by", message: `expected one of ${[...DIMENSIONS].join(", ")}` });
    if (query?.bucket !== undefined && query.bucket !== "hour" && query.bucket !== "day") issues.push({ path: "bucket", message: "expected hour or day" });
    if (issues.length > 0) throw new InvalidRequestError(issues, "Invalid spend report query:");
    await this.toStore.flush();
    return this.store.report(query);
  }

  /** Delivers what is buffered, once more, then closes the store. */
  async close(): Promise<void> {
    await Promise.all([this.toStore.close(), this.toHook?.close()]);
    await this.store.close?.();
  }
}
