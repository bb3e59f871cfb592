import type { GatewayConfig } from "../../index.js";

type Providers = GatewayConfig["providers"];

const KINDS = ["openai", "anthropic", "google"] as const;
type Kind = (typeof KINDS)[number];

/**
 * Lets a config that cannot hold code (`.json`) name its providers as data:
 * `"providers": { "openai": { "type": "openai", "baseURL": "...", "apiKeyEnv": "MY_OPENAI_KEY" } }`.
 * Keys are never written in a file: `apiKeyEnv` names the variable, else the adapter reads its
 * provider's usual one. Ready adapters (from a `.ts`/`.js` config) pass through untouched.
 */
export async function resolveProviderSpecs(providers: unknown, env: NodeJS.ProcessEnv): Promise<Providers> {
  if (typeof providers !== "object" || providers === null) return providers as Providers;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(providers)) {
    if (!isSpec(value)) {
      out[name] = value;
      continue;
    }
    const { type, apiKeyEnv, ...options } = value;
    if (!KINDS.includes(type as Kind)) {
      throw new Error(`providers.${name}.type: expected one of ${KINDS.join(", ")}, got '${String(type).slice(0, 40)}'`);
    }
    if ("apiKey" in options) throw new Error(`providers.${name}.apiKey: keep keys out of config files; name the variable with apiKeyEnv`);
    const apiKey = typeof apiKeyEnv === "string" ? env[apiKeyEnv] : undefined;
    if (typeof apiKeyEnv === "string" && !apiKey) throw new Error(`providers.${name}.apiKeyEnv: ${apiKeyEnv.slice(0, 60)} is not set`);
    const adapterOptions = { ...options, ...(apiKey ? { apiKey } : {}) };
    out[name] = await build(type as Kind, adapterOptions);
  }
  return out as Providers;
}

function isSpec(value: unknown): value is { type: unknown; apiKeyEnv?: unknown } & Record<string, unknown> {
  return typeof value === "object" && value !== null && typeof (value as { chat?: unknown }).chat !== "function" && "type" in value;
}

async function build(kind: Kind, options: Record<string, unknown>): Promise<unknown> {
  switch (kind) {
    case "openai":
      return (await import("../../openai.js")).openai(options);
    case "anthropic":
      return (await import("../../anthropic.js")).anthropic(options);
    case "google":
      return (await import("../../google.js")).google(options);
  }
}
