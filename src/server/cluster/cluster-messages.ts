/**
 * What `modelgate serve --workers N` processes tell each other over the cluster's IPC channel.
 * Every type is prefixed so the messages of other libraries on the channel pass by.
 */
import type { MetricObjectWithValues, MetricValue } from "prom-client";

export type WorkerMessage =
  /**
   * The worker listens; `note` is what the single-process server would print at start;
   * `drainTimeoutMs` is its drain bound (the config's, which the primary never loads).
   */
  | { readonly type: "modelgate:ready"; readonly url: string; readonly note: string; readonly drainTimeoutMs: number }
  /** A `/metrics` scrape reached this worker: the primary answers for the whole cluster. */
  | { readonly type: "modelgate:metrics-request"; readonly id: number }
  /** This worker's own registry (prom-client's JSON form), for the primary to sum. */
  | { readonly type: "modelgate:metrics-local"; readonly id: number; readonly metrics?: MetricObjectWithValues<MetricValue<string>>[]; readonly error?: string };

export type PrimaryMessage =
  /** Stop taking calls, finish those in flight (bounded), exit 0. */
  | { readonly type: "modelgate:drain" }
  /** Send this worker's own registry (`modelgate:metrics-local`). */
  | { readonly type: "modelgate:metrics-gather"; readonly id: number }
  | { readonly type: "modelgate:metrics-reply"; readonly id: number; readonly body?: string; readonly error?: string };

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  const type = (message as { type?: unknown } | null)?.type;
  return type === "modelgate:ready" || type === "modelgate:metrics-request" || type === "modelgate:metrics-local";
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  const type = (message as { type?: unknown } | null)?.type;
  return type === "modelgate:drain" || type === "modelgate:metrics-gather" || type === "modelgate:metrics-reply";
}
