import { z } from "zod";

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

/**
 * The config fields for virtual keys, per-user caps and what happens over a limit, added to the
 * gateway schema in one spread. `prices`, `spend` and `store` serve several features and are
 * declared in config/schema.ts.
 */
export function limitsConfigFields() {
  return {
    /** Virtual keys by name. When present, a call naming any other key is rejected. */
    keys: z.record(z.string().min(1), keySchema).optional(),
    /** Default caps for each end user (`options.user`), counted per distinct user. */
    users: limitSchema.optional(),
    onLimit: onLimitSchema.optional(),
  };
}

export type BudgetConfig = z.infer<typeof budgetSchema>;
export type LimitConfig = z.infer<typeof limitSchema>;
export type KeyConfig = z.infer<typeof keySchema>;
export type OnLimit = z.infer<typeof onLimitSchema>;
