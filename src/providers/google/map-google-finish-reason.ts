import type { FinishReason } from "../../core/chat-response.js";

/** Gemini finish reasons that mean the output was withheld or cut for policy reasons. */
const FILTERED = new Set(["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"]);

/**
 * Gemini's `finishReason` in OpenAI's words. Gemini reports `STOP` even when the turn ends in
 * function calls, so the caller says whether it saw any. Reasons OpenAI has no word for
 * (`MALFORMED_FUNCTION_CALL`, `LANGUAGE`, `OTHER`, ones added later) read as `stop`.
 */
export function mapGoogleFinishReason(reason: string | undefined, hasToolCalls: boolean): FinishReason {
  if (reason === "MAX_TOKENS") return "length";
  if (reason !== undefined && FILTERED.has(reason)) return "content_filter";
  return hasToolCalls ? "tool_calls" : "stop";
}
