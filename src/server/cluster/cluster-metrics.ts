import type { Registry } from "prom-client";
import type { ServeOptions } from "../options.js";
import { isPrimaryMessage, type WorkerMessage } from "./cluster-messages.js";

/**
 * How a handler's `/metrics` answers for a whole cluster: the scrape lands on one worker, which
 * asks the primary; the primary gathers the registry of every worker that listens (prom-client's
 * cluster aggregation: counters and histograms summed) and replies. A handler outside a cluster keeps
 * its own registry's exposition.
 */
export type ClusterExposition = (registry: Registry) => () => Promise<string>;

/** The internal option through which the CLI hands `serve()` a cluster exposition. */
export const CLUSTER_EXPOSITION: unique symbol = Symbol("modelgate.clusterExposition");
export type InternalServeOptions = ServeOptions & { [CLUSTER_EXPOSITION]?: ClusterExposition };

/** Longer than the primary's own 5 s gather timeout, so its error is the one reported. */
const REPLY_TIMEOUT_MS = 6_000;

/** The worker side: answers the primary's gather requests and asks it for the whole. */
export function workerExposition(send: (message: WorkerMessage) => void, onMessage: (listener: (message: unknown) => void) => void): ClusterExposition {
  const pending = new Map<number, { resolve: (body: string) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  let nextId = 0;
  let local: Registry | undefined;
  onMessage((message) => {
    if (!isPrimaryMessage(message)) return;
    if (message.type === "modelgate:metrics-gather") {
      if (local) answerGather(local, message.id, send);
      return;
    }
    if (message.type !== "modelgate:metrics-reply") return;
    const waiting = pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    clearTimeout(waiting.timer);
    if (message.body !== undefined) waiting.resolve(message.body);
    else waiting.reject(new Error(`metrics from the other workers: ${message.error ?? "no answer"}`));
  });
  return (registry) => {
    local = registry;
    return () =>
      new Promise<string>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error("metrics from the other workers: the primary did not answer in time"));
        }, REPLY_TIMEOUT_MS);
        timer.unref();
        pending.set(id, { resolve, reject, timer });
        try {
          send({ type: "modelgate:metrics-request", id });
        } catch (error) {
          pending.delete(id);
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
  };
}

/** Sends this worker's registry to the primary; a primary already gone has nobody to tell. */
function answerGather(registry: Registry, id: number, send: (message: WorkerMessage) => void): void {
  const reply = (message: WorkerMessage): void => {
    try {
      send(message);
    } catch {
      // The primary is gone: no scrape waits for this answer.
    }
  };
  registry.getMetricsAsJSON().then(
    (metrics) => reply({ type: "modelgate:metrics-local", id, metrics }),
    (error: unknown) => reply({ type: "modelgate:metrics-local", id, error: error instanceof Error ? error.message : String(error) }),
  );
}
