import { z } from "zod";
import type { ChatRequest } from "./chat-request.js";
import type { ChatResponse } from "./chat-response.js";

/** OpenAI's limit on inputs per embeddings request; the gateway enforces it before any provider sees the call. */
export const MAX_EMBEDDING_INPUTS = 2048;

/**
 * OpenAI's embeddings request. `input` is text: one string or a list of them. Token arrays
 * (`number[]`, `number[][]`) are refused by name: they are one tokenizer's ids, which another
 * provider behind the same route would read as nonsense.
 */
/** `input` as a list: what a list's own issues (too long, an empty text) are reported against. */
export const embeddingInputListSchema = z
  .array(z.string().min(1, "expected non-empty text"), { message: "expected text or a list of texts" })
  .min(1, "expected at least one text")
  .max(MAX_EMBEDDING_INPUTS, `expected at most ${MAX_EMBEDDING_INPUTS} texts`);

export const embeddingRequestSchema = z
  .object({
    model: z.string().min(1, "expected a model name"),
    input: z.union([z.string().min(1, "expected non-empty text"), embeddingInputListSchema]),
    dimensions: z.number().int().positive("expected a positive whole number of dimensions").optional(),
    encoding_format: z.enum(["float", "base64"]).optional(),
    user: z.string().optional(),
  })
  .strict();

/** The body of `gateway.embed()`: OpenAI's `EmbeddingCreateParams` with text input. */
export type EmbeddingRequest = z.output<typeof embeddingRequestSchema>;

/** One vector of an embeddings response: floats, or their little-endian float32 bytes in base64. */
export interface Embedding {
  object: "embedding";
  index: number;
  embedding: number[] | string;
}

/** OpenAI's `CreateEmbeddingResponse`. */
export interface EmbeddingResponse {
  object: "list";
  data: Embedding[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** What the served deployment returned, in input order, before the gateway shapes the response. */
export interface EmbeddingResult {
  vectors: number[][];
  /** Input tokens the provider billed; estimated from the text when it reports none. */
  promptTokens: number;
  /** The provider-side model that answered. */
  model: string;
}

/** An embeddings call in flight: the parsed request and its inputs as a list. */
export interface EmbeddingCall {
  readonly request: EmbeddingRequest;
  readonly inputs: readonly string[];
}

/**
 * The call as the chat-shaped steps of the pipeline read it (token bounds for limits and
 * budgets, key checks, telemetry): the inputs as one user message, and no output tokens, so a
 * budget reserves input x price and nothing for output.
 */
export function embeddingAsChat(call: EmbeddingCall): ChatRequest {
  return {
    model: call.request.model,
    messages: [{ role: "user", content: call.inputs.join("\n") }],
    max_completion_tokens: 0,
  } as ChatRequest;
}

/**
 * The chat-shaped response the pipeline's settle steps read for an embeddings call: no choices,
 * the input tokens as usage (cost, TPM and budgets settle on it), nothing generated.
 */
export function embeddingUsageResponse(result: EmbeddingResult, created: number): ChatResponse {
  return {
    id: "",
    object: "chat.completion",
    created,
    model: result.model,
    choices: [],
    usage: { prompt_tokens: result.promptTokens, completion_tokens: 0, total_tokens: result.promptTokens },
  } as ChatResponse;
}

/** Float32 little-endian bytes in base64, as OpenAI sends `encoding_format: "base64"`. */
export function toBase64Vector(vector: readonly number[]): string {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString("base64");
}

/** The OpenAI-shaped response for a result, encoded as the request asked. */
export function toEmbeddingResponse(result: EmbeddingResult, encoding: "float" | "base64" | undefined): EmbeddingResponse {
  return {
    object: "list",
    data: result.vectors.map((vector, index) => ({
      object: "embedding",
      index,
      embedding: encoding === "base64" ? toBase64Vector(vector) : vector,
    })),
    model: result.model,
    usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
  };
}
