/**
 * The gateway's optional config sections, each switched on only if this build's config schema
 * knows it: features land one by one, and the bench must run (and say what was on) at every
 * stage. A section `createGateway` rejects is reported with the reason and left off.
 */
import type { ChatOptions, Gateway, GatewayConfig } from "../src/index.js";
import type { Modelgate } from "./modelgate.js";

export interface Feature {
  name: string;
  /** Top-level config fields this feature adds. */
  config: Record<string, unknown>;
  /**
   * Checks the feature acts, not just parses (a section can land in the schema before its
   * middleware is wired): returns what is wrong, or undefined.
   */
  verify?: (check: FeatureCheck) => Promise<string | undefined>;
  /** Set by the probe when `verify` found the section accepted but inactive. */
  inactive?: string;
}

export interface FeatureCheck {
  modelgate: Modelgate;
  base: GatewayConfig;
  body: () => object;
}

type Body = Parameters<Gateway["chat"]>[0] & { stream?: false };

/** Limits high enough never to trip in a run, so every call pays for the check, never for a rejection. */
const NEVER_TRIPS = { rpm: 100_000_000, tpm: 1_000_000_000_000 };

export const BENCH_KEY = "bench-key";
/** The bearer token the bench servers map to `BENCH_KEY`. */
export const BENCH_TOKEN = "mg-bench-token";
export const BENCH_USER = "u42";
export const BENCH_ROUTE = "bench";
/** An OpenAI model name, so TPM limits count with its tokenizer and cost uses its catalog price, as in an app. */
export const BENCH_MODEL = "gpt-4o-mini";

/** The per-call options every gateway call in the bench passes, with or without features. */
export const CALL_OPTIONS: ChatOptions = { key: BENCH_KEY, user: BENCH_USER, tags: ["bench"] };

export function featureList(): Feature[] {
  return [
    // Telemetry with no OTel SDK registered (the global no-op API), as most apps run it.
    { name: "telemetry", config: { telemetry: { captureContent: false } } },
    {
      name: "limits",
      verify: async ({ modelgate, base, body }) => {
        const gateway = modelgate.createGateway({ ...base, keys: { [BENCH_KEY]: { rpm: 1 } } } as GatewayConfig);
        try {
          await gateway.chat(body() as Body, CALL_OPTIONS);
          await gateway.chat(body() as Body, CALL_OPTIONS);
          return "accepted, but a key with rpm: 1 let 2 calls through (not wired yet?)";
        } catch (error) {
          return (error as { code?: string }).code === "rate_limited" ? undefined : `rpm check threw ${String(error)}`;
        } finally {
          await gateway.close();
        }
      },
      config: {
        keys: {
          [BENCH_KEY]: { ...NEVER_TRIPS, budget: { usd: 1_000_000_000, period: "month" }, models: [BENCH_ROUTE] },
        },
        users: { ...NEVER_TRIPS, budget: { usd: 1_000_000_000, period: "day" } },
        onLimit: "reject",
      },
    },
    {
      name: "prices",
      config: { prices: { [BENCH_MODEL]: { input: 2.5, output: 10, cachedInput: 1.25 } } },
      verify: async ({ modelgate, base, body }) => {
        const gateway = modelgate.createGateway(withFeatures(base, [featureNamed("prices")]));
        try {
          const response = await gateway.chat(body() as Body, CALL_OPTIONS);
          return response.gateway.costUsd > 0 ? undefined : "accepted, but costUsd stayed 0 (not wired yet?)";
        } finally {
          await gateway.close();
        }
      },
    },
    {
      name: "cache",
      config: { cache: { exact: { maxBytes: 64 * 2 ** 20, ttlMs: 3_600_000 }, scope: "key" } },
      verify: async ({ modelgate, base, body }) => {
        const gateway = modelgate.createGateway(withFeatures(base, [featureNamed("cache")]));
        try {
          const same = body();
          await gateway.chat(same as Body, CALL_OPTIONS);
          const again = await gateway.chat(same as Body, CALL_OPTIONS);
          return again.gateway.cache === "exact" ? undefined : `accepted, but a repeat was a cache '${again.gateway.cache}'`;
        } finally {
          await gateway.close();
        }
      },
    },
  ];
}

export function baseConfig(providers: GatewayConfig["providers"], model = BENCH_MODEL, provider = "mock"): GatewayConfig {
  return {
    providers,
    models: { [BENCH_ROUTE]: { deployments: [{ provider, model }], strategy: "ordered" } },
    retry: { retries: 2, minDelayMs: 100, maxDelayMs: 4_000 },
    timeoutMs: 60_000,
  };
}

export function withFeatures(base: GatewayConfig, features: readonly Feature[]): GatewayConfig {
  let config: Record<string, unknown> = { ...base };
  for (const feature of features) config = { ...config, ...feature.config };
  return config as unknown as GatewayConfig;
}

export interface Probe {
  on: Feature[];
  off: { name: string; reason: string }[];
}

/**
 * Keeps the features this build accepts: each is tried alone on `base` with one real call
 * (`probeBody`), so a section the schema knows but that fails at call time is left off too.
 */
export async function probeFeatures(modelgate: Modelgate, base: GatewayConfig, probeBody: () => object): Promise<Probe> {
  const { createGateway, ConfigError } = modelgate;
  const probe: Probe = { on: [], off: [] };
  for (const feature of featureList()) {
    let gateway: Gateway | undefined;
    try {
      gateway = createGateway(withFeatures(base, [feature]));
      await gateway.chat(probeBody() as Body, CALL_OPTIONS);
      const problem = await feature.verify?.({ modelgate, base, body: probeBody });
      if (problem) feature.inactive = shorten(problem);
      probe.on.push(feature);
    } catch (error) {
      const reason =
        error instanceof ConfigError
          ? error.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")
          : error instanceof Error
            ? `${error.name}: ${error.message.split("\n")[0]}`
            : String(error);
      probe.off.push({ name: feature.name, reason: shorten(reason) });
    } finally {
      await gateway?.close();
    }
  }
  return probe;
}

function shorten(text: string, max = 90): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function featureNamed(name: string): Feature {
  return featureList().find((feature) => feature.name === name)!;
}
