import { z } from "zod";

const fraction = z.number().gt(0).lte(1);
const positiveInt = z.number().int().positive();

/** The `alerts` section of the gateway config: budget thresholds, anomaly rules, a webhook. */
export const alertsConfigSchema = z
  .object({
    /** Fractions of each budget that fire a `budget` event once per period (default 0.5, 0.8, 1). */
    budgetThresholds: z.array(fraction).min(1).optional(),
    /** One user's share of a key's (or the gateway's) spend in a window that fires `anomaly` (default 0.25), when also past twice an equal split among its users. */
    userShare: fraction.optional(),
    /** Requests a key (or the gateway) must have in the window before shares are judged (default 20). */
    minRequests: positiveInt.optional(),
    /** The share window, in ms (default one hour). */
    windowMs: positiveInt.optional(),
    /** A user's hourly spend past this many times its trailing baseline fires `anomaly` (default 5). */
    spikeFactor: z.number().gt(1).optional(),
    /** Users tracked at once for anomalies and user budgets; past it the least recent are evicted (default 10,000). */
    maxTrackedUsers: positiveInt.optional(),
    /** POSTs each alert as JSON, signed: `x-modelgate-signature: sha256=<hex HMAC-SHA256 of the body>`. */
    webhook: z
      .object({
        url: z.url({ protocol: /^https?$/ }),
        secret: z.string().min(16),
        /** Alerts waiting for delivery; past it new ones are dropped and a `webhook` event fires (default 1,000). */
        maxQueue: positiveInt.optional(),
        /** Tries per alert (default 4), with backoff. */
        attempts: positiveInt.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type AlertsConfig = z.infer<typeof alertsConfigSchema>;

export const ALERT_DEFAULTS = {
  budgetThresholds: [0.5, 0.8, 1],
  userShare: 0.25,
  minRequests: 20,
  windowMs: 3_600_000,
  spikeFactor: 5,
  maxTrackedUsers: 10_000,
  maxQueue: 1_000,
  attempts: 4,
} as const;
