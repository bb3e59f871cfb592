import type OpenAI from "openai";
import type { ChatChunk } from "../../core/chat-chunk.js";
import type { ChatRequest } from "../../core/chat-request.js";
import type { ChatResponse } from "../../core/chat-response.js";
import type { GatewayError } from "../../core/errors.js";
import type { AdapterContext, AdapterEmbedding, AdapterOptions, EmbedContext, ProviderAdapter } from "../../core/provider-adapter.js";
import { credentialHeaderValues } from "../../core/scrub-secrets.js";
import { missingApiKey, readApiKey } from "../../providers/shared/api-key.js";
import { sdkFetch } from "../../providers/shared/fetch-transport.js";
import { hostOf } from "../../providers/shared/host.js";
import { loadPeer } from "../../providers/shared/load-peer.js";
import { fromOpenAIEmbeddings, fromOpenAIResponse } from "./from-openai-response.js";
import { fromOpenAIError, providerLabel } from "./openai-errors.js";
import { OpenAIChunkStream } from "./openai-stream.js";
import { toOpenAIRequest, toOpenAIStreamRequest } from "./to-openai-request.js";

const API_KEY_VARIABLE = "OPENAI_API_KEY";
const DEFAULT_BASE_URL = "https://api.openai.com/v1";

/** The subset of the SDK's per-request options we set (its own type is not a public export). */
interface RequestOptions {
  signal: AbortSignal;
  maxRetries: number;
  timeout?: number;
}

/**
 * Options for `openai()`. `baseURL` points it at any OpenAI-compatible server (a local model
 * server, a proxy, Azure's v1 endpoint); such servers often need no key, but the SDK insists
 * on one, so pass any placeholder (`apiKey: "unused"`).
 *
 * @example
 * openai({ apiKey: process.env.OPENAI_API_KEY })
 * openai({ baseURL: "http://127.0.0.1:11434/v1", apiKey: "unused", name: "ollama" })
 * openai({ client: new OpenAI({ organization: "org-123" }) })
 */
export interface OpenAIAdapterOptions extends AdapterOptions<OpenAI> {}

/**
 * An adapter for OpenAI or any OpenAI-compatible server. `apiKey` defaults to
 * `OPENAI_API_KEY`; without either, calls fail with a non-retryable `ProviderError`
 * (type `missing_api_key`) rather than the factory throwing.
 *
 * @example
 * import { createGateway } from "modelgate";
 * import { openai } from "modelgate/openai";
 *
 * const gateway = createGateway({ providers: { openai: openai() } });
 * const local = openai({ baseURL: "http://127.0.0.1:8000/v1", apiKey: "unused", name: "vllm" });
 */
export function openai(options: OpenAIAdapterOptions = {}): OpenAIAdapter {
  return new OpenAIAdapter(options);
}

/**
 * The OpenAI adapter over the official `openai` SDK. Since OpenAI's chat shape is the
 * gateway's own, requests pass through unchanged apart from `model` and streaming options.
 *
 * The SDK's retries are switched off on every call (`maxRetries: 0`, a per-request option,
 * so a `client` you pass keeps its own settings elsewhere): the gateway owns retries.
 */
export class OpenAIAdapter implements ProviderAdapter {
  readonly name: string;
  readonly serverAddress: string | undefined;
  /** Made on first use (`resolveClient`), so the key may be set after the gateway is built. */
  private client: OpenAI | undefined;

  constructor(private readonly options: OpenAIAdapterOptions = {}) {
    this.name = options.name ?? "openai";
    this.client = options.client;
    // Fails here, with a ConfigError naming the package, when the optional peer is missing.
    if (!options.client) loadPeer<unknown>("openai", "modelgate/openai");
    // Where the SDK itself would send calls: the client's URL, else the option, its variable, the default.
    this.serverAddress = hostOf(options.client?.baseURL ?? options.baseURL ?? process.env.OPENAI_BASE_URL ?? DEFAULT_BASE_URL);
  }

  async chat(request: ChatRequest, ctx: AdapterContext): Promise<ChatResponse> {
    let payload: unknown;
    try {
      payload = await this.resolveClient().chat.completions.create(
        toOpenAIRequest(request, ctx.model),
        this.requestOptions(ctx, ctx.signal),
      );
    } catch (error) {
      throw this.toError(error, ctx.signal);
    }
    return fromOpenAIResponse(payload, ctx.model, this.name);
  }

  stream(request: ChatRequest, ctx: AdapterContext): AsyncIterable<ChatChunk> {
    return new OpenAIChunkStream({
      open: (signal) =>
        this.resolveClient().chat.completions.create(toOpenAIStreamRequest(request, ctx.model), this.requestOptions(ctx, signal)),
      signal: ctx.signal,
      model: ctx.model,
      provider: this.name,
      toError: (error, signal) => this.toError(error, signal),
    });
  }

  async embed(input: string[], ctx: EmbedContext): Promise<AdapterEmbedding> {
    if (input.length === 0) return { vectors: [] };
    let payload: unknown;
    try {
      // Asked for explicitly, so the SDK hands back the strings and we decode them: a
      // compatible server that ignores the format and sends floats still works.
      payload = await this.resolveClient().embeddings.create(
        { model: ctx.model, input, encoding_format: "base64", ...(ctx.dimensions !== undefined ? { dimensions: ctx.dimensions } : {}) },
        this.requestOptions(ctx, ctx.signal),
      );
    } catch (error) {
      throw this.toError(error, ctx.signal);
    }
    const vectors = fromOpenAIEmbeddings(payload, input.length, this.name);
    const promptTokens = billedPromptTokens(payload);
    return promptTokens === undefined ? { vectors } : { vectors, promptTokens };
  }

  /** Per call, so a client the user built with retries still does not retry under the gateway. */
  private requestOptions(ctx: AdapterContext, signal: AbortSignal): RequestOptions {
    const options: RequestOptions = { signal, maxRetries: 0 };
    if (Number.isFinite(ctx.timeoutMs) && ctx.timeoutMs > 0) options.timeout = ctx.timeoutMs;
    return options;
  }

  /** The client given, else one made now, with the key read now (a missing one fails this call). */
  private resolveClient(): OpenAI {
    this.client ??= this.createClient(this.requireApiKey());
    return this.client;
  }

  private createClient(apiKey: string): OpenAI {
    const { OpenAI: Client } = loadPeer<typeof import("openai")>("openai", "modelgate/openai");
    return new Client({
      apiKey,
      baseURL: this.options.baseURL,
      defaultHeaders: this.options.headers,
      maxRetries: 0,
      fetch: sdkFetch(this.options),
    });
  }

  /** Read on first use, never at construction: the variable may be set after the gateway is built. */
  private requireApiKey(): string {
    const apiKey = readApiKey(this.options.apiKey, [API_KEY_VARIABLE]);
    if (!apiKey) throw missingApiKey(this.name, providerLabel(this.name), "openai", [API_KEY_VARIABLE]);
    return apiKey;
  }

  private toError(error: unknown, signal: AbortSignal): GatewayError {
    return fromOpenAIError(error, { provider: this.name, signal, secrets: this.secrets() });
  }

  /** What a server might echo back that must not reach a message: the key and credential headers. */
  private secrets(): (string | null | undefined)[] {
    return [this.client?.apiKey, this.options.apiKey, ...credentialHeaderValues(this.options.headers)];
  }
}

/** `usage.prompt_tokens` of an embeddings response, when the server sent a usable count. */
function billedPromptTokens(payload: unknown): number | undefined {
  const usage = typeof payload === "object" && payload !== null ? (payload as { usage?: unknown }).usage : undefined;
  const tokens = typeof usage === "object" && usage !== null ? (usage as { prompt_tokens?: unknown }).prompt_tokens : undefined;
  return typeof tokens === "number" && Number.isSafeInteger(tokens) && tokens >= 0 ? tokens : undefined;
}
