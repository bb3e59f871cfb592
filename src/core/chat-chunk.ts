import type { ReasoningDetail } from "./chat-request.js";
import type { FinishReason, Usage } from "./chat-response.js";

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function?: { name?: string; arguments?: string };
}

export interface ChunkDelta {
  role?: "assistant";
  content?: string | null;
  tool_calls?: ToolCallDelta[];
  refusal?: string | null;
  reasoning_content?: string;
  /** Whole reasoning details, or pieces of one (same `index`: text appended, signature/data set). */
  reasoning_details?: ReasoningDetail[];
}

export interface ChunkChoice {
  index: number;
  delta: ChunkDelta;
  finish_reason: FinishReason | null;
  logprobs?: null;
}

/**
 * An OpenAI `chat.completion.chunk`. The last chunk of a stream carries `usage` and
 * an empty `choices` array, as OpenAI sends it with `stream_options.include_usage`.
 */
export interface ChatChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: ChunkChoice[];
  usage?: Usage | null;
  system_fingerprint?: string | null;
}
