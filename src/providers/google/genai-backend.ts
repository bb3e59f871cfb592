import type { GenerateContentParameters, GoogleGenAI } from "@google/genai";
import type { GeminiBackend } from "./gemini-backend.js";
import { readEmbeddings } from "./read-embeddings.js";
import type { GoogleGenerateRequest } from "./to-google-request.js";

/** `batchEmbedContents` takes at most 100 requests per call. */
const MAX_EMBED_BATCH = 100;

/**
 * `@google/genai`, Google's maintained SDK, for the Gemini API and Vertex AI alike (the client
 * knows which, and builds the paths: `/v1beta/models/M:generateContent` or
 * `/v1beta1/projects/P/locations/L/publishers/google/models/M:generateContent`). Retries are
 * off unless `httpOptions.retryOptions` is set (it is not: the gateway owns retries), and no
 * timeout is set: the gateway's signal times calls out.
 */
export class GenAiBackend implements GeminiBackend {
  readonly sdk = "@google/genai" as const;
  private client: GoogleGenAI | undefined;
  /** Makes the client on first use, with the key it read then. */
  private readonly makeClient: (() => { client: GoogleGenAI; apiKey: string | undefined }) | undefined;
  private readonly provider: string;
  apiKey: string | undefined;

  constructor(options: { provider: string; client: GoogleGenAI | (() => { client: GoogleGenAI; apiKey: string | undefined }); apiKey: string | undefined }) {
    if (typeof options.client === "function") this.makeClient = options.client;
    else this.client = options.client;
    this.provider = options.provider;
    this.apiKey = options.apiKey;
  }

  async generate(model: string, body: GoogleGenerateRequest, signal: AbortSignal): Promise<unknown> {
    return this.clientNow().models.generateContent(toParameters(model, body, signal));
  }

  async stream(model: string, body: GoogleGenerateRequest, signal: AbortSignal): Promise<AsyncIterable<unknown>> {
    return this.clientNow().models.generateContentStream(toParameters(model, body, signal));
  }

  async embed(model: string, texts: string[], signal: AbortSignal, dimensions?: number): Promise<number[][]> {
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += MAX_EMBED_BATCH) {
      const batch = texts.slice(start, start + MAX_EMBED_BATCH);
      const response = await this.clientNow().models.embedContent({
        model,
        contents: batch.map((text) => ({ role: "user", parts: [{ text }] })),
        config: dimensions === undefined ? { abortSignal: signal } : { abortSignal: signal, outputDimensionality: dimensions },
      });
      vectors.push(...readEmbeddings(response, batch.length, this.provider));
    }
    return vectors;
  }

  private clientNow(): GoogleGenAI {
    if (this.client === undefined) {
      const made = this.makeClient!();
      this.client = made.client;
      this.apiKey = made.apiKey;
    }
    return this.client;
  }
}

/**
 * The SDK takes the REST body split differently: `contents` beside `model`, everything else
 * (generation settings flattened, `systemInstruction`, `tools`, `toolConfig`) in `config`, which
 * it reassembles into the REST body. Our types are the REST ones, a superset of what it checks.
 */
function toParameters(model: string, body: GoogleGenerateRequest, signal: AbortSignal): GenerateContentParameters {
  const config: Record<string, unknown> = { ...body.generationConfig, abortSignal: signal };
  if (body.systemInstruction !== undefined) config.systemInstruction = body.systemInstruction;
  if (body.tools !== undefined) config.tools = body.tools;
  if (body.toolConfig !== undefined) config.toolConfig = body.toolConfig;
  return { model, contents: body.contents, config } as unknown as GenerateContentParameters;
}
