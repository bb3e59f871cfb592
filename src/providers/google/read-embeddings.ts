import { z } from "zod";
import { ProviderError } from "../../core/errors.js";

const embeddingsSchema = z.object({ embeddings: z.array(z.object({ values: z.array(z.number()) })) });
const embeddingSchema = z.object({ embedding: z.object({ values: z.array(z.number()) }) });

/**
 * The vectors of an `embedContent` (`{ embedding }`) or `batchEmbedContents` (`{ embeddings }`)
 * answer, checked: one per input, numbers only. Anything else is a retryable invalid response.
 */
export function readEmbeddings(payload: unknown, expected: number, provider: string): number[][] {
  const many = embeddingsSchema.safeParse(payload);
  const one = many.success ? undefined : embeddingSchema.safeParse(payload);
  const vectors = many.success ? many.data.embeddings.map((item) => item.values) : one?.success ? [one.data.embedding.values] : undefined;
  if (vectors === undefined) {
    throw new ProviderError("Gemini returned an embedding response this adapter cannot read", {
      provider,
      retryable: true,
      type: "invalid_response",
    });
  }
  if (vectors.length !== expected) {
    throw new ProviderError(`Gemini returned ${vectors.length} embeddings for ${expected} inputs`, {
      provider,
      retryable: true,
      type: "invalid_response",
    });
  }
  return vectors;
}
