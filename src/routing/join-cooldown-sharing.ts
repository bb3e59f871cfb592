import type { Deployment } from "../core/route.js";
import type { GatewayEvents } from "../core/events.js";
import { canShareCooldowns, type CooldownShare } from "../stores/cooldown-sharing.js";
import type { HealthTracker } from "./health.js";

/**
 * When the gateway's `store` relays cooldowns (`redisStore`): publishes each of this gateway's
 * `cooldown` events, and applies the other processes' to the local `HealthTracker` with
 * `coolFor` (which never shortens a longer cooldown). Only deployments this gateway declares
 * are applied, so a stray message cannot grow its state. A cooldown received this way emits no
 * event here (it would be published again); it shows in `gateway.health()`.
 * Returns the membership to leave at close, or undefined when the store cannot share.
 */
export function joinCooldownSharing(
  store: unknown,
  health: HealthTracker,
  events: GatewayEvents,
  deployments: Iterable<Deployment>,
): CooldownShare | undefined {
  if (!canShareCooldowns(store)) return undefined;
  const known = new Set<string>();
  for (const deployment of deployments) known.add(deployment.id);
  const share = store.shareCooldowns(({ deployment, durationMs }) => {
    if (known.has(deployment)) health.coolFor(deployment, durationMs);
  });
  events.on("cooldown", ({ deployment, durationMs }) => share.publish({ deployment, durationMs }));
  return share;
}
