import type { AttemptContext } from "../core/attempt-context.js";
import type { Middleware } from "../core/compose.js";
import type { GatewayEvents } from "../core/events.js";
import type { Deployment } from "../core/route.js";
import { withIdentity } from "../core/identity.js";
import { report } from "../core/report.js";

/** What the warning says: the model, its retirement date when known, and what to move to. */
function deprecationMessage(deployment: Deployment): string {
  const deprecated = deployment.deprecated!;
  const today = new Date().toISOString().slice(0, 10);
  const when =
    deprecated.retiresOn === undefined
      ? "is deprecated"
      : deprecated.retiresOn <= today
        ? `was retired on ${deprecated.retiresOn}`
        : `is deprecated and retires on ${deprecated.retiresOn}`;
  const instead = deprecated.replacement === undefined ? "" : `; use '${deprecated.replacement}' instead`;
  return `model '${deployment.model}' (${deployment.provider}) ${when}${instead}`;
}

/**
 * Attempt middleware: the first attempt on a deployment whose catalog row is deprecated emits a
 * `warning` event (`code: "model_deprecated"`). Once per provider/model per gateway: a busy
 * gateway should not repeat it per call. The set of warned models lives in this closure, one
 * per gateway, and holds at most one entry per deprecated catalog row the gateway used.
 */
export function createDeprecationWarnings(events: GatewayEvents): Middleware<AttemptContext> {
  const warned = new Set<string>();
  return async (attempt, next) => {
    const { deployment } = attempt;
    if (deployment.deprecated !== undefined) {
      const key = `${deployment.provider}/${deployment.model}`;
      if (!warned.has(key)) {
        warned.add(key);
        // The first use is the moment: a listener added later does not hear of it.
        report(events, attempt.call, "warning", () =>
          withIdentity(attempt.call, {
            code: "model_deprecated" as const,
            message: deprecationMessage(deployment),
            provider: deployment.provider,
            deployment: deployment.id,
            providerModel: deployment.model,
            deprecated: deployment.deprecated!,
          }),
        );
      }
    }
    await next();
  };
}
