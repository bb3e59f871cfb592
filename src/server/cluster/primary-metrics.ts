import type { Worker } from "node:cluster";
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from "prom-client";
import type { PrimaryMessage } from "./cluster-messages.js";

type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** Longer than a worker needs to serialize its registry; shorter than the worker's own wait. */
const GATHER_TIMEOUT_MS = 5_000;

interface Gathering {
  readonly waiting: Set<Worker>;
  readonly responses: WorkerMetrics[];
  readonly resolve: (body: string) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The primary's side of a cluster-wide `/metrics`: asks the workers that listen (not one still
 * loading its config, which cannot answer yet) for their registries and sums them with
 * prom-client's cluster aggregation. A worker that exits mid-gathering is not waited for.
 */
export function createMetricsGatherer(send: (worker: Worker, message: PrimaryMessage) => void) {
  const gatherings = new Map<number, Gathering>();
  let nextId = 0;

  const settleIfDone = (id: number, gathering: Gathering): void => {
    if (gathering.waiting.size > 0) return;
    gatherings.delete(id);
    clearTimeout(gathering.timer);
    AggregatorRegistry.aggregate(gathering.responses).metrics().then(gathering.resolve, gathering.reject);
  };

  return {
    gather(workers: readonly Worker[]): Promise<string> {
      return new Promise<string>((resolve, reject) => {
        const id = nextId++;
        const waiting = new Set(workers.filter((worker) => worker.isConnected()));
        const timer = setTimeout(() => {
          gatherings.delete(id);
          reject(new Error(`${waiting.size} worker(s) did not answer in time`));
        }, GATHER_TIMEOUT_MS);
        const gathering: Gathering = { waiting, responses: [], resolve, reject, timer };
        gatherings.set(id, gathering);
        for (const worker of waiting) send(worker, { type: "modelgate:metrics-gather", id });
        settleIfDone(id, gathering);
      });
    },
    /** A worker's registry, or why it could not give it. */
    onLocalMetrics(worker: Worker, id: number, metrics: WorkerMetrics | undefined, error: string | undefined): void {
      const gathering = gatherings.get(id);
      if (!gathering || !gathering.waiting.delete(worker)) return;
      if (metrics === undefined) {
        gatherings.delete(id);
        clearTimeout(gathering.timer);
        gathering.reject(new Error(`worker ${worker.id}: ${error ?? "no metrics"}`));
        return;
      }
      gathering.responses.push(metrics);
      settleIfDone(id, gathering);
    },
    /** The worker exited: gatherings stop waiting for it. */
    forget(worker: Worker): void {
      for (const [id, gathering] of gatherings) if (gathering.waiting.delete(worker)) settleIfDone(id, gathering);
    },
  };
}
