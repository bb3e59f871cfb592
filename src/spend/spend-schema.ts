import { z } from "zod";
import type { SpendRecord } from "./spend-record.js";
import type { SpendStore } from "./spend-store.js";

const positiveInt = z.number().int().positive();

const spendStore = z.custom<SpendStore>(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    typeof (value as SpendStore).append === "function" &&
    typeof (value as SpendStore).report === "function",
  "expected a SpendStore: { append(records), report(query) }, e.g. memorySpendStore()",
);

const onRecord = z.custom<(record: SpendRecord) => void | Promise<void>>(
  (value) => typeof value === "function",
  "expected a function (record) => void | Promise<void>",
);

/** The `spend` section of the gateway config. */
export const spendConfigSchema = z
  .object({
    /** Where records go and reports come from (default `memorySpendStore({ maxRecords })`). */
    store: spendStore.optional(),
    /** Called once per record, after the call ended; a hook that throws is retried with backoff. */
    onRecord: onRecord.optional(),
    /** Raw records the default memory store keeps (default 50,000). */
    maxRecords: positiveInt.optional(),
    /** Records buffered while a store or hook keeps failing (default 10,000); past it the oldest are dropped. */
    maxPending: positiveInt.optional(),
  })
  .strict()
  .refine((spend) => spend.store === undefined || spend.maxRecords === undefined, {
    path: ["maxRecords"],
    message: "sizes the default memory store only; with your own store, bound it there",
  });

export type SpendConfig = z.infer<typeof spendConfigSchema>;
