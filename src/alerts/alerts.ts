import type { AnomalyEvent, BudgetAlertEvent, GatewayEvents } from "../core/events.js";
import { announce } from "../core/report.js";
import { AlertWebhook } from "./alert-webhook.js";
import { ALERT_DEFAULTS, type AlertsConfig } from "./alerts-schema.js";
import { BudgetAlerts, type BudgetRule, type BudgetState, type PeriodWindowOf, type SharedBudgets } from "./budget-alerts.js";
import type { SettledSpend } from "./settled-spend.js";
import { ShareAnomalies } from "./share-anomalies.js";
import { SpikeAnomalies } from "./spike-anomalies.js";

/** One alert as `gateway.alerts.recent()` lists it, newest first. */
export type AlertRecord = ({ type: "budget" } & BudgetAlertEvent) | ({ type: "anomaly" } & AnomalyEvent);
export type TimedAlert = AlertRecord & { time: number };

/** `gateway.budgets`: each budget's state in its current period. */
export interface BudgetsReader {
  /**
   * A key's budget (`{ key }`) or a user's (`{ user }`, or `{ key, user }` for a user under a key);
   * `undefined` when no budget applies.
   */
  get(query: { key?: string; user?: string }): Promise<BudgetState | undefined>;
  /** Every key budget, then users with spend this period, most spent first. */
  list(): Promise<BudgetState[]>;
}

/** `gateway.alerts`. */
export interface AlertsReader {
  /** The most recent budget and anomaly alerts (at most 200), newest first. */
  recent(): TimedAlert[];
}

/** Counters of `gateway.stats().alerts`. */
export interface AlertStats {
  budgetAlerts: number;
  anomalies: number;
  /** Users no longer tracked for anomalies or user budgets because `maxTrackedUsers` was reached. */
  evictedUsers: number;
  /** With a store that reads budget counters: store reads or alert claims that failed, and records not checked because too many reads were waiting. */
  sharedBudgets?: { failed: number; skipped: number };
  webhook?: { delivered: number; dropped: number; failed: number; pending: number };
}

export interface AlertsOptions {
  config: AlertsConfig | undefined;
  keys: Readonly<Record<string, { budget?: BudgetRule | undefined }>> | undefined;
  users: { budget?: BudgetRule | undefined } | undefined;
  events: GatewayEvents;
  periodWindow: PeriodWindowOf;
  /** The budget counters' store: budgets and threshold alerts read it when it can (fleet-wide with Redis). */
  shared?: SharedBudgets;
  now?: () => number;
}

const RECENT = 200;

export interface Alerts {
  /** Called once per settled spend record; O(1), never throws into the caller. */
  observe(record: SettledSpend): void;
  readonly budgets: BudgetsReader;
  readonly alerts: AlertsReader;
  stats(): AlertStats;
  /** Stops the webhook and waits for budget checks still reading the store. */
  close(): Promise<void>;
}

/** Budget alerts and spend anomalies, computed from settled spend records. */
export function createAlerts(options: AlertsOptions): Alerts {
  const config = options.config ?? {};
  const now = options.now ?? Date.now;
  const maxTrackedUsers = config.maxTrackedUsers ?? ALERT_DEFAULTS.maxTrackedUsers;
  const recent: TimedAlert[] = [];
  let budgetAlerts = 0;
  let anomalies = 0;
  const webhook = config.webhook
    ? new AlertWebhook({
        url: config.webhook.url,
        secret: config.webhook.secret,
        maxQueue: config.webhook.maxQueue ?? ALERT_DEFAULTS.maxQueue,
        attempts: config.webhook.attempts ?? ALERT_DEFAULTS.attempts,
        onFailure: (event) => announce(options.events, "webhook", () => event),
      })
    : undefined;
  const remember = (alert: AlertRecord): void => {
    recent.unshift({ ...alert, time: now() });
    if (recent.length > RECENT) recent.pop();
  };
  const budget = new BudgetAlerts({
    keys: options.keys ?? {},
    users: options.users,
    thresholds: config.budgetThresholds ?? ALERT_DEFAULTS.budgetThresholds,
    maxTrackedUsers,
    periodWindow: options.periodWindow,
    shared: options.shared,
    now,
    emit(event) {
      budgetAlerts++;
      remember({ type: "budget", ...event });
      announce(options.events, "budget", () => event);
      webhook?.send("budget", event);
    },
  });
  const onAnomaly = (event: AnomalyEvent): void => {
    anomalies++;
    remember({ type: "anomaly", ...event });
    announce(options.events, "anomaly", () => event);
    webhook?.send("anomaly", event);
  };
  const share = new ShareAnomalies({
    userShare: config.userShare ?? ALERT_DEFAULTS.userShare,
    minRequests: config.minRequests ?? ALERT_DEFAULTS.minRequests,
    windowMs: config.windowMs ?? ALERT_DEFAULTS.windowMs,
    maxTrackedUsers,
    emit: onAnomaly,
  });
  const spike = new SpikeAnomalies({ spikeFactor: config.spikeFactor ?? ALERT_DEFAULTS.spikeFactor, maxTrackedUsers, emit: onAnomaly });
  const budgetsApply = budget.applies;

  return {
    observe(record) {
      try {
        if (budgetsApply) budget.observe(record);
        share.observe(record);
        spike.observe(record);
      } catch {
        // Alerts are advice: a bug here must never fail the call whose spend it reads.
      }
    },
    budgets: {
      get: async (query) => {
        const state = budget.get(query ?? {});
        return state ? (await budget.fromStore([state]))[0] : undefined;
      },
      list: async () => budget.fromStore(budget.list()),
    },
    alerts: { recent: () => recent.map((alert) => ({ ...alert })) },
    stats() {
      const stats: AlertStats = {
        budgetAlerts,
        anomalies,
        evictedUsers: budget.evictedUsers + share.untrackedUsers + spike.evictedUsers,
      };
      if (options.shared?.store()?.readBudgets) stats.sharedBudgets = { failed: budget.sharedFailures, skipped: budget.sharedSkipped };
      if (webhook) stats.webhook = { delivered: webhook.delivered, dropped: webhook.dropped, failed: webhook.failed, pending: webhook.pending };
      return stats;
    },
    async close() {
      await budget.drain();
      webhook?.close();
    },
  };
}
