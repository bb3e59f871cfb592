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

/** Prompt caching marker (Anthropic's `cache_control`); adapters map, strip or refuse it. */
const cacheControl = z
  .object({ type: z.literal("ephemeral"), ttl: z.enum(["5m", "1h"]).optional() })
  .strict()
  .optional();

const textPart = z.object({ type: z.literal("text"), text: z.string(), cache_control: cacheControl }).strict();

const imagePart = z
  .object({
    type: z.literal("image_url"),
    image_url: z
      .object({
        url: z.string().min(1, "expected a data: URL or an https URL"),
        detail: z.enum(["auto", "low", "high"]).optional(),
      })
      .strict(),
    cache_control: cacheControl,
  })
  .strict();

/**
 * Reasoning a provider returned, carried back on the assistant message so multi-turn tool loops
 * keep thinking signatures (`format` names whose wire format it is; other adapters ignore it).
 */
const reasoningDetail = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("reasoning.text"),
      text: z.string(),
      signature: z.string().optional(),
      format: z.string().optional(),
      index: z.number().int().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal("reasoning.encrypted"),
      data: z.string(),
      format: z.string().optional(),
      id: z.string().optional(),
      index: z.number().int().optional(),
    })
    .strict(),
]);

const toolCall = z
  .object({
    id: z.string().min(1),
    type: z.literal("function"),
    function: z.object({ name: z.string().min(1), arguments: z.string() }).strict(),
  })
  .strict();

const name = z.string().min(1).optional();

const systemMessage = z
  .object({ role: z.literal("system"), content: z.union([z.string(), z.array(textPart)]), name, cache_control: cacheControl })
  .strict();
const developerMessage = z
  .object({
    role: z.literal("developer"),
    content: z.union([z.string(), z.array(textPart)]),
    name,
    cache_control: cacheControl,
  })
  .strict();
const userMessage = z
  .object({
    role: z.literal("user"),
    content: z.union([z.string(), z.array(z.discriminatedUnion("type", [textPart, imagePart]))]),
    name,
    cache_control: cacheControl,
  })
  .strict();
const assistantMessage = z
  .object({
    role: z.literal("assistant"),
    content: z.union([z.string(), z.array(textPart), z.null()]).optional(),
    tool_calls: z.array(toolCall).optional(),
    refusal: z.string().nullable().optional(),
    name,
    cache_control: cacheControl,
    reasoning_content: z.string().nullable().optional(),
    reasoning_details: z.array(reasoningDetail).optional(),
  })
  .strict();
const toolMessage = z
  .object({
    role: z.literal("tool"),
    tool_call_id: z.string().min(1),
    content: z.union([z.string(), z.array(textPart)]),
    cache_control: cacheControl,
  })
  .strict();

export const chatMessageSchema = z.discriminatedUnion("role", [
  systemMessage,
  developerMessage,
  userMessage,
  assistantMessage,
  toolMessage,
]);

const functionTool = z
  .object({
    type: z.literal("function"),
    function: z
      .object({
        name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "expected 1-64 letters, digits, _ or -"),
        description: z.string().optional(),
        parameters: jsonSchemaObject.optional(),
        strict: z.boolean().nullable().optional(),
      })
      .strict(),
    cache_control: cacheControl,
  })
  .strict();

const toolChoice = z.union([
  z.enum(["auto", "none", "required"]),
  z
    .object({ type: z.literal("function"), function: z.object({ name: z.string().min(1) }).strict() })
    .strict(),
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

export const chatRequestSchema = z
  .object({
    model: z.string().min(1, "expected a logical model name or 'provider/model'"),
    messages: z.array(chatMessageSchema).min(1, "expected at least one message"),
    tools: z.array(functionTool).optional(),
    tool_choice: toolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
    response_format: responseFormat.optional(),
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    max_tokens: z.number().int().positive().optional(),
    max_completion_tokens: z.number().int().positive().optional(),
    stop: z.union([z.string(), z.array(z.string()).max(4)]).optional(),
    seed: z.number().int().optional(),
    presence_penalty: z.number().min(-2).max(2).optional(),
    frequency_penalty: z.number().min(-2).max(2).optional(),
    reasoning_effort: z.enum(["minimal", "low", "medium", "high"]).optional(),
    n: z.literal(1, "only n=1 is supported: the gateway returns one choice").optional(),
    user: z.string().optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).strict().optional(),
  })
  .strict();

export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type TextPart = z.infer<typeof textPart>;
export type ImagePart = z.infer<typeof imagePart>;
export type ToolCall = z.infer<typeof toolCall>;
export type CacheControl = NonNullable<z.infer<typeof cacheControl>>;
export type ReasoningDetail = z.infer<typeof reasoningDetail>;
export type FunctionTool = z.infer<typeof functionTool>;
export type ToolChoice = z.infer<typeof toolChoice>;
export type ResponseFormat = z.infer<typeof responseFormat>;

/** The output cap a request asks for, whichever of the two OpenAI fields carries it. */
export function requestedMaxTokens(request: ChatRequest): number | undefined {
  return request.max_completion_tokens ?? request.max_tokens;
}
