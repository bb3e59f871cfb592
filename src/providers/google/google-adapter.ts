import type { GoogleGenAI, GoogleGenAIOptions } from "@google/genai";
import type { GoogleGenerativeAI } from "@google/generative-ai";
import type { ChatChunk } from "../../core/chat-chunk.js";
import type { ChatRequest } from "../../core/chat-request.js";
import type { ChatResponse } from "../../core/chat-response.js";
import { ConfigError, type GatewayError } from "../../core/errors.js";
import type { AdapterContext, AdapterOptions, EmbedContext, ProviderAdapter } from "../../core/provider-adapter.js";
import { credentialHeaderValues } from "../../core/scrub-secrets.js";
import { missingApiKey, readApiKey } from "../../providers/shared/api-key.js";
import { hostOf } from "../../providers/shared/host.js";
import { loadPeer } from "../../providers/shared/load-peer.js";
import { fromGoogleResponse } from "./from-google-response.js";
import type { GeminiBackend } from "./gemini-backend.js";
import { GenAiBackend } from "./genai-backend.js";
import { GenerativeAiBackend } from "./generative-ai-backend.js";
import { fromGoogleError, type GoogleErrorContext } from "./google-errors.js";
import { toChatChunks } from "./google-stream.js";
import { refuseStreamedCandidates, toGoogleRequest } from "./to-google-request.js";

/** The two SDKs `google()` can run on. */
export type GoogleSdk = "@google/genai" | "@google/generative-ai";

/**
 * Options for `google()`. With `client`, the client's own key and settings are used and
 * `apiKey`, `vertexai`, `project`, `location` are ignored (`baseURL` and `headers` still apply
 * to an `@google/generative-ai` client, which takes them per model).
 *
 * @example
 * const gemini = google({ apiKey: process.env.GEMINI_API_KEY });
 * const vertex = google({ vertexai: true, project: "my-project", location: "europe-west4" });
 * const local = google({ apiKey: "test", baseURL: "http://127.0.0.1:8080" });
 */
export interface GoogleOptions extends AdapterOptions<GoogleGenAI | GoogleGenerativeAI> {
  /** Serve from Vertex AI rather than the Gemini API (needs `@google/genai`). */
  vertexai?: boolean;
  /** Vertex AI: the Google Cloud project; defaults to `GOOGLE_CLOUD_PROJECT`. */
  project?: string;
  /** Vertex AI: the region; defaults to `GOOGLE_CLOUD_LOCATION`, then `us-central1`. */
  location?: string;
  /** Vertex AI: how to authenticate (google-auth-library's options; default: Application Default Credentials). */
  googleAuthOptions?: GoogleGenAIOptions["googleAuthOptions"];
  /** Which SDK to run on. Default: `@google/genai` when it is installed, else `@google/generative-ai`. */
  sdk?: GoogleSdk;
}

const GEMINI_API_URL = "https://generativelanguage.googleapis.com";
/** Where the key comes from when `apiKey` is not passed, first set wins. */
const API_KEY_VARIABLES = ["GEMINI_API_KEY", "GOOGLE_API_KEY"] as const;
const DEFAULT_LOCATION = "us-central1";

/**
 * The Google adapter: Gemini API or Vertex AI, on `@google/genai` (Google's maintained SDK)
 * when installed, else on `@google/generative-ai` (end of life since 2025-08-31, still served).
 * Neither SDK retries; the gateway owns retries. On the Gemini API, `apiKey` defaults to
 * `GEMINI_API_KEY`, then `GOOGLE_API_KEY`; without one, each call fails with a non-retryable
 * `ProviderError` of type `missing_api_key`. On Vertex AI (`vertexai: true`), credentials come
 * from the environment (Application Default Credentials) or `googleAuthOptions`; an `apiKey`
 * there is Vertex express mode.
 *
 * @example
 * import { google } from "modelgate/google";
 * const gateway = createGateway({ providers: { google: google() }, models: { fast: "google/gemini-2.5-flash" } });
 */
export function google(options: GoogleOptions = {}): ProviderAdapter {
  return new GoogleAdapter(options);
}

/** The Google adapter; `google()` builds it. */
export class GoogleAdapter implements ProviderAdapter {
  readonly name: string;
  readonly serverAddress: string | undefined;
  /**
   * The SDK the calls go through (`GeminiBackend`, one per SDK), chosen here; its client is
   * made on first use when the key comes from the environment, so the key may be set later.
   */
  private readonly backend: GeminiBackend;
  private readonly headers: Record<string, string> | undefined;

  constructor(private readonly options: GoogleOptions = {}) {
    this.name = options.name ?? (options.vertexai ? "gcp.vertex_ai" : "gcp.gemini");
    this.headers = checkHeaders(options.headers);
    const baseURL = options.baseURL?.replace(/\/+$/, "");
    if (baseURL !== undefined) requireHost(baseURL);
    const sdk = chooseSdk(options);
    const vertex = sdk === "@google/genai" ? vertexSettings(options) : undefined;
    // Where the SDK itself would send calls: the option, else Vertex AI's regional host, else the Gemini API.
    this.serverAddress = hostOf(baseURL ?? vertex?.url ?? GEMINI_API_URL) ?? "generativelanguage.googleapis.com";
    // Fails here, with a ConfigError naming the package, when the optional peer is missing.
    this.backend = sdk === "@google/genai" ? this.genAiBackend(baseURL, vertex) : this.generativeAiBackend(baseURL ?? GEMINI_API_URL);
  }

  async chat(request: ChatRequest, ctx: AdapterContext): Promise<ChatResponse> {
    const body = toGoogleRequest(request, this.name);
    const link = linkSignal(ctx.signal);
    try {
      const response = await this.backend.generate(ctx.model, body, link.signal);
      return fromGoogleResponse(response, { provider: this.name, model: ctx.model });
    } catch (error) {
      throw this.toError(error, ctx.signal);
    } finally {
      link.release();
    }
  }

  async *stream(request: ChatRequest, ctx: AdapterContext): AsyncGenerator<ChatChunk> {
    refuseStreamedCandidates(request, this.name);
    const body = toGoogleRequest(request, this.name);
    const link = linkSignal(ctx.signal);
    try {
      const chunks = await this.backend.stream(ctx.model, body, link.signal);
      yield* toChatChunks(chunks, { provider: this.name, model: ctx.model }, this.errorContext());
    } catch (error) {
      throw this.toError(error, ctx.signal);
    } finally {
      // Ends the HTTP request when the consumer stops early; a no-op after a complete stream.
      link.abort();
      link.release();
    }
  }

  async embed(input: string[], ctx: EmbedContext): Promise<number[][]> {
    if (input.length === 0) return [];
    const link = linkSignal(ctx.signal);
    try {
      return await this.backend.embed(ctx.model, input, link.signal, ctx.dimensions);
    } catch (error) {
      throw this.toError(error, ctx.signal);
    } finally {
      link.release();
    }
  }

  private genAiBackend(baseURL: string | undefined, vertex: VertexSettings | undefined): GeminiBackend {
    const { options, headers } = this;
    if (options.client !== undefined) {
      return new GenAiBackend({ provider: this.name, client: options.client as GoogleGenAI, apiKey: undefined });
    }
    const sdk = loadPeer<typeof import("@google/genai")>("@google/genai", "modelgate/google");
    const httpOptions = { ...(baseURL ? { baseUrl: baseURL } : {}), ...(headers ? { headers } : {}) };
    if (vertex !== undefined) {
      // Vertex AI authenticates with Google credentials (or an express-mode key passed as an option): no variable to wait for.
      const apiKey = options.apiKey;
      const client = new sdk.GoogleGenAI({
        vertexai: true,
        ...(apiKey !== undefined ? { apiKey } : { project: vertex.project, location: vertex.location }),
        ...(options.googleAuthOptions ? { googleAuthOptions: options.googleAuthOptions } : {}),
        httpOptions,
      });
      return new GenAiBackend({ provider: this.name, client, apiKey });
    }
    return new GenAiBackend({
      provider: this.name,
      apiKey: undefined,
      client: () => this.createClient((apiKey) => new sdk.GoogleGenAI({ apiKey, httpOptions })),
    });
  }

  private generativeAiBackend(baseURL: string): GeminiBackend {
    const { options, headers } = this;
    const common = { provider: this.name, baseURL, headers };
    if (options.client !== undefined) {
      const client = options.client as GoogleGenerativeAI;
      return new GenerativeAiBackend({ ...common, client, apiKey: client.apiKey });
    }
    const sdk = loadPeer<typeof import("@google/generative-ai")>("@google/generative-ai", "modelgate/google");
    return new GenerativeAiBackend({
      ...common,
      apiKey: undefined,
      client: () => this.createClient((apiKey) => new sdk.GoogleGenerativeAI(apiKey)),
    });
  }

  /** A client of either SDK, with the key read now: the backends call this on their first use. */
  private createClient<Client>(make: (apiKey: string) => Client): { client: Client; apiKey: string } {
    const apiKey = this.requireApiKey();
    return { client: make(apiKey), apiKey };
  }

  /** Read on first use, never at construction: the variable may be set after the gateway is built. */
  private requireApiKey(): string {
    const apiKey = readApiKey(this.options.apiKey, API_KEY_VARIABLES);
    if (!apiKey) throw missingApiKey(this.name, "Google Gemini", "google", API_KEY_VARIABLES);
    return apiKey;
  }

  private toError(error: unknown, signal: AbortSignal): GatewayError {
    return fromGoogleError(error, { ...this.errorContext(), signal });
  }

  /** For the stream reader, which meets Google's error events itself: the name and the secrets. */
  private errorContext(): GoogleErrorContext {
    return { provider: this.name, secrets: this.secrets() };
  }

  /** What a server might echo back that must not reach a message: the key and credential headers. */
  private secrets(): (string | undefined)[] {
    return [this.backend.apiKey, ...credentialHeaderValues(this.headers)];
  }
}

/**
 * The SDK to run on: the one asked for; the one a passed client comes from; for Vertex AI,
 * `@google/genai` (the only one that speaks it); else `@google/genai` when it resolves, then
 * `@google/generative-ai`. With neither installed, a ConfigError says to install `@google/genai`.
 */
function chooseSdk(options: GoogleOptions): GoogleSdk {
  if (options.sdk !== undefined) {
    if (options.sdk !== "@google/genai" && options.sdk !== "@google/generative-ai") {
      throw new ConfigError([{ path: "sdk", message: "expected '@google/genai' or '@google/generative-ai'" }]);
    }
    if (options.vertexai && options.sdk === "@google/generative-ai") {
      throw new ConfigError([{ path: "sdk", message: "Vertex AI needs '@google/genai'; '@google/generative-ai' speaks only the Gemini API" }]);
    }
    return options.sdk;
  }
  if (options.client !== undefined) return "models" in options.client ? "@google/genai" : "@google/generative-ai";
  if (options.vertexai || resolves("@google/genai")) return "@google/genai";
  if (resolves("@google/generative-ai")) return "@google/generative-ai";
  return "@google/genai"; // loadPeer turns the missing package into a ConfigError naming it
}

function resolves(packageName: string): boolean {
  try {
    loadPeer(packageName, "modelgate/google");
    return true;
  } catch (error) {
    if (error instanceof ConfigError) return false;
    throw error;
  }
}

interface VertexSettings {
  project: string | undefined;
  location: string;
  /** The endpoint the SDK will call, for `serverAddress`. */
  url: string;
}

/** Vertex AI's project and region, from the options or the environment; undefined on the Gemini API. */
function vertexSettings(options: GoogleOptions): VertexSettings | undefined {
  if (!options.vertexai) return undefined;
  if (options.apiKey !== undefined && (options.project !== undefined || options.location !== undefined)) {
    throw new ConfigError([
      { path: "apiKey", message: "Vertex AI takes either an API key (express mode) or project and location, not both" },
    ]);
  }
  const location = options.location ?? nonEmpty(process.env.GOOGLE_CLOUD_LOCATION) ?? DEFAULT_LOCATION;
  const project = options.project ?? nonEmpty(process.env.GOOGLE_CLOUD_PROJECT);
  if (options.apiKey === undefined && options.client === undefined && project === undefined) {
    throw new ConfigError([{ path: "project", message: "Vertex AI needs a project: pass project or set GOOGLE_CLOUD_PROJECT" }]);
  }
  const host = options.apiKey !== undefined || location === "global" ? "aiplatform.googleapis.com" : `${location}-aiplatform.googleapis.com`;
  return { project, location, url: `https://${host}` };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
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
 * A signal per call that follows the gateway's. The SDKs add an abort listener to whatever
 * signal they get and never remove it; a per-call signal keeps those from piling up, and lets
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
