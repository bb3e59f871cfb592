import { z } from "zod";
import type { priceSchema as PriceSchema } from "../config/schema.js";
import type { StateStore } from "../stores/store.js";
import { spendConfigSchema } from "../spend/spend-schema.js";

const positiveInt = z.number().int().positive();

/** A spending cap in USD over a calendar period in UTC (weeks start on Monday). */
export const budgetSchema = z.object({ usd: z.number().nonnegative(), period: z.enum(["day", "week", "month", "total"]) }).strict();

/** Caps for one scope: requests and tokens per minute, and a budget. */
export const limitSchema = z
  .object({ rpm: positiveInt.optional(), tpm: positiveInt.optional(), budget: budgetSchema.optional() })
  .strict();

/** A virtual key: its caps, and the logical models it may use (all when absent). */
export const keySchema = limitSchema.extend({ models: z.array(z.string().min(1)).optional() }).strict();

/** What happens to a call over a key or user RPM/TPM limit: rejected at once, or queued. */
export const onLimitSchema = z.union([
  z.literal("reject"),
  z.object({ queue: z.object({ maxWaitMs: positiveInt }).strict() }).strict(),
]);

const stateStore = z.custom<StateStore>(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    typeof (value as StateStore).consumeTokens === "function" &&
    typeof (value as StateStore).reserveBudget === "function",
  "expected a StateStore such as memoryStore() or redisStore({ url })",
);

/**
 * The config fields for limits, budgets, prices and spend, added to the gateway schema in one
 * spread. A function of the price schema, so this file needs no runtime import of schema.ts
 * (which imports it).
 */
export function limitsConfigFields(priceSchema: typeof PriceSchema) {
  return {
    /** Virtual keys by name. When present, a call naming any other key is rejected. */
    keys: z.record(z.string().min(1), keySchema).optional(),
    /** Default caps for each end user (`options.user`), counted per distinct user. */
    users: limitSchema.optional(),
    onLimit: onLimitSchema.optional(),
    /** USD per 1M tokens by model name (or `provider/model`); overrides the built-in catalog. */
    prices: z.record(z.string().min(1), priceSchema).optional(),
    spend: spendConfigSchema.optional(),
    /** Where buckets and budget counters live (default `memoryStore()`). */
    store: stateStore.optional(),
  };
}

export type BudgetConfig = z.infer<typeof budgetSchema>;
export type LimitConfig = z.infer<typeof limitSchema>;
export type KeyConfig = z.infer<typeof keySchema>;
export type OnLimit = z.infer<typeof onLimitSchema>;
