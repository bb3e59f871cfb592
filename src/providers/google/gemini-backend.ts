import type { GoogleGenerateRequest } from "./to-google-request.js";

/**
 * What the Gemini adapter needs from an SDK: send a REST `generateContent` body, get the REST
 * response (or its SSE chunks) back as plain JSON-shaped objects. Two SDKs implement it:
 * `@google/genai` (maintained; Gemini API and Vertex AI) and `@google/generative-ai` (end of
 * life, kept for installs that have only it). Translation on both sides stays SDK-free.
 */
export interface GeminiBackend {
  /** Which SDK serves the calls, for messages and tests. */
  readonly sdk: "@google/genai" | "@google/generative-ai";
  generate(model: string, body: GoogleGenerateRequest, signal: AbortSignal): Promise<unknown>;
  /** Resolves once the HTTP response started; iterating yields each SSE chunk's JSON. */
  stream(model: string, body: GoogleGenerateRequest, signal: AbortSignal): Promise<AsyncIterable<unknown>>;
  /** One vector per text, in order (the backend batches as its API allows). */
  /** `dimensions`: Gemini's `outputDimensionality` (OpenAI's `dimensions`). */
  embed(model: string, texts: string[], signal: AbortSignal, dimensions?: number): Promise<number[][]>;
  /** The API key the backend uses, once known, so errors can scrub it. */
  readonly apiKey: string | undefined;
}
