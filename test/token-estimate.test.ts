import { describe, expect, it } from "vitest";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import type { ChatRequest } from "../src/index.js";
import { estimatePromptTokens, promptTokensForLimit } from "../src/core/token-estimate.js";

const request = (content: string): ChatRequest => ({ model: "m", messages: [{ role: "user", content }] });
const prose = "The quick brown fox jumps over the lazy dog while the gateway counts its tokens. ";

describe("prompt tokens for a TPM reservation", () => {
  it("uses the fast estimate when the prompt is small next to the tightest TPM limit", () => {
    let exactCalls = 0;
    const exact = (text: string): number => {
      exactCalls++;
      return countTokens(text);
    };
    const small = request(prose.repeat(20)); // ~350 tokens
    expect(promptTokensForLimit(small, exact, 100_000)).toBe(estimatePromptTokens(small));
    expect(exactCalls).toBe(0);
  });

  it("counts exactly when the prompt is a noticeable share of the limit", () => {
    let exactCalls = 0;
    const exact = (text: string): number => {
      exactCalls++;
      return countTokens(text);
    };
    const large = request(prose.repeat(20));
    const counted = promptTokensForLimit(large, exact, 2_000);
    expect(exactCalls).toBeGreaterThan(0);
    expect(counted).toBe(estimatePromptTokens(large, exact));
  });

  it("keeps the estimate within 20% of OpenAI's tokenizer on prose", () => {
    const text = prose.repeat(50);
    const ratio = estimatePromptTokens(request(text)) / estimatePromptTokens(request(text), (t) => countTokens(t));
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.2);
  });

  it("uses the estimate when no exact counter is available", () => {
    const large = request(prose.repeat(200));
    expect(promptTokensForLimit(large, undefined, 100)).toBe(estimatePromptTokens(large));
  });
});
