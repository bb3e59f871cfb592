import { echo, echoList } from "../core/echo.js";
import { ConfigError, TimeoutError } from "../core/errors.js";
import type { ProviderAdapter } from "../core/provider-adapter.js";
import { computeCostUsd, estimateMaxCostUsd } from "../core/cost.js";
import type { RouteTable } from "../core/route.js";
import { estimateTextTokens } from "../core/token-estimate.js";
import type { EmbedFunction } from "./cache-config.js";
import { normalizeVector } from "./semantic-index.js";

/** Tokens an embedding model may add around the text (begin / end of sequence), for the cost bound. */
const SPECIAL_TOKENS = 8;

/** After this many embedding failures in a row, the semantic tier rests... */
const FAILURES_BEFORE_REST = 3;
/** ...for this long, so an embedding outage does not add a timeout to every call. */
const REST_MS = 10_000;

/**
 * Embeds one call's text for the semantic tier. Never throws: a failure (error, timeout, a
 * malformed vector) resolves to `undefined` and the call goes on without the semantic tier.
 */
export interface Embedder {
  embed(text: string, signal: AbortSignal): Promise<EmbeddedText | undefined>;
  /**
   * The most embedding `text` can bill: its UTF-8 bytes (a byte-level tokenizer never makes more
   * tokens than bytes) plus a few special tokens, at the embedding model's input price; 0 for a
   * user function or an unpriced model, whose cost is 0 too. For budget reservations.
   */
  maxCostUsd(text: string): number;
  /** Failed embedding calls so far (not counting those skipped while resting). */
  readonly failures: number;
}

/** A text's unit vector, and what embedding it cost (0 for a user function: its price is unknown). */
export interface EmbeddedText {
  vector: Float32Array;
  costUsd: number;
}

/** What one embedding request returned: vectors, and the tokens billed when the provider said. */
interface Embedded {
  vectors: unknown;
  promptTokens?: number;
}

/**
 * Resolves the `embed` option: `"provider/model"` names a configured provider whose adapter
 * has `embed()`; a function is called as it is. Throws `ConfigError` when neither applies.
 */
export function createEmbedder(
  option: string | EmbedFunction,
  providers: Readonly<Record<string, ProviderAdapter>>,
  timeoutMs: number,
  /** Prices a `"provider/model"` embedder from the catalog and the config's `prices`. */
  table?: RouteTable,
): Embedder {
  const run = resolve(option, providers, timeoutMs);
  const price = typeof option === "string" ? table?.resolve(option)?.deployments[0]?.price : undefined;
  let failures = 0;
  let failuresInARow = 0;
  let restUntil = 0;
  return {
    get failures() {
      return failures;
    },
    maxCostUsd(text) {
      return price ? estimateMaxCostUsd(Buffer.byteLength(text, "utf8") + SPECIAL_TOKENS, 0, price) : 0;
    },
    async embed(text, signal) {
      if (failuresInARow >= FAILURES_BEFORE_REST && performance.now() < restUntil) return undefined;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new TimeoutError(timeoutMs, "Embedding")), timeoutMs);
      const onAbort = (): void => controller.abort(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        const { vectors, promptTokens } = await untilAborted(run([text], controller.signal), controller.signal);
        const vector = Array.isArray(vectors) && Array.isArray(vectors[0]) ? normalizeVector(vectors[0]) : undefined;
        if (!vector) throw new Error("the embedder returned no usable vector");
        failuresInARow = 0;
        const tokens = promptTokens !== undefined && Number.isSafeInteger(promptTokens) && promptTokens > 0 ? promptTokens : estimateTextTokens(text);
        const costUsd = price ? computeCostUsd({ prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens }, price) : 0;
        return { vector, costUsd };
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
): (texts: string[], signal: AbortSignal) => Promise<Embedded> {
  if (typeof option === "function") return async (texts) => ({ vectors: await option(texts) });
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
  return async (texts, signal) => {
    const returned = await embed(texts, { model, signal, timeoutMs });
    return Array.isArray(returned) ? { vectors: returned } : { vectors: returned?.vectors, ...(returned?.promptTokens !== undefined ? { promptTokens: returned.promptTokens } : {}) };
  };
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
