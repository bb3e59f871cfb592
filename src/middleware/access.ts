import { InvalidRequestError, ModelNotAllowedError } from "../errors.js";
import type { KeyConfig } from "../limits/limits-schema.js";
import type { Middleware } from "../pipeline/compose.js";
import type { CallContext } from "../pipeline/context.js";

/**
 * Virtual-key access, checked before the cache can answer: with `keys` configured, a call naming
 * a key that is not declared is an `InvalidRequestError` on `options.key` (a typo must not run
 * unlimited; the key itself is not echoed, in case it is a secret), and a key with `models` may
 * use only those logical models (`ModelNotAllowedError`). A call without a key passes: it is
 * not a tenant's call, and no key limits apply to it.
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
      if (!allowed.has(key)) {
        throw new InvalidRequestError([{ path: "options.key", message: "is not a configured key (see `keys` in the gateway config)" }], "Invalid chat options:");
      }
      const models = allowed.get(key);
      if (models && !models.set.has(ctx.route.name)) throw new ModelNotAllowedError(key, ctx.route.name, models.list);
    }
    return next();
  };
}
