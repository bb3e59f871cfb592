import type { IncomingMessage, ServerResponse } from "node:http";
import { ConfigError, GatewayClosedError, type Gateway } from "../index.js";
import { createDispatch } from "./dispatch.js";
import { createFetchHandler } from "./fetch-adapter.js";
import { InFlight } from "./in-flight.js";
import { CLUSTER_EXPOSITION, type InternalServeOptions } from "./cluster/cluster-metrics.js";
import { createServerMetrics } from "./metrics.js";
import { createNodeHandler } from "./node-adapter.js";
import { HANDLER_DEFAULTS, type HandlerOptions } from "./options.js";

/** The gateway as HTTP handlers, to mount in any server. */
export interface Handler {
  /** Web-standard: Hono, Next.js route handlers, Bun, Deno. */
  fetch(request: Request): Promise<Response>;
  /** node:http, Express, Fastify (`reply.hijack()` first). */
  node(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Calls and streams being served. */
  readonly inFlight: number;
  /**
   * Refuses new calls (503, `/readyz` answers 503), lets those in flight finish for up to
   * `timeoutMs`, then aborts what is left (each aborted provider call releases what it held).
   */
  drain(timeoutMs: number): Promise<void>;
  /** Drains at once and unsubscribes from the gateway; the gateway itself stays open. */
  close(): Promise<void>;
}

/**
 * Builds the OpenAI-compatible handlers over a gateway.
 *
 * @example
 * const handler = createHandler(gateway, { auth: { tokens: { [process.env.TEAM_A_TOKEN!]: "team-a" } } });
 * app.all("/v1/*", (c) => handler.fetch(c.req.raw));   // Hono
 * http.createServer(handler.node).listen(4000);         // node:http
 */
export function createHandler(gateway: Gateway, options: HandlerOptions = {}): Handler {
  if (options.dashboard && !options.adminToken) {
    throw new ConfigError([{ path: "adminToken", message: "is required with `dashboard: true` (the spend it shows is not for everyone)" }]);
  }
  const inFlight = new InFlight();
  const metrics = createServerMetrics(gateway, () => inFlight.size, (options as InternalServeOptions)[CLUSTER_EXPOSITION]);
  const dispatch = createDispatch(gateway, options, inFlight, metrics);
  const limits = {
    maxBodyBytes: options.maxBodyBytes ?? HANDLER_DEFAULTS.maxBodyBytes,
    maxUrlLength: options.maxUrlLength ?? HANDLER_DEFAULTS.maxUrlLength,
    bodyTimeoutMs: options.bodyTimeoutMs ?? HANDLER_DEFAULTS.bodyTimeoutMs,
  };
  const node = createNodeHandler(dispatch, inFlight, limits);
  const fetch = createFetchHandler(dispatch, inFlight, limits);
  return {
    fetch,
    node,
    get inFlight() {
      return inFlight.size;
    },
    drain: (timeoutMs) => inFlight.drain(timeoutMs, new GatewayClosedError()),
    async close() {
      await inFlight.drain(0, new GatewayClosedError());
      metrics.stop();
    },
  };
}
