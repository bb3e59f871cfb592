import type { ReasoningDetail, ToolCall } from "./chat-request.js";

/** Why generation stopped, in OpenAI's words whatever provider served the call. */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call";

/**
 * Token counts in OpenAI's shape. `prompt_tokens` includes cached, cache-written and audio input
 * tokens; `completion_tokens` includes reasoning, audio output and rejected prediction tokens, so
 * `total_tokens = prompt_tokens + completion_tokens` whoever served the call (adapters normalise
 * vendors that count reasoning outside `completion_tokens`).
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
    /**
     * OpenAI's name for prompt tokens written to its cache, passed through as sent. The same
     * tokens as `cache_creation_tokens`: where both are set, they are billed once (the larger).
     */
    cache_write_tokens?: number;
    /**
     * Of the cache-written tokens, those written with Anthropic's 1-hour TTL (`cache_control:
     * { ttl: "1h" }`), which bill at the route's `cacheWrite1h` price; the rest of the writes are
     * 5-minute ones. Already counted in `cache_creation_tokens`, never added on top.
     */
    cache_write_1h_tokens?: number;
    /** Audio input tokens (billed at the audio-input price when the route has one). */
    audio_tokens?: number;
    /** Text input tokens, as OpenAI breaks them out (already in `prompt_tokens`; informational). */
    text_tokens?: number;
    /** Image input tokens, as OpenAI breaks them out (already in `prompt_tokens`, billed as input). */
    image_tokens?: number;
  };
  completion_tokens_details?: {
    /** Output tokens spent on hidden reasoning, billed as output (once: they are inside `completion_tokens`). */
    reasoning_tokens?: number;
    /** Audio output tokens (billed at the audio-output price when the route has one). */
    audio_tokens?: number;
    /** Predicted-output tokens that appeared in the answer. */
    accepted_prediction_tokens?: number;
    /** Predicted-output tokens that did not; OpenAI bills them as output, and counts them in `completion_tokens`. */
    rejected_prediction_tokens?: number;
    /** Text output tokens, as OpenAI breaks them out (already in `completion_tokens`; informational). */
    text_tokens?: number;
  };
}

/** One token's log probability, as OpenAI sends it with `logprobs: true`. */
export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
  top_logprobs: { token: string; logprob: number; bytes: number[] | null }[];
}

/** `choices[i].logprobs`: per-token log probabilities of the content (or of the refusal). */
export interface ChoiceLogprobs {
  content: TokenLogprob[] | null;
  refusal?: TokenLogprob[] | null;
}

/** Spoken output (`modalities: ["text", "audio"]`): base64 audio and its transcript. */
export interface AssistantAudio {
  id: string;
  /** Base64-encoded audio in the requested format. */
  data: string;
  /** Unix seconds after which the audio can no longer be referenced in a later turn. */
  expires_at: number;
  transcript: string;
}

/** A citation the model attached to its answer (web search). */
export interface UrlCitationAnnotation {
  type: "url_citation";
  url_citation: { start_index: number; end_index: number; url: string; title: string };
}

/**
 * A web page a search-backed vendor (Perplexity) consulted, as it sent it: `url` always, `title`,
 * `date`, `last_updated` and `snippet` when given, any other field kept.
 */
export interface SearchResult {
  url: string;
  title?: string;
  date?: string | null;
  last_updated?: string | null;
  snippet?: string;
  [field: string]: unknown;
}

/**
 * Sources a search-backed vendor attached to the whole response (not OpenAI fields): Perplexity's
 * `citations` (the URLs its `[n]` markers point at, in order) and `search_results`.
 */
export interface ResponseSources {
  citations?: string[];
  search_results?: SearchResult[];
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
  audio?: AssistantAudio | null;
  annotations?: UrlCitationAnnotation[];
}

export interface ChatChoice {
  index: number;
  message: AssistantMessage;
  finish_reason: FinishReason | null;
  logprobs: ChoiceLogprobs | null;
}

/** One moderation verdict on the input or the output, as OpenAI's `moderation` option returns it. */
export interface ModerationResult {
  type: "moderation_result";
  model: string;
  flagged: boolean;
  categories: Record<string, boolean>;
  category_scores: Record<string, number>;
  category_applied_input_types: Record<string, ("text" | "image")[]>;
}

/** The verdicts of a moderation model, or why it could not give them. */
export type ModerationOutcome =
  | { type: "moderation_results"; model: string; results: ModerationResult[] }
  | { type: "error"; code: string; message: string };

/** `moderation` on a response: what the moderation model requested with `moderation` said of the input and the output. */
export interface ResponseModeration {
  input: ModerationOutcome;
  output: ModerationOutcome;
}

/** An OpenAI `chat.completion` object, as an adapter returns it. */
export interface ChatResponse extends ResponseSources {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: ChatChoice[];
  usage?: Usage;
  system_fingerprint?: string | null;
  /** The processing tier that served the call (`default`, `flex`, `priority`, ...), as the provider said. */
  service_tier?: string | null;
  /** The `metadata` the request stored with the completion, echoed back by OpenAI. */
  metadata?: Record<string, string> | null;
  /** The verdicts of the moderation model the request asked for (`moderation`). */
  moderation?: ResponseModeration | null;
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
