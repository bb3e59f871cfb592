/**
 * What `modelgate serve --workers N` processes tell each other over the cluster's IPC channel.
 * Every type is prefixed so the messages of other libraries on the channel (prom-client's
 * metric requests) pass by.
 */
export type WorkerMessage =
  /**
   * The worker listens; `note` is what the single-process server would print at start;
   * `drainTimeoutMs` is its drain bound (the config's, which the primary never loads).
   */
  | { readonly type: "modelgate:ready"; readonly url: string; readonly note: string; readonly drainTimeoutMs: number }
  /** A `/metrics` scrape reached this worker: the primary answers for the whole cluster. */
  | { readonly type: "modelgate:metrics-request"; readonly id: number };

export type PrimaryMessage =
  /** Stop taking calls, finish those in flight (bounded), exit 0. */
  | { readonly type: "modelgate:drain" }
  | { readonly type: "modelgate:metrics-reply"; readonly id: number; readonly body?: string; readonly error?: string };

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  const type = (message as { type?: unknown } | null)?.type;
  return type === "modelgate:ready" || type === "modelgate:metrics-request";
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  const type = (message as { type?: unknown } | null)?.type;
  return type === "modelgate:drain" || type === "modelgate:metrics-reply";
}
