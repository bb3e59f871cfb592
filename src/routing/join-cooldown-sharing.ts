import type { Deployment } from "../core/route.js";
import { canShareCooldowns, type CooldownShare } from "../stores/cooldown-sharing.js";
import type { HealthTracker } from "./health.js";

/**
 * When the gateway's `store` relays cooldowns (`redisStore`): publishes each cooldown this
 * gateway's `HealthTracker` decides, and applies the other processes' to it with
 * `applySharedCooldown` (which, like `coolFor`, never shortens a longer cooldown, and tells no
 * one, so nothing is published back). Wired to the tracker, not to the public event bus: a
 * listener a user removes, or `events.clear()`, cannot stop the sharing. Only deployments this
 * gateway declares are applied, so a stray message cannot grow its state. A cooldown received
 * this way emits no event here; it shows in `gateway.health()`.
 * Returns the membership to leave at close, or undefined when the store cannot share.
 */
export function joinCooldownSharing(
  store: unknown,
  health: HealthTracker,
  deployments: Iterable<Deployment>,
): CooldownShare | undefined {
  if (!canShareCooldowns(store)) return undefined;
  const known = new Set<string>();
  for (const deployment of deployments) known.add(deployment.id);
  const share = store.shareCooldowns(({ deployment, durationMs }) => {
    if (known.has(deployment)) health.applySharedCooldown(deployment, durationMs);
  });
  const stopPublishing = health.onCooldown((cooldown) => share.publish(cooldown));
  return {
    publish: (cooldown) => share.publish(cooldown),
    leave: () => {
      stopPublishing();
      return share.leave();
    },
  };
}
