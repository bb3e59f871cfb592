import { createGateway, type GatewayConfig } from "../../index.js";
import { serve } from "../serve.js";
import { SERVE_DEFAULTS, type ServeOptions } from "../options.js";
import { CLUSTER_EXPOSITION, workerExposition, type InternalServeOptions } from "../cluster/cluster-metrics.js";
import { isPrimaryMessage, type WorkerMessage } from "../cluster/cluster-messages.js";
import { checkSharedState } from "../cluster/shared-state-check.js";
import type { ServeArgs } from "./args.js";
import { providersFromEnvironment } from "./env-config.js";
import { loadConfigFile } from "./load-config.js";
import { resolveProviderSpecs } from "./provider-specs.js";
import { modelLister, splitConfig } from "./server-config.js";

/** A cluster worker's channel to its primary (absent when the server is the only process). */
export interface WorkerChannel {
  readonly workers: number;
  send(message: WorkerMessage): void;
  onMessage(listener: (message: unknown) => void): void;
  /** The primary is gone: nobody will forward a signal any more. */
  onDisconnect(listener: () => void): void;
}

/**
 * One server process: loads the config (or the environment's API keys), serves the gateway,
 * and on SIGTERM/SIGINT (or, in a cluster, the primary's drain message) drains in-flight calls
 * and streams, bounded, before answering 0. A second signal answers 1 at once.
 */
export async function runServer(args: ServeArgs, say: (line: string) => void, worker?: WorkerChannel): Promise<number> {
  let gatewayConfig: GatewayConfig;
  let serverOptions: ServeOptions;
  if (args.config) {
    const split = splitConfig(await loadConfigFile(args.config), args.config);
    gatewayConfig = { ...split.gateway, providers: await resolveProviderSpecs(split.gateway.providers, process.env) };
    serverOptions = split.server;
  } else {
    const { providers, names } = await providersFromEnvironment(process.env);
    if (names.length === 0) {
      say("no --config and no provider API key in the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, GOOGLE_API_KEY)");
      return 2;
    }
    say(`no --config: serving ${names.map((name) => `${name}/<model>`).join(", ")} from the environment's API keys`);
    gatewayConfig = { providers };
    serverOptions = {};
  }
  let perWorkerNote = "";
  if (worker) {
    const { refusals, perWorker } = checkSharedState(gatewayConfig, worker.workers);
    if (refusals.length > 0) {
      for (const refusal of refusals) say(`--workers ${worker.workers}: ${refusal}`);
      return 2;
    }
    if (perWorker.length > 0) perWorkerNote = `; each worker keeps its own ${perWorker.join(", ")}`;
  }
  const options: InternalServeOptions = {
    models: modelLister(gatewayConfig),
    store: gatewayConfig.store,
    adminToken: process.env.MODELGATE_ADMIN_TOKEN || undefined,
    ...serverOptions,
  };
  if (args.port !== undefined) options.port = args.port;
  if (args.host !== undefined) options.host = args.host;
  if (args.allowUnauthenticated) options.allowUnauthenticated = true;
  if (args.drainTimeoutMs !== undefined) options.drainTimeoutMs = args.drainTimeoutMs;
  if (worker) options[CLUSTER_EXPOSITION] = workerExposition(worker.send, worker.onMessage);

  const gateway = createGateway(gatewayConfig);
  const server = await serve(gateway, options).catch(async (error: unknown) => {
    await gateway.close();
    throw error;
  });
  const authNote =
    options.auth === undefined && gateway.keys.available
      ? "bearer-token auth on (the control plane's runtime keys)"
      : options.auth === undefined
      ? options.allowUnauthenticated
        ? "no auth (allowUnauthenticated): every caller is anonymous"
        : "no auth configured: bound to loopback only, every caller anonymous"
      : "bearer-token auth on";
  return new Promise<number>((resolve) => {
    let stopping = false;
    let signals = 0;
    const stop = (reason: string, fromSignal: boolean): void => {
      // Ctrl-C reaches this worker and its primary, whose drain message may come before or
      // after this worker's own SIGINT: only a second signal means "now".
      if (fromSignal) signals++;
      if (stopping) {
        if (signals < 2) return;
        say(`${reason} again: exiting without waiting`);
        resolve(1);
        return;
      }
      stopping = true;
      say(`${reason}: draining ${server.handler.inFlight} call(s) in flight, then exiting`);
      void server
        .close()
        .then(() => gateway.close())
        .then(
          () => resolve(0),
          (error: unknown) => {
            say(`error while closing: ${error instanceof Error ? error.message : String(error)}`);
            resolve(1);
          },
        );
    };
    process.on("SIGTERM", () => stop("SIGTERM", true));
    process.on("SIGINT", () => stop("SIGINT", true));
    worker?.onMessage((message) => {
      if (isPrimaryMessage(message) && message.type === "modelgate:drain") stop("drain", false);
    });
    worker?.onDisconnect(() => stop("primary gone", false));
    // Announced only once the handlers are in: a SIGTERM sent the moment a supervisor reads
    // "listening" would otherwise find the default action (killed, no drain, no exit code).
    if (worker) {
      const drainTimeoutMs = options.drainTimeoutMs ?? SERVE_DEFAULTS.drainTimeoutMs;
      worker.send({ type: "modelgate:ready", url: server.url, note: `${authNote}${perWorkerNote}`, drainTimeoutMs });
    } else say(`listening on ${server.url} (OpenAI base URL ${server.url}/v1); ${authNote}`);
  });
}
