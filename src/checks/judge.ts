import type { AcceptCheck } from "../core/cascade-types.js";
import { answerText } from "./text-checks.js";

export interface JudgeOptions {
  /** The logical model (or `provider/model`) asked; routed like any call of the gateway. */
  model: string;
  /** The yes/no question about the answer, e.g. "Does the answer cite a source?". */
  question: string;
  /** Output cap for the judge's reply (default 5: it answers yes or no). */
  maxTokens?: number;
}

/**
 * Accepts an answer when another model, asked `question` about it, says yes. The judge's call
 * goes through the same gateway (routes, retries, cooldowns) and its cost is added to the
 * checked call's cost.
 */
export function judge(options: JudgeOptions): AcceptCheck {
  return async (response, request, context) => {
    const asked = request.messages.filter((message) => message.role === "user").map((message) => textOf(message.content)).join("\n");
    const verdict = await context.chat({
      model: options.model,
      max_tokens: options.maxTokens ?? 5,
      temperature: 0,
      messages: [
        { role: "system", content: "You grade an assistant's answer. Reply with exactly one word: yes or no." },
        { role: "user", content: `Request:\n${asked}\n\nAnswer:\n${answerText(response)}\n\nQuestion: ${options.question}` },
      ],
    });
    return /^\s*yes\b/i.test(answerText(verdict));
  };
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => (part && typeof part === "object" && "text" in part ? String(part.text) : "")).join("");
  return "";
}
