/**
 * How a gateway learns of cooldowns decided by other processes, without asking anyone on each
 * call: a shared store (Redis) relays each ejection once, and every other gateway applies it
 * to its own `HealthTracker`. Routing then reads local state only, as it always does.
 */

/** One deployment ejected for `durationMs`, from the moment it is received. */
export interface SharedCooldown {
  /** The deployment id, `provider/model`: the same in every process that shares a config. */
  readonly deployment: string;
  readonly durationMs: number;
}

/** A gateway's membership in the fleet's cooldown channel. */
export interface CooldownShare {
  /** Tells the other members; fire and forget (a cooldown lost while the store is down is only local). */
  publish(cooldown: SharedCooldown): void;
  /** Stops receiving; the store itself stays open. */
  leave(): Promise<void>;
}

/**
 * Implemented by stores that can relay cooldowns between processes (`redisStore`).
 *
 * @example
 * const share = store.shareCooldowns(({ deployment, durationMs }) => health.applySharedCooldown(deployment, durationMs));
 * health.onCooldown((cooldown) => share.publish(cooldown));
 */
export interface CooldownSharing {
  /** Joins the channel: `apply` receives every other member's cooldowns (never this member's own). */
  shareCooldowns(apply: (cooldown: SharedCooldown) => void): CooldownShare;
}

/** Whether a configured store can relay cooldowns. */
export function canShareCooldowns(store: unknown): store is CooldownSharing {
  return typeof store === "object" && store !== null && typeof (store as CooldownSharing).shareCooldowns === "function";
}
