import type { ChatRequest } from "../core/chat-request.js";

/**
 * The text the semantic tier embeds for a request, or `undefined` when the request must not be
 * served by similarity:
 * - sampling asked for variety (`temperature` above 0);
 * - a long conversation (more than `maxMessages`) or an agent loop (tool results, tool calls):
 *   a later turn that reads like an earlier one must not get the earlier turn's answer;
 * - images: the text alone does not say what was asked.
 *
 * System and developer prompts are not embedded: they are part of the partition key, so a
 * match needs the same prompt word for word. The remaining messages are joined with blank
 * lines; their roles are in the partition key too.
 */
export function semanticTextOf(request: ChatRequest, maxMessages: number): string | undefined {
  if (request.temperature !== undefined && request.temperature !== 0) return undefined;
  if (request.messages.length > maxMessages) return undefined;
  let text = "";
  for (const message of request.messages) {
    if (message.role === "tool") return undefined;
    if (message.role === "system" || message.role === "developer") continue;
    if (message.role === "assistant" && message.tool_calls && message.tool_calls.length > 0) return undefined;
    const content = message.content;
    let piece = "";
    if (typeof content === "string") piece = content;
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (part.type !== "text") return undefined;
        piece += part.text;
      }
    }
    text += text === "" ? piece : `\n\n${piece}`;
  }
  return text.trim() === "" ? undefined : text;
}
