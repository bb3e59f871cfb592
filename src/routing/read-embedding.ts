import type { AdapterEmbedding } from "../core/provider-adapter.js";
import type { EmbeddingCall, EmbeddingResult } from "../core/embedding-request.js";
import { ProviderError } from "../core/errors.js";
import type { Deployment } from "../core/route.js";
import { estimateTextTokens } from "../core/token-estimate.js";

/**
 * What an adapter's `embed` returned, checked: one finite vector per input, all of one length
 * (and of `dimensions` when asked). Anything else is the deployment's failure (retryable: a
 * truncated reply), never a malformed answer handed to the caller or stored in the cache.
 * Input tokens are the provider's count, else estimated from the text.
 */
export function readEmbedding(returned: number[][] | AdapterEmbedding, call: EmbeddingCall, deployment: Deployment): EmbeddingResult {
  const vectors = Array.isArray(returned) ? returned : returned?.vectors;
  const reported = Array.isArray(returned) ? undefined : returned?.promptTokens;
  const unreadable = (detail: string): ProviderError =>
    new ProviderError(`${deployment.id} returned unusable embeddings: ${detail}`, {
      provider: deployment.provider,
      deployment: deployment.id,
      retryable: true,
      type: "invalid_response",
    });
  if (!Array.isArray(vectors) || vectors.length !== call.inputs.length) {
    throw unreadable(`expected ${call.inputs.length} vectors, got ${Array.isArray(vectors) ? vectors.length : "none"}`);
  }
  const length = call.request.dimensions ?? vectors[0]?.length ?? 0;
  for (const [index, vector] of vectors.entries()) {
    if (!Array.isArray(vector) || vector.length === 0 || vector.length !== length) {
      throw unreadable(`vector ${index} has ${Array.isArray(vector) ? vector.length : "no"} dimensions, expected ${length}`);
    }
    if (!vector.every((value) => typeof value === "number" && Number.isFinite(value))) {
      throw unreadable(`vector ${index} holds a value that is not a finite number`);
    }
  }
  const promptTokens =
    reported !== undefined && Number.isSafeInteger(reported) && reported > 0
      ? reported
      : call.inputs.reduce((sum, text) => sum + estimateTextTokens(text), 0);
  return { vectors, promptTokens, model: deployment.model };
}
