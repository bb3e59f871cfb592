import { randomUUID } from "node:crypto";
import type { Gateway } from "../index.js";
import { HttpError, type Headers, type IncomingCall, type Reply } from "./call.js";
import { createAuthenticate } from "./auth.js";
import { errorReply } from "./error-reply.js";
import type { InFlight } from "./in-flight.js";
import type { ServerMetrics } from "./metrics.js";
import type { HandlerOptions } from "./options.js";
import { chatCompletions } from "./routes/chat.js";
import { embeddings } from "./routes/embeddings.js";
import { listModels } from "./routes/models.js";
import { healthz, readyz } from "./routes/probes.js";
import { adminRoute } from "./routes/admin.js";
import { dashboardPage } from "./dashboard/page.js";

export type Dispatch = (call: IncomingCall) => Promise<Reply>;

/** A caller's `x-request-id` is echoed when it is a plain identifier; otherwise one is made. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Routes a call to its endpoint and turns every failure into OpenAI's error reply. */
export function createDispatch(gateway: Gateway, options: HandlerOptions, inFlight: InFlight, metrics: ServerMetrics): Dispatch {
  // A gateway with a control plane verifies its runtime keys' secrets too.
  const authenticate = createAuthenticate(options.auth, gateway.keys.available ? (token) => gateway.keys.verify(token) : undefined);
  const created = Math.floor(Date.now() / 1000);
  let page: string | undefined;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  async function route(call: IncomingCall, headers: Headers): Promise<Reply> {
    const { method, path } = call;
    const isProbe = path === "/healthz" || path === "/readyz" || path === "/metrics";
    if (isProbe) {
      const refused = onlyGet(method) ?? (path === "/metrics" ? await checkAdmin(call) : undefined);
      if (refused) throw refused;
      if (path === "/healthz") return healthz(headers);
      if (path === "/readyz") return readyz(options.store, inFlight.draining, headers);
      return { status: 200, headers: { ...headers, "content-type": metrics.registry.contentType }, body: await metrics.exposition() };
    }
    if (options.dashboard && (path === "/dashboard" || path.startsWith("/admin/"))) {
      const refused = onlyGet(method);
      if (refused) throw refused;
      // The page holds no data (its script asks for the token); every /admin/ answer needs it.
      if (path === "/dashboard") return { status: 200, headers: { ...headers, ...PAGE_HEADERS }, body: (page ??= dashboardPage()) };
      const denied = await checkAdmin(call);
      if (denied) throw denied;
      return adminRoute(gateway, path, call.query, inFlight.size, headers);
    }
    const endpoint = V1_ROUTES.get(path);
    if (!endpoint) throw new HttpError(404, "not_found", `Unknown request URL: ${method} ${path.slice(0, 200)}`);
    if (method !== endpoint) throw new HttpError(405, "method_not_allowed", `${path} takes ${endpoint}, not ${method.slice(0, 16)}`);
    if (inFlight.draining) throw new HttpError(503, "gateway_closed", "The server is shutting down", "server_error");
    let key: string | undefined;
    if (authenticate) {
      const result = await authenticate(call.header("authorization"));
      if (!result.ok) throw new HttpError(401, "invalid_api_key", result.reason, "authentication_error");
      key = result.key;
    }
    if (path === "/v1/chat/completions") return chatCompletions(gateway, call, key, headers);
    if (path === "/v1/embeddings") return embeddings(gateway, call, key, headers);
    return listModels(gateway, options.models, key, created, headers);
  }

  const admin = options.adminToken === undefined ? undefined : createAuthenticate({ tokens: { [options.adminToken]: "admin" } });

  async function checkAdmin(call: IncomingCall): Promise<HttpError | undefined> {
    if (!admin) return undefined;
    const result = await admin(call.header("authorization"));
    return result.ok ? undefined : new HttpError(401, "invalid_api_key", "This endpoint needs the admin token", "authentication_error");
  }

  return async (call) => {
    const given = call.header("x-request-id");
    const headers: Headers = { "x-request-id": given !== undefined && REQUEST_ID.test(given) ? given : randomUUID() };
    if (inFlight.draining) headers.connection = "close";
    let reply: Reply;
    try {
      reply = await route(call, headers);
    } catch (error) {
      reply = errorReply(error, headers);
      if (reply.status === 500) log(`modelgate server: internal error on ${call.method} ${call.path} (request ${headers["x-request-id"]}): ${describe(error)}`);
    }
    metrics.observeHttp(METRIC_ROUTES.has(call.path) ? call.path : "other", reply.status);
    return reply;
  };
}

const V1_ROUTES: ReadonlyMap<string, string> = new Map([
  ["/v1/chat/completions", "POST"],
  ["/v1/embeddings", "POST"],
  ["/v1/models", "GET"],
]);

/** Everything the page runs is inline; it talks to its own origin only. */
const PAGE_HEADERS: Headers = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

const METRIC_ROUTES = new Set(["/v1/chat/completions", "/v1/embeddings", "/v1/models", "/healthz", "/readyz", "/metrics"]);

function onlyGet(method: string): HttpError | undefined {
  return method === "GET" || method === "HEAD" ? undefined : new HttpError(405, "method_not_allowed", `Only GET is allowed here, not ${method.slice(0, 16)}`);
}

/** The error's class and first line only: no stack, and never the request. */
function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.split("\n")[0]!.slice(0, 300)}`;
  return typeof error;
}
