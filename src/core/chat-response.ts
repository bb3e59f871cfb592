import type { ReasoningDetail, ToolCall } from "./chat-request.js";

/** Why generation stopped, in OpenAI's words whatever provider served the call. */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call";

/**
 * Token counts in OpenAI's shape. `prompt_tokens` includes cached and cache-creation tokens;
 * `completion_tokens` includes reasoning tokens.
 */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: {
    /** Prompt tokens read from the provider's prompt cache (billed at the cached-input price). */
    cached_tokens?: number;
    /** Prompt tokens written to the provider's prompt cache (Anthropic's cache creation). */
    cache_creation_tokens?: number;
  };
  completion_tokens_details?: {
    /** Output tokens spent on hidden reasoning, billed as output. */
    reasoning_tokens?: number;
  };
}

export interface AssistantMessage {
  role: "assistant";
  content: string | null;
  tool_calls?: ToolCall[];
  refusal?: string | null;
  /** The model's thinking text, joined (OpenRouter's and DeepSeek's field). */
  reasoning_content?: string;
  /** Thinking blocks and signatures; send them back on the assistant message to continue a tool loop. */
  reasoning_details?: ReasoningDetail[];
}

export interface ChatChoice {
  index: number;
  message: AssistantMessage;
  finish_reason: FinishReason | null;
  logprobs: null;
}

/** An OpenAI `chat.completion` object, as an adapter returns it. */
export interface ChatResponse {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: ChatChoice[];
  usage?: Usage;
  system_fingerprint?: string | null;
}

/** One try at one deployment, as `res.gateway.attempts` lists it. */
export interface AttemptRecord {
  /** `provider/model` of the deployment tried. */
  deployment: string;
  provider: string;
  /** The logical model whose route this attempt belonged to (differs from the request on fallback). */
  route: string;
  /** HTTP status the provider answered with, when there was one. */
  status?: number;
  /** The error's stable code (`provider_error`, `timeout`, ...) when the attempt failed. */
  errorCode?: string;
  durationMs: number;
}

export type CacheOutcome = "miss" | "exact" | "semantic" | "bypass";

/** What the gateway did to serve a call. Never carries secrets. */
export interface GatewayInfo {
  /** The provider (config key) that served the answer. */
  provider: string;
  /** `provider/model` of the deployment that served it. */
  deployment: string;
  /** The provider-side model name. */
  model: string;
  /** The logical model that served it: the requested one, or a fallback. */
  route: string;
  attempts: AttemptRecord[];
  cache: CacheOutcome;
  costUsd: number;
  /** What a cache hit saved, in USD (0 on a miss). */
  savedUsd: number;
  latencyMs: number;
  /** On a cascade route: whether an answer met the bar, and each tier tried with its cost. */
  cascade?: CascadeInfo;
}

/** One tier of a cascade as `res.gateway.cascade.tiers` lists it. */
export interface CascadeTier {
  /** `provider/model` of the tier. */
  deployment: string;
  /** False when the check rejected the answer or the tier failed outright (`error` set). */
  accepted: boolean;
  costUsd: number;
  latencyMs: number;
  /** The stable code of the error when the tier failed (every deployment's retries spent). */
  error?: string;
}

/** `res.gateway.cascade`: whether an answer met the bar, and what each tier tried cost. */
export interface CascadeInfo {
  accepted: boolean;
  tiers: CascadeTier[];
}

/** What `gateway.chat()` resolves to without `stream: true`. */
export interface GatewayChatResponse extends ChatResponse {
  gateway: GatewayInfo;
}
