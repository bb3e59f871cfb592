import type { TextTokenCounter } from "../core/token-estimate.js";

/**
 * OpenAI's tokenizer (o200k_base, via the optional `gpt-tokenizer` package) for TPM estimates
 * of OpenAI models. Measured here: 30 µs (English) to 200 µs (symbol soup) per 2 KB, and loading
 * it takes ~0.5 s, blocks the event loop ~0.2 s once and adds ~100 MB of memory. So it is loaded
 * only by a gateway that has a TPM limit, in the background, and used only for calls a TPM limit
 * applies to; until it has loaded, or when the package is not installed, `estimateTextTokens`
 * stands in. Anthropic and Gemini publish no local tokenizer: their calls always use the estimate,
 * settled against the provider's reported usage afterwards.
 */
export interface OpenAITokenizer {
  /** Starts loading, once; never throws. */
  load(): void;
  /** The tokenizer's counter when `model` is an OpenAI model and it has loaded; otherwise undefined. */
  counterFor(model: string): TextTokenCounter | undefined;
}

/** gpt-4o, gpt-4.1, gpt-5, o1/o3/o4, chatgpt-4o, with or without a `namespace/` prefix. */
const OPENAI_MODEL = /^(?:[^/]+\/)?(?:gpt-|chatgpt-|o\d)/;

/**
 * A non-literal specifier keeps bundlers from inlining the 4.6 MB of BPE ranks into our build:
 * the package stays an optional peer that a user installs to get exact OpenAI counts.
 */
const TOKENIZER_MODULE: string = "gpt-tokenizer/encoding/o200k_base";

export function createOpenAITokenizer(): OpenAITokenizer {
  let count: TextTokenCounter | undefined;
  let started = false;
  return {
    load() {
      if (started) return;
      started = true;
      import(TOKENIZER_MODULE).then(
        (module: unknown) => {
          const candidate = (module as { countTokens?: unknown }).countTokens;
          if (typeof candidate !== "function") return;
          const countTokens = candidate as (text: string, options: { disallowedSpecial: Set<string> }) => number;
          // Special-token text (`<|endoftext|>`) in a prompt is counted as text, not refused.
          const options = { disallowedSpecial: new Set<string>() };
          count = (text) => countTokens(text, options);
        },
        () => {
          // Not installed: the estimate serves.
        },
      );
    },
    counterFor(model) {
      return count !== undefined && OPENAI_MODEL.test(model) ? count : undefined;
    },
  };
}
