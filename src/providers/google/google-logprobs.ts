import { z } from "zod";
import type { ChoiceLogprobs, TokenLogprob } from "../../core/chat-response.js";

const tokenSchema = z.object({ token: z.string().optional(), logProbability: z.number().optional() });

/** Gemini's `candidates[i].logprobsResult` (with `responseLogprobs`), read leniently. */
export const logprobsResultSchema = z.object({
  chosenCandidates: z.array(tokenSchema).optional(),
  topCandidates: z.array(z.object({ candidates: z.array(tokenSchema).optional() })).optional(),
});
export type GoogleLogprobsResult = z.infer<typeof logprobsResultSchema>;

/** OpenAI sends each token's UTF-8 bytes, so clients can rebuild characters split across tokens. */
function entry(token: z.infer<typeof tokenSchema>): { token: string; logprob: number; bytes: number[] } {
  const text = token.token ?? "";
  return { token: text, logprob: token.logProbability ?? 0, bytes: [...Buffer.from(text, "utf8")] };
}

/**
 * Gemini's log probabilities as OpenAI's `choices[i].logprobs`: step k's chosen token, with step
 * k's top candidates as its `top_logprobs` (empty when `top_logprobs` was not asked for).
 */
export function toChoiceLogprobs(result: GoogleLogprobsResult | undefined): ChoiceLogprobs | null {
  if (result?.chosenCandidates === undefined) return null;
  const content: TokenLogprob[] = result.chosenCandidates.map((chosen, step) => ({
    ...entry(chosen),
    top_logprobs: (result.topCandidates?.[step]?.candidates ?? []).map(entry),
  }));
  return { content };
}
