import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { ChatChunk, ChunkChoice, ChunkDelta, ToolCallDelta } from "../../core/chat-chunk.js";
import type { ReasoningDetail, ToolCall } from "../../core/chat-request.js";
import type {
  AssistantMessage,
  ChatChoice,
  ChatResponse,
  ChoiceLogprobs,
  FinishReason,
  ResponseModeration,
  SearchResult,
  TokenLogprob,
} from "../../core/chat-response.js";
import { ProviderError } from "../../core/errors.js";
import { providerLabel } from "./openai-errors.js";
import { joinReasoning, readContent, stableToolCallId, toUsage } from "./vendor-quirks.js";

/*
 * Lenient schemas: they read what the gateway needs and ignore everything else, so a field
 * OpenAI (or a compatible server) adds tomorrow cannot break a call. Only a payload missing
 * what a chat answer must have (`choices`) is an error.
 */

const count = z.number().nonnegative().optional().catch(undefined);

const usageSchema = z.object({
  prompt_tokens: count,
  completion_tokens: count,
  total_tokens: count,
  prompt_tokens_details: z
    .object({ cached_tokens: count, cache_write_tokens: count, audio_tokens: count, text_tokens: count, image_tokens: count })
    .nullish()
    .catch(undefined),
  completion_tokens_details: z
    .object({
      reasoning_tokens: count,
      audio_tokens: count,
      accepted_prediction_tokens: count,
      rejected_prediction_tokens: count,
      text_tokens: count,
    })
    .nullish()
    .catch(undefined),
  prompt_cache_hit_tokens: count,
  cached_tokens: count,
});

// Some compatible servers send arguments as a parsed object; OpenAI's shape is a JSON string.
const toolArguments = z
  .union([z.string(), z.record(z.string(), z.unknown())])
  .nullish()
  .transform((value) => (value == null ? "" : typeof value === "string" ? value : JSON.stringify(value)));

// Gemini's OpenAI endpoint sends "", some servers none: the adapter gives such calls an id.
const toolCallId = z.string().nullish().catch(undefined);

/** A call of a `custom` tool: free-form `input` text instead of JSON arguments. */
const customToolCallSchema = z.object({
  id: toolCallId,
  type: z.literal("custom"),
  custom: z.object({ name: z.string(), input: z.string().nullish().transform((value) => value ?? "") }),
});

const functionToolCallSchema = z.object({
  id: toolCallId,
  function: z.object({ name: z.string(), arguments: toolArguments }),
});

const toolCallSchema = z.union([customToolCallSchema, functionToolCallSchema]);

const topLogprobSchema = z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number()).nullish() });
const tokenLogprobSchema = topLogprobSchema.extend({ top_logprobs: z.array(topLogprobSchema).nullish() });
/** Read whole or not at all: a partial list of log probabilities would mislead. */
const logprobsSchema = z
  .object({ content: z.array(tokenLogprobSchema).nullish(), refusal: z.array(tokenLogprobSchema).nullish() })
  .nullish()
  .catch(undefined);

const audioSchema = z
  .object({ id: z.string(), data: z.string(), expires_at: z.number(), transcript: z.string() })
  .nullish()
  .catch(undefined);
const audioDeltaSchema = z
  .object({
    id: z.string().optional().catch(undefined),
    data: z.string().optional().catch(undefined),
    expires_at: z.number().optional().catch(undefined),
    transcript: z.string().optional().catch(undefined),
  })
  .nullish()
  .catch(undefined);

const annotationSchema = z.object({
  type: z.literal("url_citation"),
  url_citation: z.object({ start_index: z.number(), end_index: z.number(), url: z.string(), title: z.string() }),
});
/** Citations OpenAI documents are kept; kinds it does not are skipped one by one. */
const annotationsSchema = z
  .array(z.unknown())
  .nullish()
  .catch(undefined)
  .transform((items) =>
    items?.flatMap((item) => {
      const parsed = annotationSchema.safeParse(item);
      return parsed.success ? [parsed.data] : [];
    }),
  );

const reasoningDetailSchema = z.union([
  z.object({
    type: z.literal("reasoning.text"),
    text: z.string(),
    signature: z.string().optional(),
    format: z.string().optional(),
    index: z.number().int().optional(),
  }),
  z.object({
    type: z.literal("reasoning.encrypted"),
    data: z.string(),
    format: z.string().optional(),
    id: z.string().optional(),
    index: z.number().int().optional(),
  }),
]);

const reasoningDetailsSchema = z
  .array(z.unknown())
  .nullish()
  .catch(undefined)
  .transform((items) =>
    items?.flatMap((item) => {
      const parsed = reasoningDetailSchema.safeParse(item);
      return parsed.success ? [parsed.data as ReasoningDetail] : [];
    }),
  );
/** Reasoning text under the names vendors use: DeepSeek, xAI, Qwen `reasoning_content`; Groq, vLLM, Ollama `reasoning`. */
const reasoningText = z.string().nullish().catch(undefined);

/** A string (OpenAI) or Mistral's array of typed chunks; anything else is unreadable. */
const contentSchema = z.union([z.string(), z.array(z.unknown())]).nullish();

const choiceSchema = z.object({
  index: z.number().int().nonnegative().catch(0),
  message: z.object({
    content: contentSchema,
    refusal: z.string().nullish().catch(undefined),
    tool_calls: z.array(toolCallSchema).nullish(),
    reasoning_content: reasoningText,
    reasoning: reasoningText,
    reasoning_details: reasoningDetailsSchema,
    audio: audioSchema,
    annotations: annotationsSchema,
  }),
  finish_reason: z.string().nullish().catch(undefined),
  logprobs: logprobsSchema,
});

/** Perplexity's `citations`: URLs in the order its `[n]` markers count them. */
const citationsSchema = z.array(z.string()).nullish().catch(undefined);

/** Perplexity's `search_results`: each kept as sent when it has a `url`; one without is skipped. */
const searchResultsSchema = z
  .array(z.unknown())
  .nullish()
  .catch(undefined)
  .transform((items) =>
    items?.flatMap((item) =>
      typeof item === "object" && item !== null && !Array.isArray(item) && typeof (item as { url?: unknown }).url === "string"
        ? [item as SearchResult]
        : [],
    ),
  );

/** OpenAI's `moderation` verdicts: passed on as sent when both sides carry a `type`, else left out. */
const moderationSchema = z
  .object({ input: z.looseObject({ type: z.string() }), output: z.looseObject({ type: z.string() }) })
  .nullish()
  .catch(undefined)
  .transform((value) => value as ResponseModeration | null | undefined);

/** The request's `metadata` echoed back: string values only, as OpenAI stores them. */
const metadataSchema = z.record(z.string(), z.string()).nullish().catch(undefined);

const completionSchema = z.object({
  id: z.string().catch(""),
  created: z.number().catch(0),
  model: z.string().optional().catch(undefined),
  choices: z.array(choiceSchema).min(1),
  usage: usageSchema.nullish().catch(undefined),
  system_fingerprint: z.string().nullish().catch(undefined),
  service_tier: z.string().nullish().catch(undefined),
  citations: citationsSchema,
  search_results: searchResultsSchema,
  metadata: metadataSchema,
  moderation: moderationSchema,
});

const toolCallDeltaSchema = z.object({
  index: z.number().int().nonnegative().optional().catch(undefined),
  id: z.string().nullish().catch(undefined),
  type: z.string().nullish().catch(undefined),
  custom: z
    .object({ name: z.string().nullish().catch(undefined), input: z.string().nullish().catch(undefined) })
    .nullish()
    .catch(undefined),
  function: z
    .object({ name: z.string().nullish().catch(undefined), arguments: z.string().nullish().catch(undefined) })
    .nullish()
    .catch(undefined),
});

const chunkChoiceSchema = z.object({
  index: z.number().int().nonnegative().catch(0),
  // Azure's content-filter chunks carry choices without a delta.
  delta: z
    .object({
      role: z.string().nullish().catch(undefined),
      content: contentSchema,
      refusal: z.string().nullish().catch(undefined),
      tool_calls: z.array(toolCallDeltaSchema).nullish(),
      reasoning_content: reasoningText,
      reasoning: reasoningText,
      reasoning_details: reasoningDetailsSchema,
      audio: audioDeltaSchema,
      annotations: annotationsSchema,
    })
    .nullish(),
  finish_reason: z.string().nullish().catch(undefined),
  logprobs: logprobsSchema,
});

const chunkSchema = z.object({
  id: z.string().catch(""),
  created: z.number().catch(0),
  model: z.string().optional().catch(undefined),
  choices: z.array(chunkChoiceSchema).nullish(),
  usage: usageSchema.nullish().catch(undefined),
  system_fingerprint: z.string().nullish().catch(undefined),
  service_tier: z.string().nullish().catch(undefined),
  citations: citationsSchema,
  search_results: searchResultsSchema,
  moderation: moderationSchema,
});

const embeddingsSchema = z.object({
  data: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      // A string when asked for base64 (what we ask for); some compatible servers ignore that.
      embedding: z.union([z.string(), z.array(z.number())]),
    }),
  ),
});

const FINISH_REASONS: ReadonlySet<string> = new Set<FinishReason>([
  "stop",
  "length",
  "tool_calls",
  "content_filter",
  "function_call",
]);

/**
 * Maps an OpenAI `chat.completion` (or a compatible server's) to the gateway's `ChatResponse`:
 * every documented field passes through; vendor quirks are normalised (vendor-quirks.ts).
 */
export function fromOpenAIResponse(payload: unknown, fallbackModel: string, provider: string): ChatResponse {
  const completion = parse(completionSchema, payload, provider, "chat completion");
  const idSeed = completion.id || randomUUID();
  const choices = completion.choices.map((choice): ChatChoice => {
    const source = choice.message;
    const toolCalls = (source.tool_calls ?? []).map((call, position): ToolCall => {
      const id = call.id || stableToolCallId(idSeed, choice.index, position);
      return "custom" in call
        ? { id, type: "custom", custom: { name: call.custom.name, input: call.custom.input } }
        : { id, type: "function", function: { name: call.function.name, arguments: call.function.arguments } };
    });
    const content = readContent(source.content);
    const reasoning = joinReasoning(source.reasoning_content ?? source.reasoning, content.reasoning);
    const message: AssistantMessage = {
      role: "assistant",
      // Null stays null (what OpenAI sends beside tool calls); an array with no text reads as "".
      content: source.content == null ? null : (content.text ?? ""),
    };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    if (typeof source.refusal === "string") message.refusal = source.refusal;
    if (reasoning !== undefined) message.reasoning_content = reasoning;
    if (source.reasoning_details && source.reasoning_details.length > 0) message.reasoning_details = source.reasoning_details;
    if (source.audio) message.audio = source.audio;
    if (source.annotations && source.annotations.length > 0) message.annotations = source.annotations;
    return {
      index: choice.index,
      message,
      finish_reason: toFinishReason(choice.finish_reason),
      logprobs: choice.logprobs ? toLogprobs(choice.logprobs) : null,
    };
  });
  const response: ChatResponse = {
    id: completion.id,
    object: "chat.completion",
    created: completion.created,
    model: completion.model ?? fallbackModel,
    choices,
  };
  if (completion.usage) response.usage = toUsage(completion.usage);
  if (completion.system_fingerprint != null) response.system_fingerprint = completion.system_fingerprint;
  if (completion.service_tier != null) response.service_tier = completion.service_tier;
  if (completion.citations) response.citations = completion.citations;
  if (completion.search_results) response.search_results = completion.search_results;
  if (completion.metadata !== undefined) response.metadata = completion.metadata;
  if (completion.moderation !== undefined) response.moderation = completion.moderation;
  return response;
}

/**
 * Maps one OpenAI `chat.completion.chunk`. Returns `undefined` for a chunk that carries
 * nothing the gateway's contract has (no choices, no usage), such as Azure's prompt-filter
 * preamble, so a `choices: []` chunk always means "the usage chunk".
 *
 * `idSeed` names the stream for tool calls sent without an id when the chunk has no id of its
 * own; the stream passes the same seed for every chunk, so each call keeps one id.
 */
export function fromOpenAIChunk(payload: unknown, fallbackModel: string, provider: string, idSeed = ""): ChatChunk | undefined {
  const parsed = parse(chunkSchema, payload, provider, "stream chunk");
  const choices = (parsed.choices ?? []).map((choice): ChunkChoice => {
    const delta: ChunkDelta = {};
    const source = choice.delta;
    if (source?.role === "assistant") delta.role = "assistant";
    const content = readContent(source?.content);
    if (content.text !== undefined) delta.content = content.text;
    if (typeof source?.refusal === "string") delta.refusal = source.refusal;
    const reasoning = joinReasoning(source?.reasoning_content ?? source?.reasoning, content.reasoning);
    if (reasoning !== undefined) delta.reasoning_content = reasoning;
    if (source?.reasoning_details && source.reasoning_details.length > 0) delta.reasoning_details = source.reasoning_details;
    if (source?.audio) delta.audio = withoutUndefined(source.audio);
    if (source?.annotations && source.annotations.length > 0) delta.annotations = source.annotations;
    if (source?.tool_calls && source.tool_calls.length > 0) {
      delta.tool_calls = source.tool_calls.map((call, position): ToolCallDelta => {
        const index = call.index ?? position;
        const mapped: ToolCallDelta = { index };
        // A custom tool call streams `custom.name` then pieces of `custom.input`; later pieces may omit `type`.
        const custom = call.type === "custom" || (call.custom != null && call.function == null);
        const name = custom ? call.custom?.name : call.function?.name;
        const piece = custom ? call.custom?.input : call.function?.arguments;
        // The delta that names the call starts it: it must carry an id, made up if the server sent none.
        const id = call.id || (typeof name === "string" && name !== "" ? stableToolCallId(parsed.id || idSeed, choice.index, index) : undefined);
        if (id) {
          mapped.id = id;
          mapped.type = custom ? "custom" : "function";
        }
        if (typeof name === "string" || typeof piece === "string") {
          const named = typeof name === "string" ? { name } : {};
          if (custom) mapped.custom = { ...named, ...(typeof piece === "string" ? { input: piece } : {}) };
          else mapped.function = { ...named, ...(typeof piece === "string" ? { arguments: piece } : {}) };
        }
        return mapped;
      });
    }
    const mapped: ChunkChoice = { index: choice.index, delta, finish_reason: toFinishReason(choice.finish_reason) };
    if (choice.logprobs) mapped.logprobs = toLogprobs(choice.logprobs);
    return mapped;
  });
  if (choices.length === 0 && !parsed.usage) return undefined;
  const chunk: ChatChunk = {
    id: parsed.id,
    object: "chat.completion.chunk",
    created: parsed.created,
    model: parsed.model ?? fallbackModel,
    choices,
  };
  if (parsed.usage) chunk.usage = toUsage(parsed.usage);
  if (parsed.system_fingerprint != null) chunk.system_fingerprint = parsed.system_fingerprint;
  if (parsed.service_tier != null) chunk.service_tier = parsed.service_tier;
  if (parsed.citations) chunk.citations = parsed.citations;
  if (parsed.search_results) chunk.search_results = parsed.search_results;
  if (parsed.moderation !== undefined) chunk.moderation = parsed.moderation;
  return chunk;
}

/** Vectors in input order, from an OpenAI embeddings response (base64 or float arrays). */
export function fromOpenAIEmbeddings(payload: unknown, inputCount: number, provider: string): number[][] {
  const parsed = parse(embeddingsSchema, payload, provider, "embeddings response");
  const vectors: number[][] = new Array<number[]>(inputCount);
  for (const item of parsed.data) {
    if (item.index < inputCount) vectors[item.index] = typeof item.embedding === "string" ? decodeFloat32(item.embedding) : item.embedding;
  }
  for (let index = 0; index < inputCount; index++) {
    if (vectors[index] === undefined) {
      throw invalidResponse(provider, `sent no embedding for input ${index} of ${inputCount}`);
    }
  }
  return vectors;
}

type WireLogprobs = NonNullable<z.infer<typeof logprobsSchema>>;
type WireTokenLogprob = z.infer<typeof tokenLogprobSchema>;

function toLogprobs(source: WireLogprobs): ChoiceLogprobs {
  const result: ChoiceLogprobs = { content: source.content ? source.content.map(toTokenLogprob) : null };
  if (source.refusal !== undefined) result.refusal = source.refusal ? source.refusal.map(toTokenLogprob) : null;
  return result;
}

function toTokenLogprob(token: WireTokenLogprob): TokenLogprob {
  return {
    token: token.token,
    logprob: token.logprob,
    bytes: token.bytes ?? null,
    top_logprobs: (token.top_logprobs ?? []).map((top) => ({ token: top.token, logprob: top.logprob, bytes: top.bytes ?? null })),
  };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

/** OpenAI's reasons pass through; a compatible server's own (`eos`, `end_turn`) means it stopped. */
function toFinishReason(reason: string | null | undefined): FinishReason | null {
  if (reason == null || reason === "") return null;
  return FINISH_REASONS.has(reason) ? (reason as FinishReason) : "stop";
}

/** Little-endian float32s, as OpenAI encodes `encoding_format: "base64"`. */
function decodeFloat32(base64: string): number[] {
  const bytes = Buffer.from(base64, "base64");
  const vector = new Array<number>(Math.floor(bytes.length / 4));
  for (let index = 0; index < vector.length; index++) vector[index] = bytes.readFloatLE(index * 4);
  return vector;
}

function parse<T extends z.ZodType>(schema: T, payload: unknown, provider: string, what: string): z.infer<T> {
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  const detail = result.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
  throw invalidResponse(provider, `sent an unreadable ${what} (${detail})`);
}

/**
 * A 200 the gateway cannot read. Not retryable: the same deployment would answer the same way
 * (a vendor's format, not a fluke); the router still falls back to another deployment.
 */
function invalidResponse(provider: string, what: string): ProviderError {
  return new ProviderError(`${providerLabel(provider)} ${what}`, {
    provider,
    retryable: false,
    type: "invalid_response",
  });
}
