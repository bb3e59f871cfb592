import type { ChatMessage, TextPart } from "../../core/chat-request.js";
import type { Issue } from "../../core/errors.js";

/** A `system` or `developer` message: the instructions providers without such turns lift out. */
export type SystemMessage = Extract<ChatMessage, { role: "system" | "developer" }>;

/** A lifted system message, with its text (its parts joined). */
export interface LiftedSystemMessage {
  message: SystemMessage;
  /** Where it was in `messages`, for issue paths. */
  index: number;
  text: string;
}

/**
 * What to do with a system message after the conversation started (after a user, assistant or
 * tool message). The providers genuinely differ: Anthropic has one top-level `system` and no
 * mid-conversation system turn, so it is hoisted, keeping its order among the system texts;
 * Gemini's `systemInstruction` must precede the conversation, so it is refused (moving it
 * silently would change what the model reads at that point).
 */
export type LateSystemRule = { late: "hoist" } | { late: "refuse"; message: string };

/**
 * The system and developer messages of a conversation, in order, with their text. Late ones
 * are kept or refused per `rule` (a refused one is an issue on `messages[i].role`, and is left
 * out). Empty texts are kept: whether they count is the provider's choice.
 */
export function liftSystemMessages(messages: readonly ChatMessage[], rule: LateSystemRule, issues: Issue[]): LiftedSystemMessage[] {
  const lifted: LiftedSystemMessage[] = [];
  let conversationStarted = false;
  messages.forEach((message, index) => {
    if (message.role !== "system" && message.role !== "developer") {
      conversationStarted = true;
      return;
    }
    if (conversationStarted && rule.late === "refuse") {
      issues.push({ path: `messages[${index}].role`, message: rule.message });
      return;
    }
    lifted.push({ message, index, text: joinText(message.content) });
  });
  return lifted;
}

/** A content's text: a string as is, text parts joined without separator. */
export function joinText(content: string | readonly TextPart[]): string {
  return typeof content === "string" ? content : content.map((part) => part.text).join("");
}
