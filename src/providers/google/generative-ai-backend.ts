import type { GenerateContentRequest, GenerativeModel, GoogleGenerativeAI, RequestOptions } from "@google/generative-ai";
import type { GeminiBackend } from "./gemini-backend.js";
import { readEmbeddings } from "./read-embeddings.js";
import { embedRequest } from "./google-embed.js";
import type { GoogleGenerateRequest } from "./to-google-request.js";

/** Model objects are cheap but keyed by caller-chosen names: keep a bounded number. */
const MAX_CACHED_MODELS = 64;
/** `batchEmbedContents` takes at most 100 requests per call. */
const MAX_EMBED_BATCH = 100;

export interface GenerativeAiBackendOptions {
  provider: string;
  baseURL: string;
  headers: Record<string, string> | undefined;
  /** A ready client, or how to make one once the key is known. */
  client: GoogleGenerativeAI | (() => { client: GoogleGenerativeAI; apiKey: string | undefined });
  apiKey: string | undefined;
}

/**
 * The end-of-life `@google/generative-ai` SDK (Gemini API only). It sends the key as the
 * `x-goog-api-key` header and has no retries of its own. Its models take `baseUrl` and headers
 * per model object, so those are kept per model name (bounded, least recently used first out).
 */
export class GenerativeAiBackend implements GeminiBackend {
  readonly sdk = "@google/generative-ai" as const;
  private client: GoogleGenerativeAI | undefined;
  /** Makes the client on first use, with the key it read then. */
  private readonly makeClient: (() => { client: GoogleGenerativeAI; apiKey: string | undefined }) | undefined;
  private readonly requestOptions: RequestOptions;
  private readonly models = new Map<string, GenerativeModel>();
  private readonly provider: string;
  apiKey: string | undefined;

  constructor(options: GenerativeAiBackendOptions) {
    // No `timeout` here: the SDK arms a timer per call it never clears; the gateway's signal times calls out.
    this.requestOptions = { baseUrl: options.baseURL, ...(options.headers ? { customHeaders: options.headers } : {}) };
    if (typeof options.client === "function") this.makeClient = options.client;
    else this.client = options.client;
    this.apiKey = options.apiKey;
    this.provider = options.provider;
  }

  async generate(model: string, body: GoogleGenerateRequest, signal: AbortSignal): Promise<unknown> {
    const result = await this.model(model).generateContent(asSdkRequest(body), { signal });
    return result.response;
  }

  async stream(model: string, body: GoogleGenerateRequest, signal: AbortSignal): Promise<AsyncIterable<unknown>> {
    const result = await this.model(model).generateContentStream(asSdkRequest(body), { signal });
    // The SDK tees the body into an aggregate promise we never read; it rejects when we abort.
    result.response.catch(() => {});
    return result.stream;
  }

  async embed(model: string, texts: string[], signal: AbortSignal, dimensions?: number): Promise<number[][]> {
    const sdkModel = this.model(model);
    if (texts.length === 1) {
      return readEmbeddings(await sdkModel.embedContent(embedRequest(texts[0] ?? "", dimensions), { signal }), 1, this.provider);
    }
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += MAX_EMBED_BATCH) {
      const batch = texts.slice(start, start + MAX_EMBED_BATCH);
      const response = await sdkModel.batchEmbedContents({ requests: batch.map((text) => embedRequest(text, dimensions)) }, { signal });
      vectors.push(...readEmbeddings(response, batch.length, this.provider));
    }
    return vectors;
  }

  /** The SDK's per-model object, made once per model name (bounded, least recently used leaves first). */
  private model(name: string): GenerativeModel {
    if (this.client === undefined) {
      const made = this.makeClient!();
      this.client = made.client;
      this.apiKey = made.apiKey;
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
}

/**
 * Our request type is a superset of the SDK's (which lags the API: `seed`, `thinkingConfig`,
 * JSON-schema parameters, `thoughtSignature`); the SDK serializes it with `JSON.stringify` unchanged.
 */
function asSdkRequest(body: GoogleGenerateRequest): GenerateContentRequest {
  return body as unknown as GenerateContentRequest;
}
