/**
 * `modelgate/openai`: the OpenAI adapter, over the official `openai` SDK (an optional peer
 * dependency: install it to use this entry).
 */
import { OpenAIAdapter, type OpenAIAdapterOptions } from "./providers/openai/openai-adapter.js";

export type { OpenAIAdapterOptions } from "./providers/openai/openai-adapter.js";
export type { OpenAIAdapter } from "./providers/openai/openai-adapter.js";

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
