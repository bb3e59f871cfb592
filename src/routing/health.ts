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

/** Why a deployment is cooling: ejected for failures (ours), asked by the provider, or by another process. */
export type CoolingReason = "failures" | "retry-after" | "deployment" | "shared";

interface State {
  failures: number[];
  coolingUntil: number;
  coolingReason: CoolingReason;
  ejections: number;
  /** Bumped at each ejection: verdicts of attempts begun before it are stale. */
  epoch: number;
  probeInFlight: boolean;
  /** An early probe (every candidate of a call was cooling) is in flight. */
  earlyProbeInFlight: boolean;
  ewmaMs: number | undefined;
  inFlight: number;
}

/**
 * What `begin` hands an attempt, for its verdict: whether it is the probe after a cooldown,
 * the ejection epoch it began in, and whether it began while the deployment was cooling.
 */
export interface AttemptTicket {
  readonly probe: boolean;
  readonly epoch: number;
  readonly duringCooldown: boolean;
}

/**
 * Deployments tracked at most. Direct `provider/model` names come from callers, so the map
 * must not grow with every name tried; past this, healthy idle entries are forgotten first.
 */
const MAX_TRACKED = 4_096;

/** Weight of the newest sample in the latency EWMA. */
const EWMA_ALPHA = 0.3;

/**
 * Health of every deployment, after Envoy's outlier detection: consecutive retryable failures
 * (a success resets them) inside a window eject a deployment; each ejection in a row without a
 * success between them doubles its length (with jitter, so replicas do not probe in lockstep);
 * one probe after a cooldown. Verdicts that say nothing new are ignored: the failures of
 * attempts that were in flight when the deployment was ejected (one burst is one ejection,
 * not seven), and those of attempts begun during the cooldown. A success of an attempt begun
 * during an ejection ends it. Also latency EWMA and in-flight counts for the strategies.
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
      state = {
        failures: [],
        coolingUntil: 0,
        coolingReason: "failures",
        ejections: 0,
        epoch: 0,
        probeInFlight: false,
        earlyProbeInFlight: false,
        ewmaMs: undefined,
        inFlight: 0,
      };
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

  /** Why the deployment is cooling (meaningful while `unavailableForMs` is above 0). */
  coolingReason(id: string): CoolingReason {
    return this.states.get(id)?.coolingReason ?? "failures";
  }

  /**
   * Claims the one early probe of a cooling deployment, for a call that found every candidate
   * cooling (Envoy's panic mode, one call at a time). Returns the release, or undefined when
   * another call holds it.
   */
  claimEarlyProbe(id: string): (() => void) | undefined {
    const state = this.state(id);
    if (state.earlyProbeInFlight) return undefined;
    state.earlyProbeInFlight = true;
    return () => {
      state.earlyProbeInFlight = false;
    };
  }

  /** Marks the start of an attempt; the ticket goes back with its verdict. */
  begin(id: string): AttemptTicket {
    const state = this.state(id);
    state.inFlight++;
    const now = this.now();
    const duringCooldown = state.coolingUntil > now;
    let probe = false;
    if (state.ejections > 0 && !state.probeInFlight && !duringCooldown) {
      state.probeInFlight = true;
      probe = true;
    }
    return { probe, epoch: state.epoch, duringCooldown };
  }

  /** Ends an attempt that `begin` started, successful or not. */
  end(id: string, ticket: AttemptTicket): void {
    const state = this.state(id);
    state.inFlight = Math.max(0, state.inFlight - 1);
    if (ticket.probe) state.probeInFlight = false;
  }

  success(id: string, latencyMs: number, ticket: AttemptTicket): void {
    const state = this.state(id);
    state.ewmaMs = state.ewmaMs === undefined ? latencyMs : state.ewmaMs + EWMA_ALPHA * (latencyMs - state.ewmaMs);
    // Begun before the latest ejection: it says nothing about the deployment since.
    if (ticket.epoch !== state.epoch) return;
    state.failures.length = 0;
    state.ejections = 0;
    // Served while ejected for failures: it is back. A provider's own wait stands.
    if (ticket.duringCooldown && state.coolingUntil > this.now() && state.coolingReason === "failures") state.coolingUntil = 0;
  }

  /**
   * Records a retryable failure. Returns the cooldown length when this failure ejected the
   * deployment (enough failures in a row within the window, or a failed probe), else
   * undefined. A stale verdict (begun before the latest ejection, or during a cooldown)
   * neither counts nor extends anything.
   */
  failure(id: string, ticket: AttemptTicket): number | undefined {
    const state = this.state(id);
    if (ticket.epoch !== state.epoch || ticket.duringCooldown) return undefined;
    const now = this.now();
    if (state.coolingUntil > now) return undefined; // ejected meanwhile by another attempt
    const windowStart = now - this.options.windowMs;
    while (state.failures.length > 0 && state.failures[0]! < windowStart) state.failures.shift();
    state.failures.push(now);
    if (!ticket.probe && state.failures.length < this.options.failures) return undefined;
    return this.eject(id, state);
  }

  /**
   * Ejects for a failure that says this deployment cannot serve (a retired model, a revoked
   * key): at the longest cooldown at once, since a retry soon will fail the same way. Returns
   * the length, or undefined when a longer cooldown is already in force.
   */
  ejectForDeploymentFailure(id: string): number | undefined {
    const state = this.state(id);
    const duration = Math.round(this.options.maxDurationMs * (0.9 + 0.1 * this.random()));
    if (!this.coolFor(id, duration, "deployment")) return undefined;
    state.epoch++;
    state.failures.length = 0;
    return duration;
  }

  private eject(id: string, state: State): number | undefined {
    const base = Math.min(this.options.maxDurationMs, this.options.durationMs * 2 ** state.ejections);
    const duration = Math.round(base * (0.9 + 0.2 * this.random()));
    state.ejections++;
    state.epoch++;
    state.failures.length = 0;
    return this.coolFor(id, duration, "failures") ? duration : undefined;
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
  coolFor(id: string, ms: number, reason: Exclude<CoolingReason, "shared"> = "retry-after"): boolean {
    if (!this.extendCooldown(id, ms, reason)) return false;
    for (const listener of this.cooldownListeners) listener({ deployment: id, durationMs: ms });
    return true;
  }

  /** A cooldown another process decided (see `onCooldown`): applied like `coolFor`, told to no one. */
  applySharedCooldown(id: string, ms: number): boolean {
    return this.extendCooldown(id, ms, "shared");
  }

  private extendCooldown(id: string, ms: number, reason: CoolingReason): boolean {
    const state = this.state(id);
    const until = this.now() + ms;
    if (until <= state.coolingUntil) return false;
    state.coolingUntil = until;
    state.coolingReason = reason;
    // A provider's Retry-After is a wait, not an ejection: it neither grows the next ejection
    // nor holds calls behind a probe when it ends.
    if (reason === "shared" && state.ejections === 0) state.ejections = 1;
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
