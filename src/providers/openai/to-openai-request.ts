import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from "openai/resources/chat/completions";
import { chatRequestSchema, type ChatMessage, type ChatRequest } from "../../core/chat-request.js";
import { InvalidRequestError } from "../../core/errors.js";

/**
 * Our extensions on messages, parts and tools, which OpenAI-compatible servers do not know:
 * `cache_control` (Anthropic's breakpoints) and the reasoning carried back on assistant turns
 * (DeepSeek rejects `reasoning_content` in input).
 */
const MESSAGE_EXTENSIONS = ["cache_control", "reasoning_content", "reasoning_details"] as const;

/**
 * The gateway's request is OpenAI's own shape, so every field passes through as it is. Only
 * what belongs to the gateway changes: `model` becomes the deployment's model, `stream` and
 * `stream_options` are the adapter's to set, our extensions are stripped, and `extra_body` is
 * merged in last, verbatim. Undefined fields are left out, so an OpenAI-compatible server
 * never sees a `null` it did not expect.
 */
export function toOpenAIRequest(request: ChatRequest, model: string): ChatCompletionCreateParamsNonStreaming {
  const { extra_body: extraBody, messages, tools } = request;
  // Copied key by key rather than by rest-spread and `delete`: V8 builds those on slow paths
  // (a dictionary-mode body the SDK then serializes), measured ~20 µs a call in situ.
  const body: Record<string, unknown> = {};
  const fields = request as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value !== undefined && !SET_HERE.has(key)) body[key] = value;
  }
  body.model = model;
  body.messages = messages.map(withoutExtensions);
  if (tools !== undefined) body.tools = tools.map(({ cache_control: _cacheControl, ...tool }) => tool);
  if (extraBody !== undefined) mergeExtraBody(body, extraBody);
  return body as unknown as ChatCompletionCreateParamsNonStreaming;
}

/** Fields the body takes from elsewhere, or not at all; the others pass through in their order. */
const SET_HERE: ReadonlySet<string> = new Set(["model", "stream", "stream_options", "extra_body", "messages", "tools"]);

/** The streaming form: usage arrives in a last chunk with `choices: []`. */
export function toOpenAIStreamRequest(request: ChatRequest, model: string): ChatCompletionCreateParamsStreaming {
  const body = toOpenAIRequest(request, model) as unknown as ChatCompletionCreateParamsStreaming;
  body.stream = true;
  body.stream_options = { include_usage: true };
  return body;
}

/**
 * Vendor fields go in as given. One that names a field the gateway already sets would silently
 * override a validated value (or a typo'd known field would hide in here), so it is an error.
 */
function mergeExtraBody(body: Record<string, unknown>, extraBody: Record<string, unknown>): void {
  const collisions = Object.keys(extraBody).filter((key) => KNOWN_FIELDS.has(key) || key in body);
  if (collisions.length > 0) {
    throw new InvalidRequestError(
      collisions.map((key) => ({
        path: `extra_body.${key}`,
        message: `'${key}' is a chat-completions field: set it at the top level, not in extra_body`,
      })),
    );
  }
  for (const key of Object.keys(extraBody)) {
    // Own data properties only: a `__proto__` key must not reach the body's prototype.
    Object.defineProperty(body, key, { value: extraBody[key], enumerable: true, writable: true, configurable: true });
  }
}

/** Every field of the request schema, set or not: those are validated at the top level. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set(Object.keys(chatRequestSchema.shape));

function withoutExtensions(message: ChatMessage): ChatMessage {
  let copy: Record<string, unknown> | undefined;
  for (const field of MESSAGE_EXTENSIONS) {
    if (field in message) {
      copy ??= { ...message };
      delete copy[field];
    }
  }
  const content = (copy ?? message).content;
  if (Array.isArray(content) && content.some((part) => "cache_control" in part)) {
    copy ??= { ...message };
    copy.content = content.map((part) => {
      if (!("cache_control" in part)) return part;
      const { cache_control: _cacheControl, ...rest } = part;
      return rest;
    });
  }
  return (copy ?? message) as ChatMessage;
}
