import { z } from "zod";
import type { ProviderAdapter } from "../core/provider-adapter.js";
import { telemetryConfigSchema } from "../telemetry/telemetry-config.js";
import { budgetSchema, keySchema, limitSchema, limitsConfigFields } from "../limits/limits-schema.js";
import { spendConfigSchema } from "../spend/spend-schema.js";
import { alertsConfigSchema } from "../alerts/alerts-schema.js";
import type { StateStore } from "../stores/store.js";
import { cacheConfigSchema } from "../cache/cache-config.js";
import type { PostgresControlPlane } from "../control-plane/postgres-control-plane.js";

import { fallbackConditionSchema, priceSchema, strategySchema } from "../core/route.js";
import { acceptCheck, checkCascadeRoute, hedgeSchema } from "./cascade-schema.js";

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

const providerAdapter = z.custom<ProviderAdapter>(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    typeof (value as ProviderAdapter).chat === "function" &&
    typeof (value as ProviderAdapter).stream === "function",
  "expected a provider adapter such as openai({ apiKey }) from 'modelgate/openai'",
);

const stateStore = z.custom<StateStore>(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    typeof (value as StateStore).consumeTokens === "function" &&
    typeof (value as StateStore).reserveBudget === "function",
  "expected a StateStore such as memoryStore() or redisStore({ url })",
);

const controlPlane = z.custom<PostgresControlPlane>(
  (value) =>
    typeof value === "object" &&
    value !== null &&
    typeof (value as PostgresControlPlane).ready === "function" &&
    typeof (value as PostgresControlPlane).spentBy === "function" &&
    typeof (value as PostgresControlPlane).keys?.get === "function" &&
    typeof (value as PostgresControlPlane).spend?.append === "function",
  "expected a control plane such as postgresControlPlane({ url }) from 'modelgate/postgres'",
);

/**
 * The config fields for limits, budgets, prices and spend, added to the gateway schema in one
 * spread. A function of the price schema, so this file needs no runtime import of schema.ts
 * (which imports it).
 */
const deploymentSchema = z
  .object({
    provider: z.string().min(1),
    model: z.string().min(1),
    weight: z.number().positive().optional(),
    rpm: positiveInt.optional(),
    tpm: positiveInt.optional(),
    timeoutMs: positiveInt.optional(),
    /** Overrides the catalog's context window, in tokens. */
    contextWindow: positiveInt.optional(),
    /** Overrides the catalog's maximum output, in tokens. */
    maxOutputTokens: positiveInt.optional(),
    price: priceSchema.optional(),
  })
  .strict();

const shorthandRoute = z
  .string()
  .regex(/^[^/\s]+\/\S+$/, "expected 'provider/model' (e.g. 'openai/gpt-4o-mini') or { deployments: [...] }");

const routeSchema = z
  .object({
    deployments: z.array(z.union([deploymentSchema, shorthandRoute])).min(1, "expected at least one deployment"),
    strategy: strategySchema.optional(),
    fallbacks: z.array(z.string().min(1)).optional(),
    /** `false` keeps this route's answers out of the cache. */
    cache: z.boolean().optional(),
    /**
     * Non-retryable failures (4xx statuses, or provider error types) that fall back to the
     * next deployment, cooling this one long, instead of ending the call. Default [401, 403, 404].
     */
    fallbackOn: z.array(fallbackConditionSchema).max(50).optional(),
    /** For `strategy: "cascade"` (required there): whether a tier's answer is good enough. */
    accept: acceptCheck.optional(),
    hedge: hedgeSchema.optional(),
  })
  .strict()
  .superRefine(checkCascadeRoute);

export const gatewayConfigSchema = z
  .object({
    providers: z.record(z.string().regex(/^[^/\s]+$/, "provider names may not contain '/' or spaces"), providerAdapter),
    models: z.record(z.string().min(1), z.union([shorthandRoute, routeSchema])).optional(),
    retry: z
      .object({ retries: nonNegativeInt.optional(), minDelayMs: nonNegativeInt.optional(), maxDelayMs: nonNegativeInt.optional() })
      .strict()
      .optional(),
    /** Per attempt; for streams, until the first chunk. */
    timeoutMs: positiveInt.optional(),
    /** One deadline over every retry and fallback of a call. */
    deadlineMs: positiveInt.optional(),
    /** Longest silence between two stream chunks before the stream fails. */
    streamIdleTimeoutMs: positiveInt.optional(),
    cooldown: z
      .object({
        failures: positiveInt.optional(),
        windowMs: positiveInt.optional(),
        durationMs: positiveInt.optional(),
        maxDurationMs: positiveInt.optional(),
      })
      .strict()
      .optional(),
    ...limitsConfigFields(),
    /** USD per 1M tokens by model name (or `provider/model`); overrides the built-in catalog. */
    prices: z.record(z.string().min(1), priceSchema).optional(),
    spend: spendConfigSchema.optional(),
    /** Budget thresholds, spend anomaly rules and an alert webhook (defaults apply when absent). */
    alerts: alertsConfigSchema.optional(),
    /** Where buckets and budget counters live (default `memoryStore()`). */
    store: stateStore.optional(),
    /**
     * Durable spend ledger, runtime virtual keys and budgets that survive restarts
     * (`postgresControlPlane` from `modelgate/postgres`). The gateway closes it at `close()`.
     */
    controlPlane: controlPlane.optional(),
    /** How long the first calls wait for the control plane (keys loaded, budgets seeded) at start, in ms (default 10,000). */
    controlPlaneTimeoutMs: positiveInt.optional(),
    /** Exact and semantic answer cache; off when absent. */
    cache: cacheConfigSchema.optional(),
    /** Tracer, meter and content capture; defaults to the global OpenTelemetry API. */
    telemetry: telemetryConfigSchema.optional(),
  })
  .strict();

export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
export type DeploymentConfig = z.infer<typeof deploymentSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
export type BudgetConfig = z.infer<typeof budgetSchema>;
export type LimitConfig = z.infer<typeof limitSchema>;
export type KeyConfig = z.infer<typeof keySchema>;
export { budgetSchema, limitSchema, keySchema };
