import type { ChatRequest } from "../contract/chat-request.js";

/** Tokens OpenAI adds around each message (role, separators). */
const PER_MESSAGE_OVERHEAD = 4;

/**
 * A fast, provider-neutral prompt-token estimate: about 4 characters per token, plus a
 * per-message overhead and the tool schemas. Used where no tokenizer applies.
 */
export function estimatePromptTokens(request: ChatRequest): number {
  let characters = 0;
  for (const message of request.messages) {
    characters += PER_MESSAGE_OVERHEAD * 4;
    const content = "content" in message ? message.content : undefined;
    if (typeof content === "string") characters += content.length;
    else if (Array.isArray(content)) {
      for (const part of content) {
        // An image costs roughly 85-1,100 tokens by detail; count a mid value.
        characters += part.type === "text" ? part.text.length : 765 * 4;
      }
    }
    if (message.role === "assistant" && message.tool_calls) {
      for (const call of message.tool_calls) characters += call.function.name.length + call.function.arguments.length;
    }
  }
  if (request.tools) characters += JSON.stringify(request.tools).length;
  return Math.ceil(characters / 4);
}
