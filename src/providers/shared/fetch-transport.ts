import { createNodeFetch } from "./node-fetch.js";

/** How an adapter's SDK client sends HTTP: the runtime's `fetch` (undici) or `node:http`. */
export type Transport = "fetch" | "node";

/** What decides the `fetch` an adapter hands its SDK. */
export interface TransportOptions {
  /** A `fetch` the user supplied: always wins. */
  fetch?: typeof fetch;
  /** Forces one transport; by default `node` unless a global undici dispatcher is set. */
  transport?: Transport;
}

/** The key undici (bundled in Node or from npm) stores `setGlobalDispatcher`'s value under. */
const GLOBAL_DISPATCHER = Symbol.for("undici.globalDispatcher.1");

/**
 * The `fetch` to pass the SDK client, or `undefined` to leave the SDK's default (the global
 * `fetch`). The node transport is the default because it costs about half the CPU per call;
 * it is skipped when the process routes `fetch` somewhere on purpose: a user's undici
 * dispatcher (`setGlobalDispatcher(new ProxyAgent(...))`, a `MockAgent`, custom TLS) or
 * Node's env-proxy support, neither of which `node:http` would honour.
 *
 * Used by `openai()` and `anthropic()`, whose SDKs take a `fetch` client option. Google's
 * SDKs (`@google/genai`, `@google/generative-ai`) take none (only `RequestInit` options for
 * the global `fetch`), so `google()` stays on the global `fetch`.
 */
export function sdkFetch(options: TransportOptions): typeof fetch | undefined {
  if (options.fetch) return options.fetch;
  if (options.transport === "fetch") return undefined;
  if (options.transport !== "node" && fetchIsRouted()) return undefined;
  return createNodeFetch() as typeof fetch;
}

/**
 * True when `fetch` goes through something the user set up. Node installs its own plain
 * undici `Agent` under the same key on the first `fetch` call, so "a dispatcher is set" is
 * not enough: only a plain `Agent` with no options of its own counts as Node's default (a
 * user's option-less `Agent` is equivalent to it). Anything else, a `ProxyAgent`, an
 * `Agent` with `connect` options, a composed or future wrapper, counts as the user's: the
 * safe direction is the SDK's own `fetch`.
 */
export function fetchIsRouted(): boolean {
  if (process.env.NODE_USE_ENV_PROXY === "1" || process.execArgv.includes("--use-env-proxy")) return true;
  const dispatcher = (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER];
  if (dispatcher === undefined) return false;
  return !isNodeDefaultAgent(dispatcher);
}

function isNodeDefaultAgent(dispatcher: unknown): boolean {
  if (typeof dispatcher !== "object" || dispatcher === null || dispatcher.constructor?.name !== "Agent") return false;
  // undici keeps the constructor's options under a private `Symbol(options)`.
  const optionsKey = Object.getOwnPropertySymbols(dispatcher).find((key) => key.description === "options");
  if (optionsKey === undefined) return false;
  const agentOptions = (dispatcher as Record<symbol, unknown>)[optionsKey];
  if (typeof agentOptions !== "object" || agentOptions === null) return false;
  return Object.values(agentOptions).every((value) => value === undefined);
}
