import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Gateway } from "../index.js";
import { createHandler, type Handler } from "./create-handler.js";
import { HANDLER_DEFAULTS, SERVE_DEFAULTS, type ServeOptions } from "./options.js";

export interface RunningServer {
  /** e.g. `http://127.0.0.1:4000`; OpenAI clients take `url + "/v1"` as their base URL. */
  readonly url: string;
  readonly port: number;
  readonly handler: Handler;
  /**
   * Stops accepting connections, lets in-flight calls and streams finish (up to
   * `drainTimeoutMs`), aborts the rest, then closes every connection. The gateway stays open.
   */
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * Serves the gateway over HTTP with OpenAI's wire format, on plain node:http (measured
 * faster than Hono's node adapter on the chat route; see the README).
 *
 * @example
 * const server = await serve(gateway, { port: 4000, auth: { tokens: { "mg-live-...": "team-a" } } });
 * const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "mg-live-..." });
 */
export async function serve(gateway: Gateway, options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? SERVE_DEFAULTS.host;
  if (options.auth === undefined && !gateway.keys.available && !LOOPBACK.has(host) && options.allowUnauthenticated !== true) {
    throw new Error(
      `modelgate serve: refusing to listen on ${host} without auth: set \`auth\` (bearer tokens -> keys), or \`allowUnauthenticated: true\` when something in front authenticates`,
    );
  }
  const handler = createHandler(gateway, options);
  const headersTimeout = options.headersTimeoutMs ?? SERVE_DEFAULTS.headersTimeoutMs;
  const server = createServer(
    {
      headersTimeout,
      // Headers plus the whole body: the slow-loris bound node:http enforces itself.
      requestTimeout: headersTimeout + (options.bodyTimeoutMs ?? HANDLER_DEFAULTS.bodyTimeoutMs),
      maxHeaderSize: options.maxHeaderBytes ?? SERVE_DEFAULTS.maxHeaderBytes,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? SERVE_DEFAULTS.keepAliveTimeoutMs,
      connectionsCheckingInterval: 1_000,
      noDelay: true,
    },
    (req, res) => void handler.node(req, res),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? SERVE_DEFAULTS.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    handler,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await handler.drain(options.drainTimeoutMs ?? SERVE_DEFAULTS.drainTimeoutMs);
        await handler.close();
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}
