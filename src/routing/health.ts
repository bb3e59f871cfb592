import type { Deployment } from "../core/route.js";
import type { SharedCooldown } from "../stores/cooldown-sharing.js";

export interface CooldownOptions {
  /** Retryable failures inside `windowMs` that eject a deployment. */
  failures: number;
  windowMs: number;
  /** First ejection's length; each further ejection in a row doubles it, up to `maxDurationMs`. */
  durationMs: number;
  maxDurationMs: number;
}

/** One deployment's health as `gateway.health()` reports it. */
export interface DeploymentHealth {
  deployment: string;
  provider: string;
  model: string;
  /** `probing`: the one call after a cooldown is in flight; until it succeeds, `ejections` stays above 0. */
  state: "healthy" | "cooling" | "probing";
  /** Retryable failures inside the window. */
  recentFailures: number;
  /** When cooling: ms until it may be tried again. */
  coolingForMs: number;
  /** Ejections in a row without a success between them. */
  ejections: number;
  /** Exponentially weighted latency of successful attempts (ms); undefined before the first. */
  latencyEwmaMs: number | undefined;
  inFlight: number;
}

interface State {
  failures: number[];
  coolingUntil: number;
  ejections: number;
  probeInFlight: boolean;
  ewmaMs: number | undefined;
  inFlight: number;
}

/**
 * Deployments tracked at most. Direct `provider/model` names come from callers, so the map
 * must not grow with every name tried; past this, healthy idle entries are forgotten first.
 */
const MAX_TRACKED = 4_096;

/** Weight of the newest sample in the latency EWMA. */
const EWMA_ALPHA = 0.3;

/**
 * Health of every deployment: failures in a sliding window, cooldowns that grow on repeated
 * ejection (with jitter, so replicas do not probe in lockstep), one probe after a cooldown,
 * latency EWMA and in-flight counts for the strategies.
 */
export class HealthTracker {
  private readonly states = new Map<string, State>();
  private readonly cooldownListeners = new Set<(cooldown: SharedCooldown) => void>();

  constructor(
    private readonly options: CooldownOptions,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  private state(id: string): State {
    let state = this.states.get(id);
    if (!state) {
      if (this.states.size >= MAX_TRACKED) this.forgetOneIdle();
      state = { failures: [], coolingUntil: 0, ejections: 0, probeInFlight: false, ewmaMs: undefined, inFlight: 0 };
      this.states.set(id, state);
    }
    return state;
  }

  /** Drops the oldest entry that holds nothing worth keeping (no calls, no cooldown). */
  private forgetOneIdle(): void {
    const now = this.now();
    for (const [id, state] of this.states) {
      if (state.inFlight === 0 && state.coolingUntil <= now && state.ejections === 0) {
        this.states.delete(id);
        return;
      }
    }
  }

  /** ms until the deployment may be tried, 0 when it may be tried now. */
  unavailableForMs(id: string): number {
    const state = this.states.get(id);
    if (!state) return 0;
    const remaining = state.coolingUntil - this.now();
    if (remaining > 0) return remaining;
    // After a cooldown one probe goes through; others wait for its verdict a little longer.
    if (state.ejections > 0 && state.probeInFlight) return Math.min(this.options.durationMs, 1_000);
    return 0;
  }

  /** Marks the start of an attempt; returns whether it is the probe after a cooldown. */
  begin(id: string): boolean {
    const state = this.state(id);
    state.inFlight++;
    if (state.ejections > 0 && !state.probeInFlight && state.coolingUntil <= this.now()) {
      state.probeInFlight = true;
      return true;
    }
    return false;
  }

  /** Ends an attempt that `begin` started, successful or not. */
  end(id: string, probe: boolean): void {
    const state = this.state(id);
    state.inFlight = Math.max(0, state.inFlight - 1);
    if (probe) state.probeInFlight = false;
  }

  success(id: string, latencyMs: number): void {
    const state = this.state(id);
    state.ewmaMs = state.ewmaMs === undefined ? latencyMs : state.ewmaMs + EWMA_ALPHA * (latencyMs - state.ewmaMs);
    state.ejections = 0;
    state.failures.length = 0;
  }

  /**
   * Records a retryable failure. Returns the cooldown length when this failure ejected the
   * deployment (enough failures in the window, or a failed probe), else undefined.
   */
  failure(id: string, probe: boolean): number | undefined {
    const state = this.state(id);
    const now = this.now();
    const windowStart = now - this.options.windowMs;
    while (state.failures.length > 0 && state.failures[0]! < windowStart) state.failures.shift();
    state.failures.push(now);
    if (!probe && state.failures.length < this.options.failures) return undefined;
    const base = Math.min(this.options.maxDurationMs, this.options.durationMs * 2 ** state.ejections);
    const duration = Math.round(base * (0.9 + 0.2 * this.random()));
    state.ejections++;
    state.failures.length = 0;
    return this.coolFor(id, duration) ? duration : undefined;
  }

  /**
   * Subscribes to the cooldowns this tracker decides (by failures, or `coolFor`), not those it
   * applies from other processes: what cooldown sharing publishes. Returns the unsubscribe.
   */
  onCooldown(listener: (cooldown: SharedCooldown) => void): () => void {
    this.cooldownListeners.add(listener);
    return () => this.cooldownListeners.delete(listener);
  }

  /**
   * Cools a deployment for `ms` (e.g. a Retry-After longer than the retry budget). A shorter
   * cooldown never cuts a longer one already in force; returns whether this one extended it.
   */
  coolFor(id: string, ms: number): boolean {
    if (!this.extendCooldown(id, ms)) return false;
    for (const listener of this.cooldownListeners) listener({ deployment: id, durationMs: ms });
    return true;
  }

  /** A cooldown another process decided (see `onCooldown`): applied like `coolFor`, told to no one. */
  applySharedCooldown(id: string, ms: number): boolean {
    return this.extendCooldown(id, ms);
  }

  private extendCooldown(id: string, ms: number): boolean {
    const state = this.state(id);
    const until = this.now() + ms;
    if (until <= state.coolingUntil) return false;
    state.coolingUntil = until;
    if (state.ejections === 0) state.ejections = 1;
    return true;
  }

  latencyMs(id: string): number | undefined {
    return this.states.get(id)?.ewmaMs;
  }

  inFlight(id: string): number {
    return this.states.get(id)?.inFlight ?? 0;
  }

  report(deployments: Iterable<Deployment>): DeploymentHealth[] {
    const now = this.now();
    const rows: DeploymentHealth[] = [];
    for (const deployment of deployments) {
      const state = this.states.get(deployment.id);
      const coolingForMs = Math.max(0, (state?.coolingUntil ?? 0) - now);
      const windowStart = now - this.options.windowMs;
      rows.push({
        deployment: deployment.id,
        provider: deployment.provider,
        model: deployment.model,
        state: coolingForMs > 0 ? "cooling" : state?.probeInFlight ? "probing" : "healthy",
        recentFailures: state ? state.failures.filter((at) => at >= windowStart).length : 0,
        coolingForMs,
        ejections: state?.ejections ?? 0,
        latencyEwmaMs: state?.ewmaMs,
        inFlight: state?.inFlight ?? 0,
      });
    }
    return rows;
  }
}
