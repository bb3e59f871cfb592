import type { StateStore } from "../index.js";

/**
 * Maps a presented bearer token to a virtual key name, or `undefined` when the token is unknown.
 * The seam a control plane's runtime keys plug into.
 */
export type VerifyToken = (token: string) => string | undefined | Promise<string | undefined>;

export interface AuthOptions {
  /** Static tokens: `{ "mg-live-7f3a...": "team-a" }` (token -> virtual key). */
  tokens?: Readonly<Record<string, string>>;
  /** Asked when no static token matched. */
  verify?: VerifyToken;
}

/** Options shared by `createHandler` and `serve`. */
export interface HandlerOptions {
  /** Bearer tokens -> virtual keys; a function is `verify`. Without it every caller is anonymous (no key). */
  auth?: AuthOptions | VerifyToken;
  /** Guards `/metrics` and `/admin/*`: `Authorization: Bearer <adminToken>`. Without it `/metrics` is open. */
  adminToken?: string;
  /**
   * Serves the dashboard page at `GET /dashboard` and its JSON under `GET /admin/` (`spend`,
   * `budgets`, `health`, `alerts`); needs `adminToken`, which the page asks for once per tab.
   */
  dashboard?: boolean;
  /**
   * The logical models `GET /v1/models` lists: every name, or a function of the caller's key.
   * Default: the `provider/model` of every declared deployment (`gateway.health()`).
   */
  models?: readonly string[] | ((key: string | undefined) => readonly string[]);
  /** Probed by `GET /readyz` (a zero-cost token peek); unset: ready while not draining. */
  store?: StateStore;
  /** Largest request body, in bytes (413 past it). Default 4 MiB. */
  maxBodyBytes?: number;
  /** Longest request URL, in characters (414 past it). Default 8 KiB. */
  maxUrlLength?: number;
  /** Time allowed to receive a whole body once headers arrived, in ms (408 past it). Default 30 s. */
  bodyTimeoutMs?: number;
  /** Where the server reports what it cannot answer with (never tokens or bodies). Default: stderr. */
  log?: (line: string) => void;
}

/** Options of `serve`. */
export interface ServeOptions extends HandlerOptions {
  /** Default 4000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. A non-loopback host without `auth` needs `allowUnauthenticated: true`. */
  host?: string;
  /** Accept calls without a token on a non-loopback host (e.g. behind an authenticating proxy). */
  allowUnauthenticated?: boolean;
  /** Time allowed for request headers, in ms (slow-loris bound). Default 10 s. */
  headersTimeoutMs?: number;
  /** Largest total header size, in bytes (431 past it). Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Keep-alive idle time, in ms. Default 5 s. */
  keepAliveTimeoutMs?: number;
  /** How long `close()` lets in-flight calls and streams finish before cutting them, in ms. Default 10 s. */
  drainTimeoutMs?: number;
}

export const HANDLER_DEFAULTS = {
  maxBodyBytes: 4 * 2 ** 20,
  maxUrlLength: 8 * 1024,
  bodyTimeoutMs: 30_000,
} as const;

export const SERVE_DEFAULTS = {
  port: 4000,
  host: "127.0.0.1",
  headersTimeoutMs: 10_000,
  maxHeaderBytes: 16 * 1024,
  keepAliveTimeoutMs: 5_000,
  drainTimeoutMs: 10_000,
} as const;
