import type { ReasoningDetail } from "./chat-request.js";
import type { ChoiceLogprobs, FinishReason, ResponseModeration, ResponseSources, UrlCitationAnnotation, Usage } from "./chat-response.js";

/**
 * A piece of a tool call: the first piece of a call carries `id` and `type`; `function.name` /
 * `function.arguments` (a function call) or `custom.name` / `custom.input` (a custom tool call)
 * arrive in pieces that are appended.
 */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function" | "custom";
  function?: { name?: string; arguments?: string };
  custom?: { name?: string; input?: string };
}

export interface ChunkDelta {
  role?: "assistant";
  content?: string | null;
  tool_calls?: ToolCallDelta[];
  refusal?: string | null;
  reasoning_content?: string;
  /** Whole reasoning details, or pieces of one (same `index`: text appended, signature/data set). */
  reasoning_details?: ReasoningDetail[];
  /** A piece of spoken output: `data` and `transcript` are appended, `id` and `expires_at` set. */
  audio?: { id?: string; data?: string; expires_at?: number; transcript?: string };
  annotations?: UrlCitationAnnotation[];
}

export interface ChunkChoice {
  index: number;
  delta: ChunkDelta;
  finish_reason: FinishReason | null;
  /** The log probabilities of this chunk's tokens; the accumulator appends them. */
  logprobs?: ChoiceLogprobs | null;
}

/**
 * An OpenAI `chat.completion.chunk`. The last chunk of a stream carries `usage` and
 * an empty `choices` array, as OpenAI sends it with `stream_options.include_usage`.
 */
export interface ChatChunk extends ResponseSources {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: ChunkChoice[];
  usage?: Usage | null;
  system_fingerprint?: string | null;
  service_tier?: string | null;
  /** The moderation verdicts, on the chunk that carries them (`moderation` requested). */
  moderation?: ResponseModeration | null;
}
