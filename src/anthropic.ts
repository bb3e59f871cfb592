/**
 * `modelgate/anthropic`: the Anthropic adapter. Needs the optional peer dependency `@anthropic-ai/sdk`.
 *
 * @example
 * import { anthropic } from "modelgate/anthropic";
 * const provider = anthropic({ apiKey: process.env.ANTHROPIC_API_KEY });
 */
export { anthropic } from "./providers/anthropic/anthropic-adapter.js";
export type { AnthropicOptions } from "./providers/anthropic/anthropic-adapter.js";
