import { z } from "zod";
import type { ChatChunk, ChunkChoice, ChunkDelta, ToolCallDelta } from "../../core/chat-chunk.js";
import type { ToolCall } from "../../core/chat-request.js";
import type { ChatChoice, ChatResponse, FinishReason, Usage } from "../../core/chat-response.js";
import { ProviderError } from "../../core/errors.js";
import { providerLabel } from "./openai-errors.js";

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
  prompt_tokens_details: z.object({ cached_tokens: count }).nullish().catch(undefined),
  completion_tokens_details: z.object({ reasoning_tokens: count }).nullish().catch(undefined),
});

// Some compatible servers send arguments as a parsed object; OpenAI's shape is a JSON string.
const toolArguments = z
  .union([z.string(), z.record(z.string(), z.unknown())])
  .nullish()
  .transform((value) => (value == null ? "" : typeof value === "string" ? value : JSON.stringify(value)));

const toolCallSchema = z.object({
  id: z.string(),
  function: z.object({ name: z.string(), arguments: toolArguments }),
});

const choiceSchema = z.object({
  index: z.number().int().nonnegative().catch(0),
  message: z.object({
    content: z.string().nullish(),
    refusal: z.string().nullish().catch(undefined),
    tool_calls: z.array(toolCallSchema).nullish(),
  }),
  finish_reason: z.string().nullish().catch(undefined),
});

const completionSchema = z.object({
  id: z.string().catch(""),
  created: z.number().catch(0),
  model: z.string().optional().catch(undefined),
  choices: z.array(choiceSchema).min(1),
  usage: usageSchema.nullish().catch(undefined),
  system_fingerprint: z.string().nullish().catch(undefined),
});

const toolCallDeltaSchema = z.object({
  index: z.number().int().nonnegative().optional().catch(undefined),
  id: z.string().nullish().catch(undefined),
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
      content: z.string().nullish(),
      refusal: z.string().nullish().catch(undefined),
      tool_calls: z.array(toolCallDeltaSchema).nullish(),
    })
    .nullish(),
  finish_reason: z.string().nullish().catch(undefined),
});

const chunkSchema = z.object({
  id: z.string().catch(""),
  created: z.number().catch(0),
  model: z.string().optional().catch(undefined),
  choices: z.array(chunkChoiceSchema).nullish(),
  usage: usageSchema.nullish().catch(undefined),
  system_fingerprint: z.string().nullish().catch(undefined),
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

/** Maps an OpenAI `chat.completion` to the gateway's `ChatResponse`. */
export function fromOpenAIResponse(payload: unknown, fallbackModel: string, provider: string): ChatResponse {
  const completion = parse(completionSchema, payload, provider, "chat completion");
  const choices = completion.choices.map((choice): ChatChoice => {
    const toolCalls = (choice.message.tool_calls ?? []).map(
      (call): ToolCall => ({
        id: call.id,
        type: "function",
        function: { name: call.function.name, arguments: call.function.arguments },
      }),
    );
    return {
      index: choice.index,
      message: {
        role: "assistant",
        content: choice.message.content ?? null,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        ...(typeof choice.message.refusal === "string" ? { refusal: choice.message.refusal } : {}),
      },
      finish_reason: toFinishReason(choice.finish_reason),
      logprobs: null,
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
  return response;
}

/**
 * Maps one OpenAI `chat.completion.chunk`. Returns `undefined` for a chunk that carries
 * nothing the gateway's contract has (no choices, no usage), such as Azure's prompt-filter
 * preamble, so a `choices: []` chunk always means "the usage chunk".
 */
export function fromOpenAIChunk(payload: unknown, fallbackModel: string, provider: string): ChatChunk | undefined {
  const parsed = parse(chunkSchema, payload, provider, "stream chunk");
  const choices = (parsed.choices ?? []).map((choice): ChunkChoice => {
    const delta: ChunkDelta = {};
    const source = choice.delta;
    if (source?.role === "assistant") delta.role = "assistant";
    if (typeof source?.content === "string") delta.content = source.content;
    if (typeof source?.refusal === "string") delta.refusal = source.refusal;
    if (source?.tool_calls && source.tool_calls.length > 0) {
      delta.tool_calls = source.tool_calls.map((call, position): ToolCallDelta => {
        const mapped: ToolCallDelta = { index: call.index ?? position };
        if (call.id) {
          mapped.id = call.id;
          mapped.type = "function";
        }
        const name = call.function?.name;
        const args = call.function?.arguments;
        if (typeof name === "string" || typeof args === "string") {
          mapped.function = {
            ...(typeof name === "string" ? { name } : {}),
            ...(typeof args === "string" ? { arguments: args } : {}),
          };
        }
        return mapped;
      });
    }
    return { index: choice.index, delta, finish_reason: toFinishReason(choice.finish_reason) };
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

function toUsage(usage: z.infer<typeof usageSchema>): Usage {
  const promptTokens = usage.prompt_tokens ?? 0;
  const completionTokens = usage.completion_tokens ?? 0;
  const result: Usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: usage.total_tokens ?? promptTokens + completionTokens,
  };
  const cached = usage.prompt_tokens_details?.cached_tokens;
  if (cached !== undefined) result.prompt_tokens_details = { cached_tokens: cached };
  const reasoning = usage.completion_tokens_details?.reasoning_tokens;
  if (reasoning !== undefined) result.completion_tokens_details = { reasoning_tokens: reasoning };
  return result;
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

/** A 200 the gateway cannot read: retryable, since another try or deployment may answer properly. */
function invalidResponse(provider: string, what: string): ProviderError {
  return new ProviderError(`${providerLabel(provider)} ${what}`, {
    provider,
    retryable: true,
    type: "invalid_response",
  });
}
