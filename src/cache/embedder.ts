import { echo, echoList } from "../core/echo.js";
import { ConfigError, TimeoutError } from "../core/errors.js";
import type { ProviderAdapter } from "../core/provider-adapter.js";
import type { EmbedFunction } from "./cache-config.js";
import { normalizeVector } from "./semantic-index.js";

/** After this many embedding failures in a row, the semantic tier rests... */
const FAILURES_BEFORE_REST = 3;
/** ...for this long, so an embedding outage does not add a timeout to every call. */
const REST_MS = 10_000;

/**
 * Embeds one call's text for the semantic tier. Never throws: a failure (error, timeout, a
 * malformed vector) resolves to `undefined` and the call goes on without the semantic tier.
 */
export interface Embedder {
  embed(text: string, signal: AbortSignal): Promise<Float32Array | undefined>;
  /** Failed embedding calls so far (not counting those skipped while resting). */
  readonly failures: number;
}

/**
 * Resolves the `embed` option: `"provider/model"` names a configured provider whose adapter
 * has `embed()`; a function is called as it is. Throws `ConfigError` when neither applies.
 */
export function createEmbedder(
  option: string | EmbedFunction,
  providers: Readonly<Record<string, ProviderAdapter>>,
  timeoutMs: number,
): Embedder {
  const run = resolve(option, providers, timeoutMs);
  let failures = 0;
  let failuresInARow = 0;
  let restUntil = 0;
  return {
    get failures() {
      return failures;
    },
    async embed(text, signal) {
      if (failuresInARow >= FAILURES_BEFORE_REST && performance.now() < restUntil) return undefined;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new TimeoutError(timeoutMs, "Embedding")), timeoutMs);
      const onAbort = (): void => controller.abort(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        const vectors = await untilAborted(run([text], controller.signal), controller.signal);
        const vector = Array.isArray(vectors) && Array.isArray(vectors[0]) ? normalizeVector(vectors[0]) : undefined;
        if (!vector) throw new Error("the embedder returned no usable vector");
        failuresInARow = 0;
        return vector;
      } catch {
        // The caller's own abort is not the embedder's failure; the router reports the abort.
        if (!signal.aborted) {
          failures++;
          if (++failuresInARow >= FAILURES_BEFORE_REST) restUntil = performance.now() + REST_MS;
        }
        return undefined;
      } finally {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
}

function resolve(
  option: string | EmbedFunction,
  providers: Readonly<Record<string, ProviderAdapter>>,
  timeoutMs: number,
): (texts: string[], signal: AbortSignal) => Promise<number[][]> {
  if (typeof option === "function") return (texts) => option(texts);
  const slash = option.indexOf("/");
  const providerName = option.slice(0, slash);
  const model = option.slice(slash + 1);
  const adapter = Object.hasOwn(providers, providerName) ? providers[providerName] : undefined;
  if (!adapter) {
    throw new ConfigError([
      {
        path: "cache.semantic.embed",
        message: `'${echo(providerName)}' is not a configured provider (have: ${echoList(Object.keys(providers)) || "none"})`,
      },
    ]);
  }
  const embed = adapter.embed?.bind(adapter);
  if (!embed) {
    throw new ConfigError([
      { path: "cache.semantic.embed", message: `the '${providerName}' adapter cannot embed; pass an async (texts) => vectors function instead` },
    ]);
  }
  return (texts, signal) => embed(texts, { model, signal, timeoutMs });
}

/** Settles with `work`, or rejects when `signal` aborts first (a user function may ignore signals). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolvePromise(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
