import type {
  GoogleGenerativeAI,
  EmbedContentRequest,
  GenerateContentRequest,
  GenerativeModel,
  RequestOptions,
} from "@google/generative-ai";
import { z } from "zod";
import type { ChatChunk } from "../../core/chat-chunk.js";
import type { ChatRequest } from "../../core/chat-request.js";
import type { ChatResponse } from "../../core/chat-response.js";
import { ConfigError, ProviderError } from "../../core/errors.js";
import type { AdapterContext, AdapterOptions, EmbedContext, ProviderAdapter } from "../../core/provider-adapter.js";
import { embedRequest } from "./google-embed.js";
import { credentialHeaderValues } from "../../core/scrub-secrets.js";
import { missingApiKey, readApiKey } from "../../providers/shared/api-key.js";
import { hostOf } from "../../providers/shared/host.js";
import { loadPeer } from "../../providers/shared/load-peer.js";
import { fromGoogleResponse } from "./from-google-response.js";
import { toGatewayError, type GoogleErrorContext } from "./google-errors.js";
import { toChatChunks } from "./google-stream.js";
import { toGoogleRequest, type GoogleGenerateRequest } from "./to-google-request.js";

/**
 * Options for `google()`. With `client`, the client's own API key is used and `apiKey` is
 * ignored; `baseURL` and `headers` still apply, because this SDK takes them per model rather
 * than per client.
 *
 * @example
 * const adapter = google({ apiKey: process.env.GEMINI_API_KEY });
 * const local = google({ apiKey: "test", baseURL: "http://127.0.0.1:8080" });
 */
export type GoogleOptions = AdapterOptions<GoogleGenerativeAI>;

const DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com";
/** Where the key comes from when `apiKey` is not passed, first set wins. */
const API_KEY_VARIABLES = ["GEMINI_API_KEY", "GOOGLE_API_KEY"] as const;
/** Model objects are cheap but keyed by caller-chosen names: keep a bounded number. */
const MAX_CACHED_MODELS = 64;
/** `batchEmbedContents` takes at most 100 requests per call. */
const MAX_EMBED_BATCH = 100;

const embedResponseSchema = z.object({ embedding: z.object({ values: z.array(z.number()) }) });
const batchEmbedResponseSchema = z.object({ embeddings: z.array(z.object({ values: z.array(z.number()) })) });

/**
 * The Google Gemini adapter, on the official `@google/generative-ai` SDK. The SDK sends the API
 * key as the `x-goog-api-key` header (never in the URL) and has no retries of its own; the
 * gateway owns retries. `apiKey` defaults to `GEMINI_API_KEY`, then `GOOGLE_API_KEY`; without
 * one, each call fails with a non-retryable `ProviderError` of type `missing_api_key`.
 *
 * @example
 * import { google } from "modelgate/google";
 * const gateway = createGateway({ providers: { google: google() }, models: { fast: "google/gemini-2.5-flash" } });
 */
export function google(options: GoogleOptions = {}): ProviderAdapter {
  return new GoogleAdapter(options);
}

class GoogleAdapter implements ProviderAdapter {
  readonly name: string;
  readonly serverAddress: string;
  private client: GoogleGenerativeAI | undefined;
  /** The SDK module, loaded when the adapter is built (undefined when a client was passed). */
  private readonly sdk: typeof import("@google/generative-ai") | undefined;
  private readonly apiKeyOption: string | undefined;
  private readonly headerSecrets: readonly string[];
  private readonly requestOptions: RequestOptions;
  private readonly models = new Map<string, GenerativeModel>();
  private errors: GoogleErrorContext;

  constructor(options: GoogleOptions) {
    this.name = options.name ?? "gcp.gemini";
    const baseURL = (options.baseURL ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.serverAddress = requireHost(baseURL);
    const headers = checkHeaders(options.headers);
    // No `timeout` here: the SDK arms a timer per call it never clears; the gateway's signal times calls out.
    this.requestOptions = { baseUrl: baseURL, ...(headers ? { customHeaders: headers } : {}) };
    // Without a client, the key is read on first use (see `model`), like every adapter's.
    this.client = options.client;
    this.apiKeyOption = options.apiKey;
    this.headerSecrets = credentialHeaderValues(headers);
    this.errors = this.errorContext(options.client?.apiKey ?? options.apiKey);
    // A missing optional peer is a ConfigError naming it, here, when the adapter is built.
    this.sdk = options.client ? undefined : loadPeer<typeof import("@google/generative-ai")>("@google/generative-ai", "modelgate/google");
  }

  async chat(request: ChatRequest, ctx: AdapterContext): Promise<ChatResponse> {
    const body = toGoogleRequest(request, this.name);
    const model = this.model(ctx.model);
    const link = linkSignal(ctx.signal);
    try {
      const result = await model.generateContent(asSdkRequest(body), { signal: link.signal });
      return fromGoogleResponse(result.response, { provider: this.name, model: ctx.model });
    } catch (error) {
      throw toGatewayError(error, this.errors, ctx.signal);
    } finally {
      link.release();
    }
  }

  async *stream(request: ChatRequest, ctx: AdapterContext): AsyncGenerator<ChatChunk> {
    const body = toGoogleRequest(request, this.name);
    const model = this.model(ctx.model);
    const link = linkSignal(ctx.signal);
    try {
      const result = await model.generateContentStream(asSdkRequest(body), { signal: link.signal });
      // The SDK tees the body into an aggregate promise we never read; it rejects when we abort.
      result.response.catch(() => {});
      yield* toChatChunks(result.stream, { provider: this.name, model: ctx.model }, this.errors);
    } catch (error) {
      throw toGatewayError(error, this.errors, ctx.signal);
    } finally {
      // Ends the HTTP request when the consumer stops early; a no-op after a complete stream.
      link.abort();
      link.release();
    }
  }

  async embed(input: string[], ctx: EmbedContext): Promise<number[][]> {
    if (input.length === 0) return [];
    const model = this.model(ctx.model);
    const link = linkSignal(ctx.signal);
    try {
      if (input.length === 1) {
        const response = await model.embedContent(embedRequest(input[0] ?? "", ctx.dimensions), { signal: link.signal });
        return [this.parse(embedResponseSchema, response).embedding.values];
      }
      const vectors: number[][] = [];
      for (let start = 0; start < input.length; start += MAX_EMBED_BATCH) {
        const batch = input.slice(start, start + MAX_EMBED_BATCH);
        const response = await model.batchEmbedContents({ requests: batch.map((text) => embedRequest(text, ctx.dimensions)) }, { signal: link.signal });
        const { embeddings } = this.parse(batchEmbedResponseSchema, response);
        if (embeddings.length !== batch.length) {
          throw new ProviderError(`Gemini returned ${embeddings.length} embeddings for ${batch.length} inputs`, {
            provider: this.name,
            retryable: true,
            type: "invalid_response",
          });
        }
        vectors.push(...embeddings.map((embedding) => embedding.values));
      }
      return vectors;
    } catch (error) {
      throw toGatewayError(error, this.errors, ctx.signal);
    } finally {
      link.release();
    }
  }

  /** The SDK's per-model object, made once per model name (bounded, least recently used leaves first). */
  private model(name: string): GenerativeModel {
    if (this.client === undefined) {
      const apiKey = readApiKey(this.apiKeyOption, API_KEY_VARIABLES);
      if (!apiKey) throw missingApiKey(this.name, "Google Gemini", "google", API_KEY_VARIABLES);
      this.client = new this.sdk!.GoogleGenerativeAI(apiKey);
      this.errors = this.errorContext(apiKey);
    }
    let model = this.models.get(name);
    if (model !== undefined) {
      this.models.delete(name);
    } else {
      model = this.client.getGenerativeModel({ model: name }, this.requestOptions);
      if (this.models.size >= MAX_CACHED_MODELS) {
        const oldest = this.models.keys().next();
        if (!oldest.done) this.models.delete(oldest.value);
      }
    }
    this.models.set(name, model);
    return model;
  }

  /** The key and the values of credential headers: kept out of every message and cause. */
  private errorContext(apiKey: string | undefined): GoogleErrorContext {
    return {
      provider: this.name,
      secrets: [apiKey ?? "", ...this.headerSecrets].filter((secret) => secret.length > 0),
    };
  }

  private parse<T>(schema: z.ZodType<T>, payload: unknown): T {
    const parsed = schema.safeParse(payload);
    if (parsed.success) return parsed.data;
    throw new ProviderError("Gemini returned an embedding response this adapter cannot read", {
      provider: this.name,
      retryable: true,
      type: "invalid_response",
    });
  }
}

/**
 * Our request type is a superset of the SDK's (which lags the API: `seed`, `thinkingConfig`,
 * JSON-schema parameters); the SDK serializes it with `JSON.stringify` unchanged.
 */
function asSdkRequest(body: GoogleGenerateRequest): GenerateContentRequest {
  return body as unknown as GenerateContentRequest;
}

/** The base URL's host, or a ConfigError at construction: a URL the SDK could never call. */
function requireHost(baseURL: string): string {
  const host = hostOf(baseURL);
  if (host === undefined) {
    throw new ConfigError([{ path: "baseURL", message: "expected an absolute URL, e.g. https://generativelanguage.googleapis.com" }]);
  }
  return host;
}

/** Fails at construction, with no header values in the message, what the SDK would reject on every call. */
function checkHeaders(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (headers === undefined) return undefined;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === "x-goog-api-key") {
      throw new ConfigError([{ path: `headers.${name}`, message: "set the key with the apiKey option" }]);
    }
    if (lower === "x-goog-api-client") {
      throw new ConfigError([{ path: `headers.${name}`, message: "reserved by the Google SDK" }]);
    }
    try {
      new Headers([[name, value]]);
    } catch {
      throw new ConfigError([{ path: `headers.${name}`, message: "not a valid HTTP header name or value" }]);
    }
  }
  return headers;
}

interface LinkedSignal {
  readonly signal: AbortSignal;
  abort(): void;
  release(): void;
}

/**
 * A signal per call that follows the gateway's. The SDK adds an abort listener to whatever
 * signal it gets and never removes it; a per-call signal keeps those from piling up, and lets
 * a stream end its own request when the consumer stops.
 */
function linkSignal(parent: AbortSignal): LinkedSignal {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  if (parent.aborted) controller.abort();
  else parent.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    abort: () => controller.abort(),
    release: () => parent.removeEventListener("abort", onAbort),
  };
}
