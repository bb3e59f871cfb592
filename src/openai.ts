/**
 * `modelgate/openai`: the OpenAI adapter, over the official `openai` SDK (an optional peer
 * dependency: install it to use this entry).
 */
export { openai } from "./providers/openai/openai-adapter.js";
export type { OpenAIAdapter, OpenAIAdapterOptions } from "./providers/openai/openai-adapter.js";
