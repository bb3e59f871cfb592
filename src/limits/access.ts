import { ModelNotAllowedError } from "../core/errors.js";
import type { KeyConfig } from "./limits-schema.js";
import type { Middleware } from "../core/compose.js";
import type { CallContext } from "../core/call-context.js";

/**
 * Virtual-key access, checked before the cache can answer: a key with `models` may use only
 * those logical models (`ModelNotAllowedError`). An undeclared key never gets here: the gateway
 * rejects it before the pipeline, without echoing it (it may be a pasted secret). A call
 * without a key passes: it is not a tenant's call, and no key limits apply to it.
 * Registered when `keys` or a control plane (runtime keys, looked up per call) is configured.
 */
export function createAccess(
  keys: Readonly<Record<string, KeyConfig>>,
  runtimeKey?: (name: string) => KeyConfig | undefined,
): Middleware<CallContext> {
  type Allowed = { list: readonly string[]; set: ReadonlySet<string> } | undefined;
  const allowedOf = (config: KeyConfig): Allowed => (config.models ? { list: config.models, set: new Set(config.models) } : undefined);
  const allowed = new Map<string, Allowed>();
  for (const [name, config] of Object.entries(keys)) allowed.set(name, allowedOf(config));
  // Runtime keys (a control plane): static keys first; a changed config object is a changed key.
  const runtime = new Map<string, { config: KeyConfig; allowed: Allowed }>();
  const modelsOf = (name: string): Allowed => {
    if (allowed.has(name) || !runtimeKey) return allowed.get(name);
    const config = runtimeKey(name);
    if (!config) {
      runtime.delete(name);
      return undefined;
    }
    let entry = runtime.get(name);
    if (!entry || entry.config !== config) {
      entry = { config, allowed: allowedOf(config) };
      runtime.set(name, entry);
    }
    return entry.allowed;
  };
  return async function access(ctx, next) {
    const key = ctx.options.key;
    if (key !== undefined) {
      // The gateway rejected unknown and revoked keys before the pipeline (before spans could record them).
      const models = modelsOf(key);
      if (models && !models.set.has(ctx.route.name)) throw new ModelNotAllowedError(key, ctx.route.name, models.list);
    }
    return next();
  };
}
