import type { ChatRequest } from "./chat-request.js";
import type { ChatChunk } from "./chat-chunk.js";
import type { ChatResponse } from "./chat-response.js";

/** What the gateway hands an adapter for one attempt. */
export interface AdapterContext {
  /** The provider-side model name of the deployment (e.g. `gpt-4o`). */
  model: string;
  /** Aborts on caller abort, attempt timeout or gateway close; pass it to the SDK. */
  signal: AbortSignal;
  /** The attempt's timeout; the gateway enforces it too, through `signal`. */
  timeoutMs: number;
}

/**
 * A provider behind the gateway. Adapters translate the OpenAI chat shape to the provider
 * and back, and throw `ProviderError` (with `status`, `retryable`, `retryAfterMs`) on failure.
 * They never retry: the gateway owns retries, fallbacks and cooldowns.
 *
 * @example
 * const echo: ProviderAdapter = {
 *   name: "echo",
 *   async chat(request, ctx) { return { id: "1", object: "chat.completion", created: 0, model: ctx.model,
 *     choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop", logprobs: null }] }; },
 *   async *stream(request, ctx) { ... },
 * };
 */
export interface ProviderAdapter {
  /** The provider's name as telemetry reports it (`gen_ai.provider.name`): `openai`, `anthropic`, `gcp.gemini`, ... */
  readonly name: string;
  /** Host the adapter talks to, for `server.address`; never carries credentials. */
  readonly serverAddress?: string;
  chat(request: ChatRequest, ctx: AdapterContext): Promise<ChatResponse>;
  /** Yields OpenAI-shaped chunks; the last one carries `usage` when the provider reports it. Stops the upstream request when the consumer stops. */
  stream(request: ChatRequest, ctx: AdapterContext): AsyncIterable<ChatChunk>;
  /**
   * Embeds texts, one vector per input in input order. May return the vectors alone (older
   * adapters, user functions) or with the input tokens billed, which the gateway then costs;
   * without them it estimates from the text. An adapter without `embed` cannot serve an
   * embeddings route: the router skips its deployments.
   */
  embed?(input: string[], ctx: EmbedContext): Promise<number[][] | AdapterEmbedding>;
}

/** What the gateway hands `embed` for one attempt. */
export interface EmbedContext extends AdapterContext {
  /** Output dimensions the caller asked for (OpenAI `dimensions`, Gemini `outputDimensionality`). */
  dimensions?: number;
}

/** Vectors with the input tokens the provider billed for them. */
export interface AdapterEmbedding {
  vectors: number[][];
  /** Input tokens, as the provider reported them. */
  promptTokens?: number;
}

/** Options every adapter factory takes. */
export interface AdapterOptions<Client> {
  /** Defaults to the provider's usual environment variable. */
  apiKey?: string;
  /** Points the official SDK at another host: a local server, a proxy, an OpenAI-compatible server. */
  baseURL?: string;
  /** A ready SDK instance; when given, `apiKey`, `baseURL` and `headers` are ignored. */
  client?: Client;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Overrides the adapter's `name`. */
  name?: string;
  /**
   * The `fetch` the SDK client sends with (a test double, an instrumented `fetch`); when
   * given, `transport` is ignored. Ignored with `client`, like `apiKey`.
   */
  fetch?: typeof fetch;
  /**
   * How the SDK client sends HTTP: `"node"` (a keep-alive `node:http` transport, about half
   * the CPU per call of the built-in `fetch`) or `"fetch"` (the SDK's default, the runtime's
   * `fetch`). By default `"node"`, unless the process routes `fetch` itself (an undici
   * `setGlobalDispatcher`, e.g. a `ProxyAgent`, or `NODE_USE_ENV_PROXY`): then `"fetch"`, so
   * proxies keep working. Ignored with `client` or `fetch`.
   */
  transport?: "fetch" | "node";
}

/** The vectors of what an adapter's `embed` returned, whichever of its two shapes. */
export function embeddedVectors(returned: number[][] | AdapterEmbedding): number[][] {
  return Array.isArray(returned) ? returned : returned.vectors;
}
