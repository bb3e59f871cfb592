import type { EmbedContentRequest } from "@google/generative-ai";

/**
 * One `embedContent` request (also an item of `batchEmbedContents`). `outputDimensionality`
 * is a field of the Gemini API the legacy SDK's type lacks; the SDK sends the object as JSON,
 * unchanged, so it reaches Google.
 */
export function embedRequest(text: string, dimensions: number | undefined): EmbedContentRequest {
  const request: EmbedContentRequest & { outputDimensionality?: number } = { content: { role: "user", parts: [{ text }] } };
  if (dimensions !== undefined) request.outputDimensionality = dimensions;
  return request;
}
