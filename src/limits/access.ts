import { ModelNotAllowedError } from "../core/errors.js";
import type { KeyConfig } from "./limits-schema.js";
import type { Middleware } from "../core/compose.js";
import type { CallContext } from "../core/call-context.js";

/**
 * Virtual-key access, checked before the cache can answer: a key with `models` may use only
 * those logical models (`ModelNotAllowedError`). An undeclared key never gets here: the gateway
 * rejects it before the pipeline, without echoing it (it may be a pasted secret). A call
 * without a key passes: it is not a tenant's call, and no key limits apply to it.
 * Registered only when `keys` is configured.
 */
export function createAccess(keys: Readonly<Record<string, KeyConfig>>): Middleware<CallContext> {
  const allowed = new Map<string, { list: readonly string[]; set: ReadonlySet<string> } | undefined>();
  for (const [name, config] of Object.entries(keys)) {
    allowed.set(name, config.models ? { list: config.models, set: new Set(config.models) } : undefined);
  }
  return async function access(ctx, next) {
    const key = ctx.options.key;
    if (key !== undefined) {
      // The gateway rejected unknown keys before the pipeline (before spans could record them).
      const models = allowed.get(key);
      if (models && !models.set.has(ctx.route.name)) throw new ModelNotAllowedError(key, ctx.route.name, models.list);
    }
    return next();
  };
}
