import { z } from "zod";
import { isPlainObject, jsonProblem } from "./json-check.js";

/**
 * The OpenAI chat-completions request, as `gateway.chat()` accepts it.
 *
 * Objects are strict: a field the gateway does not know is an `InvalidRequestError`,
 * never a silent drop, because a provider would otherwise ignore what the caller asked for.
 */

/**
 * A JSON Schema the caller passes through (tool parameters, response schema): any JSON object,
 * kept as given, but JSON for sure (acyclic, bounded depth), or every provider would choke on it.
 */
const jsonSchemaObject = z
  .custom<Record<string, unknown>>(isPlainObject, "expected a JSON Schema object")
  .superRefine((value, ctx) => {
    const problem = jsonProblem(value);
    if (problem) ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
  });

/**
 * Prompt-cache breakpoint (a documented extension, Anthropic's shape): accepted on messages,
 * content parts and tools. OpenAI-compatible servers never see it; Anthropic maps it.
 */
const cacheControl = z
  .object({ type: z.literal("ephemeral"), ttl: z.enum(["5m", "1h"]).optional() })
  .strict()
  .optional();

/**
 * OpenAI's own explicit cache breakpoint on a content part (gpt-5.6 and later); `ttl` is the
 * breakpoint's minimum lifetime, the request's `prompt_cache_options.ttl` when absent.
 */
const promptCacheBreakpoint = z
  .object({ mode: z.literal("explicit"), ttl: z.enum(["30m", "12h"]).optional() })
  .strict()
  .optional();

const textPart = z
  .object({ type: z.literal("text"), text: z.string(), cache_control: cacheControl, prompt_cache_breakpoint: promptCacheBreakpoint })
  .strict();

const imagePart = z
  .object({
    type: z.literal("image_url"),
    image_url: z
      .object({
        url: z.string().min(1, "expected a data: URL or an https URL"),
        detail: z.enum(["auto", "low", "high", "original"]).optional(),
      })
      .strict(),
    cache_control: cacheControl,
    prompt_cache_breakpoint: promptCacheBreakpoint,
  })
  .strict();

const inputAudioPart = z
  .object({
    type: z.literal("input_audio"),
    input_audio: z
      .object({ data: z.string().min(1, "expected base64 audio"), format: z.enum(["wav", "mp3"]) })
      .strict(),
    cache_control: cacheControl,
    prompt_cache_breakpoint: promptCacheBreakpoint,
  })
  .strict();

const filePart = z
  .object({
    type: z.literal("file"),
    file: z
      .object({ file_data: z.string().min(1).optional(), file_id: z.string().min(1).optional(), filename: z.string().optional() })
      .strict()
      .refine((file) => file.file_data !== undefined || file.file_id !== undefined, "expected file_data or file_id"),
    cache_control: cacheControl,
    prompt_cache_breakpoint: promptCacheBreakpoint,
  })
  .strict();

const userContentPart = z.discriminatedUnion("type", [textPart, imagePart, inputAudioPart, filePart]);

/** A refusal the model gave in an earlier turn, as a part of that assistant message's content. */
const refusalPart = z.object({ type: z.literal("refusal"), refusal: z.string() }).strict();

const assistantContentPart = z.discriminatedUnion("type", [textPart, refusalPart]);

const functionToolCall = z
  .object({
    id: z.string().min(1),
    type: z.literal("function"),
    function: z.object({ name: z.string().min(1), arguments: z.string() }).strict(),
  })
  .strict();

/** A call of a `custom` tool: free-form text `input` rather than JSON arguments. */
const customToolCall = z
  .object({
    id: z.string().min(1),
    type: z.literal("custom"),
    custom: z.object({ name: z.string().min(1), input: z.string() }).strict(),
  })
  .strict();

const toolCall = z.discriminatedUnion("type", [functionToolCall, customToolCall]);

/**
 * Reasoning a provider returned, carried back on the assistant message of the next turn
 * (OpenRouter's convention). Each adapter reads its own `format` and ignores the others.
 */
const reasoningDetail = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("reasoning.text"),
      text: z.string(),
      signature: z.string().optional(),
      format: z.string().optional(),
      index: z.number().int().nonnegative().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal("reasoning.encrypted"),
      data: z.string(),
      format: z.string().optional(),
      id: z.string().optional(),
      index: z.number().int().nonnegative().optional(),
    })
    .strict(),
]);

const name = z.string().min(1).optional();
const textContent = z.union([z.string(), z.array(textPart)]);

const systemMessage = z
  .object({ role: z.literal("system"), content: textContent, name, cache_control: cacheControl })
  .strict();
const developerMessage = z
  .object({ role: z.literal("developer"), content: textContent, name, cache_control: cacheControl })
  .strict();
const userMessage = z
  .object({
    role: z.literal("user"),
    content: z.union([z.string(), z.array(userContentPart)]),
    name,
    cache_control: cacheControl,
  })
  .strict();
const assistantMessage = z
  .object({
    role: z.literal("assistant"),
    content: z.union([z.string(), z.array(assistantContentPart), z.null()]).optional(),
    tool_calls: z.array(toolCall).optional(),
    refusal: z.string().nullable().optional(),
    name,
    /** A previous audio answer, by id (OpenAI audio output). */
    audio: z.object({ id: z.string().min(1) }).strict().nullable().optional(),
    /** Deprecated by OpenAI in favour of `tool_calls`; still accepted by its API. */
    function_call: z.object({ name: z.string().min(1), arguments: z.string() }).strict().nullable().optional(),
    reasoning_content: z.string().nullable().optional(),
    reasoning_details: z.array(reasoningDetail).optional(),
    cache_control: cacheControl,
  })
  .strict();
const toolMessage = z
  .object({
    role: z.literal("tool"),
    tool_call_id: z.string().min(1),
    content: textContent,
    cache_control: cacheControl,
  })
  .strict();
/** Deprecated by OpenAI (the result of a `function_call`); still accepted by its API. */
const functionMessage = z
  .object({ role: z.literal("function"), name: z.string().min(1), content: z.string().nullable() })
  .strict();

export const chatMessageSchema = z.discriminatedUnion("role", [
  systemMessage,
  developerMessage,
  userMessage,
  assistantMessage,
  toolMessage,
  functionMessage,
]);

const functionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "expected 1-64 letters, digits, _ or -");

const functionTool = z
  .object({
    type: z.literal("function"),
    function: z
      .object({
        name: functionName,
        description: z.string().optional(),
        parameters: jsonSchemaObject.optional(),
        strict: z.boolean().nullable().optional(),
      })
      .strict(),
    cache_control: cacheControl,
  })
  .strict();

/**
 * A tool the model calls with free-form text (`format` text, the default) or text matching a
 * grammar (Lark or a regex), answered by a `custom` tool call.
 */
const customTool = z
  .object({
    type: z.literal("custom"),
    custom: z
      .object({
        name: functionName,
        description: z.string().optional(),
        format: z
          .discriminatedUnion("type", [
            z.object({ type: z.literal("text") }).strict(),
            z
              .object({
                type: z.literal("grammar"),
                grammar: z.object({ definition: z.string().min(1), syntax: z.enum(["lark", "regex"]) }).strict(),
              })
              .strict(),
          ])
          .optional(),
      })
      .strict(),
    cache_control: cacheControl,
  })
  .strict();

const tool = z.discriminatedUnion("type", [functionTool, customTool]);

/** Deprecated by OpenAI in favour of `tools`; still accepted by its API. */
const legacyFunction = z
  .object({ name: functionName, description: z.string().optional(), parameters: jsonSchemaObject.optional() })
  .strict();

/**
 * `allowed_tools` narrows what the model may call without changing `tools` (so the prompt cache
 * holds). Its entries are tool references in OpenAI's loose shape (`{type:"function",
 * function:{name}}`, `{type:"custom", custom:{name}}`, ...), passed through as given.
 */
const allowedToolsChoice = z
  .object({
    type: z.literal("allowed_tools"),
    allowed_tools: z
      .object({
        mode: z.enum(["auto", "required"]),
        tools: z.array(z.custom<Record<string, unknown>>(isPlainObject, "expected a tool reference object")).min(1),
      })
      .strict(),
  })
  .strict();

const toolChoice = z.union([
  z.enum(["auto", "none", "required"]),
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("function"), function: z.object({ name: z.string().min(1) }).strict() }).strict(),
    z.object({ type: z.literal("custom"), custom: z.object({ name: z.string().min(1) }).strict() }).strict(),
    allowedToolsChoice,
  ]),
]);

const responseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }).strict(),
  z.object({ type: z.literal("json_object") }).strict(),
  z
    .object({
      type: z.literal("json_schema"),
      json_schema: z
        .object({
          name: z.string().min(1),
          description: z.string().optional(),
          schema: jsonSchemaObject.optional(),
          strict: z.boolean().nullable().optional(),
        })
        .strict(),
    })
    .strict(),
]);

/** `reasoning_effort` values OpenAI documents today. */
export const REASONING_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"] as const;

/** OpenAI's limits: 16 pairs, keys up to 64 characters, values up to 512. */
const metadata = z
  .record(z.string().max(64, "expected a key of at most 64 characters"), z.string().max(512, "expected at most 512 characters"))
  .refine((value) => Object.keys(value).length <= 16, "expected at most 16 key-value pairs");

/** Token id (as a string) to a bias between -100 and 100. */
const logitBias = z.record(
  z.string().regex(/^\d+$/, "expected a token id"),
  z.number().min(-100, "expected -100..100").max(100, "expected -100..100"),
);

const webSearchOptions = z
  .object({
    search_context_size: z.enum(["low", "medium", "high"]).optional(),
    user_location: z
      .object({
        type: z.literal("approximate"),
        approximate: z
          .object({
            city: z.string().optional(),
            country: z.string().optional(),
            region: z.string().optional(),
            timezone: z.string().optional(),
          })
          .strict(),
      })
      .strict()
      .nullable()
      .optional(),
  })
  .strict();

const moderationMode = z.object({ mode: z.enum(["score", "block"]) }).strict().nullable().optional();

export const chatRequestSchema = z
  .object({
    model: z.string().min(1, "expected a logical model name or 'provider/model'"),
    messages: z.array(chatMessageSchema).min(1, "expected at least one message"),
    tools: z.array(tool).optional(),
    tool_choice: toolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
    functions: z.array(legacyFunction).min(1).max(128).optional(),
    function_call: z
      .union([z.enum(["none", "auto"]), z.object({ name: z.string().min(1) }).strict()])
      .optional(),
    response_format: responseFormat.optional(),
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    max_tokens: z.number().int().positive().optional(),
    max_completion_tokens: z.number().int().positive().optional(),
    stop: z.union([z.string(), z.array(z.string()).max(4)]).optional(),
    seed: z.number().int().optional(),
    presence_penalty: z.number().min(-2).max(2).optional(),
    frequency_penalty: z.number().min(-2).max(2).optional(),
    logit_bias: logitBias.optional(),
    logprobs: z.boolean().optional(),
    top_logprobs: z.number().int().min(0).max(20, "expected 0..20").optional(),
    reasoning_effort: z.enum(REASONING_EFFORTS).optional(),
    verbosity: z.enum(["low", "medium", "high"]).optional(),
    n: z.number().int().min(1, "expected 1..128").max(128, "expected 1..128").optional(),
    modalities: z.array(z.enum(["text", "audio"])).min(1).optional(),
    audio: z
      .object({
        format: z.enum(["wav", "aac", "mp3", "flac", "opus", "pcm16"]),
        voice: z.union([z.string().min(1), z.object({ id: z.string().min(1) }).strict()]),
      })
      .strict()
      .optional(),
    prediction: z.object({ type: z.literal("content"), content: textContent }).strict().optional(),
    web_search_options: webSearchOptions.optional(),
    user: z.string().optional(),
    safety_identifier: z.string().max(128, "expected at most 128 characters").optional(),
    metadata: metadata.optional(),
    store: z.boolean().optional(),
    service_tier: z.enum(["auto", "default", "flex", "scale", "priority", "fast"]).optional(),
    prompt_cache_key: z.string().optional(),
    prompt_cache_retention: z.enum(["in_memory", "24h"]).optional(),
    prompt_cache_options: z
      .object({ mode: z.enum(["implicit", "explicit"]).optional(), ttl: z.literal("30m").optional() })
      .strict()
      .optional(),
    moderation: z
      .object({
        model: z.string().min(1),
        policy: z.object({ input: moderationMode, output: moderationMode }).strict().nullable().optional(),
      })
      .strict()
      .optional(),
    stream: z.boolean().optional(),
    stream_options: z
      .object({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() })
      .strict()
      .optional(),
    /**
     * Vendor extensions (vLLM's `guided_json`, ...), merged verbatim into the body an
     * OpenAI-compatible server receives. Explicit, so a typo in a known field stays an error.
     */
    extra_body: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type ChatRequest = z.infer<typeof chatRequestSchema>;

/**
 * The top-level fields OpenAI's API (and its SDK's types) take as `null`, meaning "the default":
 * the same as leaving the field out. `null` is dropped before validation, so no adapter ever
 * sees one; on any other field `null` stays an error.
 */
export const NULL_MEANS_DEFAULT = [
  "audio",
  "frequency_penalty",
  "logit_bias",
  "logprobs",
  "max_completion_tokens",
  "max_tokens",
  "metadata",
  "modalities",
  "moderation",
  "n",
  "prediction",
  "presence_penalty",
  "prompt_cache_key",
  "prompt_cache_retention",
  "reasoning_effort",
  "safety_identifier",
  "seed",
  "service_tier",
  "stop",
  "store",
  "stream",
  "stream_options",
  "temperature",
  "top_logprobs",
  "top_p",
  "verbosity",
] as const satisfies readonly (keyof ChatRequest)[];

type NullMeansDefault = (typeof NULL_MEANS_DEFAULT)[number];

/** The request as a caller writes it: `ChatRequest`, with `null` accepted where OpenAI's API takes it. */
export type ChatRequestInput = Omit<ChatRequest, NullMeansDefault> & { [Field in NullMeansDefault]?: ChatRequest[Field] | null };

const NULLABLE: ReadonlySet<string> = new Set(NULL_MEANS_DEFAULT);

/** The body without its `null`-means-default fields; anything that is not such a body is returned as it is. */
export function withoutNullDefaults(body: unknown): unknown {
  if (!isPlainObject(body)) return body;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(body)) {
    if (body[key] !== null || !NULLABLE.has(key)) continue;
    copy ??= { ...body };
    delete copy[key];
  }
  return copy ?? body;
}
export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type TextPart = z.infer<typeof textPart>;
export type ImagePart = z.infer<typeof imagePart>;
export type InputAudioPart = z.infer<typeof inputAudioPart>;
export type FilePart = z.infer<typeof filePart>;
export type UserContentPart = z.infer<typeof userContentPart>;
export type CacheControl = NonNullable<z.infer<typeof cacheControl>>;
export type ReasoningDetail = z.infer<typeof reasoningDetail>;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];
export type RefusalPart = z.infer<typeof refusalPart>;
export type AssistantContentPart = z.infer<typeof assistantContentPart>;
/** A tool call on an assistant message: a function call (JSON arguments) or a custom tool call (text input). */
export type ToolCall = z.infer<typeof toolCall>;
export type FunctionToolCall = z.infer<typeof functionToolCall>;
export type CustomToolCall = z.infer<typeof customToolCall>;
export type Tool = z.infer<typeof tool>;
export type FunctionTool = z.infer<typeof functionTool>;
export type CustomTool = z.infer<typeof customTool>;
export type ToolChoice = z.infer<typeof toolChoice>;
export type ResponseFormat = z.infer<typeof responseFormat>;

/** The output cap a request asks for, whichever of the two OpenAI fields carries it. */
export function requestedMaxTokens(request: ChatRequest): number | undefined {
  return request.max_completion_tokens ?? request.max_tokens;
}

/** The name a tool call invokes, whichever kind of tool it calls. */
export function toolCallName(call: ToolCall): string {
  return call.type === "custom" ? call.custom.name : call.function.name;
}

/** What a tool call passes: a function's JSON arguments, or a custom tool's free-form input. */
export function toolCallInput(call: ToolCall): string {
  return call.type === "custom" ? call.custom.input : call.function.arguments;
}

/** The text of an assistant content part: a text part's text, or a refusal part's refusal. */
export function assistantPartText(part: AssistantContentPart): string {
  return part.type === "refusal" ? part.refusal : part.text;
}
