import cluster, { type Worker } from "node:cluster";
import { isWorkerMessage, type PrimaryMessage } from "./cluster-messages.js";
import { createMetricsGatherer } from "./primary-metrics.js";

export interface PrimaryOptions {
  readonly workers: number;
  /**
   * The workers' drain bound until a worker reports its own (a config's `server.drainTimeoutMs`);
   * the primary waits this long plus a grace before killing one.
   */
  readonly drainTimeoutMs?: number;
  readonly say: (line: string) => void;
}

/** Past the workers' own drain bound, how long a worker may take to close its stores and exit. */
const EXIT_GRACE_MS = 5_000;
const DEFAULT_DRAIN_MS = 10_000;
/** More replacements than this within `RESTART_WINDOW_MS` is a crash loop: the primary stops. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/**
 * The `--workers N` primary: serves nothing itself. It starts one worker first, so a config
 * error is reported once and stops the start; then the rest. Once all listen it says so once.
 * A worker that dies while serving is replaced (a crash loop stops the server). SIGTERM/SIGINT
 * drains every worker (each finishes its calls and streams, bounded) and answers 0 when all
 * exited 0; a second signal kills them and answers 1. Scrapes of `/metrics` on any worker are
 * answered here with every worker's metrics summed.
 */
export function runPrimary({ workers, drainTimeoutMs = DEFAULT_DRAIN_MS, say }: PrimaryOptions): Promise<number> {
  const ready = new Set<Worker>();
  /** Forked and not yet exited (cluster.workers drops a worker only once it also disconnected). */
  const running = new Set<Worker>();
  const restarts: number[] = [];
  let shuttingDown = false;
  let announced = false;
  let startedOthers = false;
  let failedCode = 0;
  let killTimer: NodeJS.Timeout | undefined;
  /** The longest drain bound a ready worker reported. */
  let reportedDrainMs: number | undefined;

  return new Promise<number>((resolve) => {
    const send = (worker: Worker, message: PrimaryMessage): void => {
      if (worker.isConnected()) worker.send(message);
    };
    const live = (): Worker[] => [...running];
    const metrics = createMetricsGatherer(send);
    const finishIfDone = (): void => {
      if (live().length > 0) return;
      if (killTimer) clearTimeout(killTimer);
      resolve(failedCode);
    };
    const shutDown = (reason: string, code: number): void => {
      if (shuttingDown) return;
      shuttingDown = true;
      failedCode = code;
      const killAfterMs = reportedDrainMs ?? drainTimeoutMs;
      say(live().length > 0 ? `${reason}: draining ${live().length} worker(s), then exiting` : `${reason}: exiting`);
      for (const worker of live()) send(worker, { type: "modelgate:drain" });
      killTimer = setTimeout(() => {
        for (const worker of live()) {
          say(`worker ${worker.id} still running ${killAfterMs + EXIT_GRACE_MS} ms after the drain began: killing it`);
          worker.process.kill("SIGKILL");
        }
      }, killAfterMs + EXIT_GRACE_MS);
      finishIfDone();
    };

    const start = (): Worker => {
      const worker = cluster.fork();
      running.add(worker);
      worker.on("message", (message: unknown) => {
        if (!isWorkerMessage(message)) return;
        if (message.type === "modelgate:metrics-local") {
          metrics.onLocalMetrics(worker, message.id, message.metrics, message.error);
          return;
        }
        if (message.type === "modelgate:metrics-request") {
          metrics.gather([...ready]).then(
            (body) => send(worker, { type: "modelgate:metrics-reply", id: message.id, body }),
            (error: unknown) => send(worker, { type: "modelgate:metrics-reply", id: message.id, error: error instanceof Error ? error.message : String(error) }),
          );
          return;
        }
        ready.add(worker);
        reportedDrainMs = Math.max(reportedDrainMs ?? 0, message.drainTimeoutMs);
        if (shuttingDown) {
          send(worker, { type: "modelgate:drain" });
          return;
        }
        if (!startedOthers) {
          // The first worker started: the config is good, start the others. Once: a replacement
          // listening first while the others load must not start N - 1 more.
          startedOthers = true;
          for (let index = 1; index < workers; index++) start();
        }
        if (!announced && ready.size === workers) {
          announced = true;
          say(`listening on ${message.url} (OpenAI base URL ${message.url}/v1) with ${workers} workers; ${message.note}`);
        }
      });
      worker.on("exit", (code, signal) => {
        running.delete(worker);
        metrics.forget(worker);
        const wasReady = ready.delete(worker);
        if (shuttingDown) {
          if (code !== 0) failedCode = 1;
          finishIfDone();
          return;
        }
        const how = signal ? `signal ${signal}` : `code ${code}`;
        if (!wasReady) {
          // A worker that never listened: a config or port problem it has already reported.
          shutDown(`worker ${worker.id} stopped before it listened (${how})`, code === 2 ? 2 : 1);
          return;
        }
        if (code === 0 && !signal) {
          // A worker exits 0 only after a drain it was asked for: a signal of its own (Ctrl-C
          // reaches the whole process group, maybe before it reaches this process), not a crash.
          say(`worker ${worker.id} drained and exited on a signal of its own: not replaced`);
          finishIfDone();
          return;
        }
        const now = Date.now();
        restarts.push(now);
        while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
        if (restarts.length > MAX_RESTARTS) {
          shutDown(`worker ${worker.id} exited (${how}), the ${restarts.length}th in ${RESTART_WINDOW_MS / 1000} s`, 1);
          return;
        }
        say(`worker ${worker.id} exited (${how}) while serving: starting a replacement`);
        start();
      });
      return worker;
    };

    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals === 1) {
        shutDown(signal, 0);
        return;
      }
      say(`${signal} again: killing ${live().length} worker(s) without waiting`);
      for (const worker of live()) worker.process.kill("SIGKILL");
      failedCode = 1;
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    start();
  });
}
