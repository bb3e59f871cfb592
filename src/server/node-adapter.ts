import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { AbortError } from "../index.js";
import { HttpError, isStreamReply, type IncomingCall, type Reply } from "./call.js";
import type { Dispatch } from "./dispatch.js";
import { errorReply } from "./error-reply.js";
import type { InFlight } from "./in-flight.js";

export interface NodeLimits {
  maxBodyBytes: number;
  maxUrlLength: number;
  bodyTimeoutMs: number;
}

/**
 * `handler.node(req, res)`: node:http straight to the routes, no Request/Response objects on
 * the hot path. A client that goes away aborts the call (and with it the provider request).
 */
export function createNodeHandler(dispatch: Dispatch, inFlight: InFlight, limits: NodeLimits) {
  const connections = new ConnectionSignals();
  return async function node(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controller = connections.of(req.socket);
    const end = inFlight.begin(controller);
    try {
      const url = req.url ?? "/";
      let reply: Reply;
      if (url.length > limits.maxUrlLength) {
        reply = errorReply(new HttpError(414, "request_invalid", `The URL is longer than ${limits.maxUrlLength} characters`));
      } else {
        const query = url.indexOf("?");
        reply = await dispatch(new NodeCall(req, query === -1 ? url : url.slice(0, query), query === -1 ? "" : url.slice(query + 1), controller.signal, limits));
      }
      await write(res, reply, controller.signal);
    } catch {
      // Only a broken socket gets here; there is nobody left to answer.
      res.destroy();
    } finally {
      end();
    }
  };
}

/**
 * One AbortController per connection, aborted when the connection closes: the calls on a
 * connection end with it, so its requests (one after another on keep-alive, or pipelined) can
 * share it. Measured: a fresh controller per request, whose signal then takes its first
 * listener, cost about 7 µs of CPU (node's EventTarget set-up and its garbage); a request on a
 * known connection now costs a WeakMap lookup. Every listener put on the signal is removed when
 * its call ends (the gateway's and readBody's), so a long-lived connection gathers none; a
 * test holds that. State of the handler, not of the module: two handlers share nothing.
 */
class ConnectionSignals {
  private readonly controllers = new WeakMap<Socket, AbortController>();

  of(socket: Socket): AbortController {
    let controller = this.controllers.get(socket);
    if (controller === undefined) {
      const created = new AbortController();
      const abort = (): void => created.abort(new AbortError("The client closed the connection"));
      if (socket.destroyed) abort();
      else socket.once("close", abort);
      this.controllers.set(socket, created);
      controller = created;
    }
    return controller;
  }
}

/**
 * The routes' view of a node:http request. A class, not an object of closures: its methods are
 * shared, so a request allocates one small object here.
 */
class NodeCall implements IncomingCall {
  readonly method: string;
  constructor(
    private readonly req: IncomingMessage,
    readonly path: string,
    readonly query: string,
    readonly signal: AbortSignal,
    private readonly limits: NodeLimits,
  ) {
    this.method = req.method ?? "GET";
  }

  header(name: string): string | undefined {
    const value = this.req.headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  }

  readBody(): Promise<string> {
    return readBody(this.req, this.signal, this.limits);
  }
}

function readBody(req: IncomingMessage, signal: AbortSignal, limits: NodeLimits): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (declared > limits.maxBodyBytes) return Promise.reject(tooLarge(limits.maxBodyBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const finish = (error: Error | undefined): void => {
      clearTimeout(timer);
      req.off("data", onData).off("end", onEnd).off("error", onError);
      signal.removeEventListener("abort", onAbort);
      if (error) {
        req.resume(); // discard the rest; the reply closes the connection
        reject(error);
      } else resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8"));
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > limits.maxBodyBytes) finish(tooLarge(limits.maxBodyBytes));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined);
    const onError = (error: Error): void => finish(error);
    const onAbort = (): void => finish(new AbortError("The client closed the connection"));
    const timer = setTimeout(
      () => finish(new HttpError(408, "request_timeout", `The request body did not arrive within ${limits.bodyTimeoutMs} ms`)),
      limits.bodyTimeoutMs,
    );
    req.on("data", onData).on("end", onEnd).on("error", onError);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function tooLarge(max: number): HttpError {
  return new HttpError(413, "request_too_large", `The request body is larger than ${max} bytes`);
}

async function write(res: ServerResponse, reply: Reply, signal: AbortSignal): Promise<void> {
  if (res.destroyed) {
    if (isStreamReply(reply)) await reply.cancel();
    return;
  }
  // A refused body was not read to its end: the connection cannot carry another request.
  if (reply.status === 413 || reply.status === 408) res.shouldKeepAlive = false;
  if (!isStreamReply(reply)) {
    // Copied key by key, not `{ ...reply.headers, "content-length": n }`: on Node 20's V8 a
    // property added to a spread copy takes a slow path (~2 µs per reply, measured).
    const head: Record<string, string | number> = {};
    for (const name in reply.headers) head[name] = reply.headers[name]!;
    head["content-length"] = Buffer.byteLength(reply.body);
    res.writeHead(reply.status, head);
    res.end(reply.body);
    return;
  }
  res.writeHead(reply.status, reply.headers);
  for await (const piece of reply.stream) {
    if (signal.aborted || res.destroyed) break;
    if (!res.write(piece)) {
      await Promise.race([once(res, "drain"), once(res, "close")]);
    }
  }
  if (res.destroyed) await reply.cancel();
  else res.end();
}
