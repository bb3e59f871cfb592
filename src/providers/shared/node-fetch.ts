import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { NodeResponse } from "./node-response.js";
import { AbortLink } from "./abort-link.js";
import { abortReason, SocketBody } from "./socket-body.js";

/** Options for `createNodeFetch`. */
export interface NodeFetchOptions {
  /**
   * How long an idle keep-alive connection is kept before it is closed. Below the usual
   * server-side keep-alive timeouts (5 s for Node servers, more for the providers), so we
   * close first and rarely reuse a socket the server is closing; undici's default is 4 s too.
   */
  idleSocketTimeoutMs?: number;
}

/** A `fetch` over `node:http`; `stats` lets tests see that calls went through it. */
export interface NodeFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Calls this transport served itself (not handed to the global `fetch`); sockets it opened. */
  readonly stats: { readonly requests: number; readonly socketsOpened: number };
}

const DEFAULT_IDLE_SOCKET_TIMEOUT_MS = 4_000;
/** Statuses whose responses carry no body (`new Response` refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * A `fetch` for the provider SDKs built on `node:http`/`node:https` with keep-alive agents
 * owned by the returned function. On this workload (small JSON requests, JSON or SSE
 * responses) the built-in `fetch` (undici) costs about twice the CPU per call of
 * `http.request`; the SDKs accept any `fetch`, so this one is handed to them.
 *
 * Behaves like `fetch` where the SDKs look:
 * - aborting `init.signal` (before or during the call, headers or body) rejects with the
 *   signal's reason, by default a `DOMException` named `AbortError`, as `fetch` does;
 * - a failure to connect or send rejects with `TypeError("fetch failed", { cause })`, a body
 *   cut short errors the stream with `TypeError("terminated", { cause })`, as undici does,
 *   so the SDKs classify them as connection errors;
 * - the response is a real `Response` whose body stays on the socket until read: `json()`
 *   and `text()` take it straight into one buffer (no web stream: `node-response.ts` says
 *   why), `body` streams it chunk by chunk (SSE is never buffered);
 * - `gzip`, `deflate` and `br` bodies are decoded. We do not ask for compression
 *   (no `accept-encoding` unless the caller sets one; undici sends `gzip, deflate`):
 *   measured, a gunzip stream costs ~150 µs of CPU per 1.5 KB chat answer on a 2-core box,
 *   about a tenth of this transport's whole cost per call, to save ~1.3 KB on the wire. A
 *   server that compresses anyway is still understood.
 * - A redirect (3xx with `Location`, `redirect: "follow"`, the default) is re-sent through
 *   the global `fetch`, which follows it properly; `redirect: "manual"` returns the 3xx,
 *   `redirect: "error"` rejects. The provider APIs do not redirect, so this path is rare.
 * - Bodies it cannot replay cheaply (`ReadableStream`, async iterables, `FormData`) and a
 *   `Request` carrying a body go to the global `fetch` as they are (file uploads; the
 *   gateway never sends them).
 *
 * Idle sockets do not keep the process alive (Node unrefs free keep-alive sockets) and
 * close after `idleSocketTimeoutMs`, so no close hook is needed.
 *
 * @example
 * const client = new OpenAI({ apiKey, fetch: createNodeFetch() });
 */
export function createNodeFetch(options: NodeFetchOptions = {}): NodeFetch {
  const timeout = options.idleSocketTimeoutMs ?? DEFAULT_IDLE_SOCKET_TIMEOUT_MS;
  // One pair per transport (so per adapter); made on first use of each scheme.
  let httpAgent: HttpAgent | undefined;
  let httpsAgent: HttpsAgent | undefined;
  const stats = { requests: 0, socketsOpened: 0 };
  const countSockets = (agent: HttpAgent): void => {
    // `createConnection` is the one place every new socket passes through.
    const create = agent.createConnection.bind(agent);
    agent.createConnection = ((...args: Parameters<HttpAgent["createConnection"]>) => {
      stats.socketsOpened++;
      return create(...args);
    }) as HttpAgent["createConnection"];
  };
  const agentFor = (target: Target): HttpAgent => {
    if (target.protocol === "https:") {
      if (!httpsAgent) countSockets((httpsAgent = new HttpsAgent({ keepAlive: true, timeout, scheduling: "lifo" })));
      return httpsAgent;
    }
    if (!httpAgent) countSockets((httpAgent = new HttpAgent({ keepAlive: true, timeout, scheduling: "lifo" })));
    return httpAgent;
  };

  // The SDK sends every call of a client to the same few URLs: the last one's parse is kept.
  let lastUrl: { input: string; target: Target } | undefined;
  const targetOf = (input: string): Target => {
    if (lastUrl?.input === input) return lastUrl.target;
    const target = toTarget(new URL(input));
    lastUrl = { input, target };
    return target;
  };

  const nodeFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const fromRequest = typeof input === "object" && !(input instanceof URL) ? input : undefined;
    if (fromRequest && fromRequest.body !== null && init.body === undefined) return globalThis.fetch(input, init);
    const target = typeof input === "string" ? targetOf(input) : toTarget(new URL(fromRequest ? fromRequest.url : input));
    if (target.protocol !== "http:" && target.protocol !== "https:") return globalThis.fetch(input, init);
    const body = encodeBody(init.body);
    if (body === FALL_BACK) return globalThis.fetch(input, init);

    const signal = init.signal ?? fromRequest?.signal ?? undefined;
    if (signal?.aborted) throw abortReason(signal);
    const method = init.method ?? fromRequest?.method ?? "GET";
    const headers = toRawHeaders(init.headers ?? fromRequest?.headers, target, method, body);
    stats.requests++;

    const abort = signal ? new AbortLink(signal) : undefined;
    let response: IncomingMessage;
    try {
      response = await send(target, method, headers, body?.data, agentFor(target), abort, true);
    } catch (error) {
      abort?.release();
      throw error;
    }
    if (REDIRECT_STATUSES.has(response.statusCode ?? 0) && response.headers.location !== undefined) {
      const mode = init.redirect ?? fromRequest?.redirect ?? "follow";
      if (mode === "error") {
        abort?.release();
        response.destroy();
        throw new TypeError("fetch failed", { cause: new Error(`unexpected redirect (${response.statusCode}) with redirect: "error"`) });
      }
      if (mode === "follow") {
        abort?.release();
        discard(response);
        return globalThis.fetch(input, init);
      }
    }
    return toResponse(response, target.href, abort);
  };
  return Object.assign(nodeFetch, { stats });
}

/** Marks a body the global `fetch` should send (streams, form data). */
const FALL_BACK = Symbol("fall back to the global fetch");

interface EncodedBody {
  /** A string is sent as UTF-8 as it is (no copy into a buffer: Node writes it with the head in one go). */
  data: string | Uint8Array;
  /** Its length in bytes. */
  length: number;
  contentType?: string;
}

/** The bytes of a replayable body, with the content type `fetch` would add; `FALL_BACK` otherwise. */
function encodeBody(body: RequestInit["body"]): EncodedBody | undefined | typeof FALL_BACK {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return { data: body, length: Buffer.byteLength(body), contentType: "text/plain;charset=UTF-8" };
  if (body instanceof ArrayBuffer) return { data: new Uint8Array(body), length: body.byteLength };
  if (ArrayBuffer.isView(body)) return { data: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), length: body.byteLength };
  if (body instanceof URLSearchParams) {
    const data = body.toString();
    return { data, length: Buffer.byteLength(data), contentType: "application/x-www-form-urlencoded;charset=UTF-8" };
  }
  // Blob needs an await to read; FormData needs a multipart encoder; streams cannot be replayed.
  return FALL_BACK;
}

/**
 * Where a request goes, as `http.request` options: what Node would take out of the URL on
 * every call (`urlToHttpOptions`), taken once per URL instead.
 */
interface Target {
  readonly href: string;
  readonly protocol: string;
  /** Without the brackets of an IPv6 address, as `http.request` wants it. */
  readonly hostname: string;
  readonly port: string;
  readonly path: string;
  /** The `Host` header Node would send: the URL's host (default port left out). */
  readonly host: string;
  /** `user:password` from the URL (Node sends it as basic auth), if any. */
  readonly auth: string | undefined;
}

function toTarget(url: URL): Target {
  const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const auth = url.username || url.password ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined;
  return { href: url.href, protocol: url.protocol, hostname, port: url.port, path: `${url.pathname}${url.search}`, host: url.host, auth };
}

/** Methods Node sends without a body and without `Content-Length` (its `useChunkedEncodingByDefault` is off). */
const BODILESS_METHODS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"]);

/**
 * The request's headers as Node's raw list (`[name, value, name, value, ...]`, lower-cased
 * names, repeats joined), with what Node or `fetch` would add: `Host`, basic auth from the
 * URL, the body's type and length, `accept`. A raw list is written into the request head
 * as it is, where an object goes through `setHeader` once per header (each validated and
 * stored by its lower-cased name, then read back when the head is written). Node validates
 * the list's names and values all the same.
 */
function toRawHeaders(init: RequestInit["headers"], target: Target, method: string, body: EncodedBody | undefined): string[] {
  const headers = toNodeHeaders(init);
  if (body && headers["content-type"] === undefined && body.contentType) headers["content-type"] = body.contentType;
  // What Node writes for a request with an object of headers: the body's length, or 0 for
  // an empty body of a method that may have one (a raw list leaves both to the caller).
  if (body) headers["content-length"] = String(body.length);
  else if (headers["content-length"] === undefined && !BODILESS_METHODS.has(method.toUpperCase())) headers["content-length"] = "0";
  if (headers.accept === undefined) headers.accept = "*/*";
  const raw: string[] = [];
  if (headers.host === undefined) raw.push("Host", target.host);
  if (target.auth !== undefined && headers.authorization === undefined) raw.push("Authorization", `Basic ${Buffer.from(target.auth).toString("base64")}`);
  for (const name in headers) raw.push(name, headers[name]!);
  return raw;
}

/** Any `HeadersInit` as a plain object with lower-cased names. */
function toNodeHeaders(init: RequestInit["headers"]): Record<string, string> {
  const headers: Record<string, string> = {};
  if (init === undefined) return headers;
  if (init instanceof Headers) {
    init.forEach((value, name) => (headers[name] = value));
  } else if (Array.isArray(init)) {
    for (const pair of init) appendHeader(headers, pair[0] ?? "", pair[1] ?? "");
  } else {
    for (const name of Object.keys(init)) {
      const value = (init as Record<string, string | undefined>)[name];
      if (value !== undefined) appendHeader(headers, name, value);
    }
  }
  return headers;
}

function appendHeader(headers: Record<string, string>, name: string, value: string): void {
  const key = name.toLowerCase();
  const existing = headers[key];
  headers[key] = existing === undefined ? String(value) : `${existing}, ${value}`;
}

/**
 * Sends one request and resolves with its response head. A reused keep-alive socket that
 * the server closed while idle fails with ECONNRESET before any response: that request was
 * never processed, so it is sent once more on a fresh socket (what Node's docs advise).
 */
function send(
  target: Target,
  method: string,
  headers: string[],
  body: string | Uint8Array | undefined,
  agent: HttpAgent,
  abort: AbortLink | undefined,
  mayRetry: boolean,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const { protocol, hostname, port, path } = target;
    const request: ClientRequest = (protocol === "https:" ? httpsRequest : httpRequest)({ protocol, hostname, port, path, method, headers, agent });
    let settled = false;
    abort?.to(() => {
      if (settled) return;
      settled = true;
      const reason = abortReason(abort.signal);
      request.destroy();
      reject(reason);
    });
    request.once("response", (response) => {
      settled = true;
      // The listener stays for the body (`SocketBody`), which takes over the link.
      abort?.to(undefined);
      resolve(response);
    });
    // `on`, not `once`: a socket error after the response still reaches the request (the
    // response's stream reports it), and an unheard second "error" would crash the process.
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      abort?.to(undefined);
      if (mayRetry && request.reusedSocket && error.code === "ECONNRESET") {
        send(target, method, headers, body, agent, abort, false).then(resolve, reject);
        return;
      }
      reject(new TypeError("fetch failed", { cause: error }));
    });
    request.end(body);
  });
}

/** The response head as a `Response` whose body stays on the socket until it is read. */
function toResponse(response: IncomingMessage, href: string, abort: AbortLink | undefined): Response {
  const status = response.statusCode ?? 0;
  const headers = new Headers();
  const raw = response.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    try {
      headers.append(raw[i]!, raw[i + 1]!);
    } catch {
      // A header value `Headers` refuses (invalid bytes) is dropped, as undici drops it.
    }
  }
  let body: SocketBody | undefined;
  if (NULL_BODY_STATUSES.has(status) || status < 200) {
    abort?.release();
    discard(response);
  }
  // Read from `headers`: `response.headers` would parse every raw header a second time.
  else body = new SocketBody(response, headers.get("content-encoding"), abort);
  return new NodeResponse(status, response.statusMessage ?? "", headers, href, body);
}

/** Reads a body nobody will see to its end, so the socket goes back to the pool; its errors go nowhere. */
function discard(response: IncomingMessage): void {
  response.on("error", () => {});
  response.resume();
}
