import type { ChatMessage, ChatRequest, ToolCall } from "../core/chat-request.js";
import type { ChatResponse, FinishReason } from "../core/chat-response.js";

/**
 * Prompts and completions as telemetry records them, only with `captureContent: true`. The
 * latest conventions want the parts format of gen-ai-input-messages.json /
 * gen-ai-output-messages.json; v1.36 and earlier took the messages as sent. Inline images
 * (`data:` URLs) are never copied: a span is no place for megabytes of base64.
 */

interface Part {
  type: string;
  [field: string]: unknown;
}

interface PartsMessage {
  role: string;
  parts: Part[];
  name?: string;
  finish_reason?: string;
}

/** `gen_ai.input.messages`: the chat history in the spec's parts format, as JSON. */
export function inputMessagesJson(request: ChatRequest): string {
  return JSON.stringify(request.messages.map(toPartsMessage));
}

/** `gen_ai.output.messages`: one message per choice, in the parts format, as JSON. */
export function outputMessagesJson(response: ChatResponse): string {
  const messages: PartsMessage[] = response.choices.map((choice) => {
    const parts: Part[] = [];
    if (choice.message.content) parts.push({ type: "text", content: choice.message.content });
    for (const call of choice.message.tool_calls ?? []) {
      parts.push(toolCallPart(call));
    }
    return { role: "assistant", parts, finish_reason: finishReasonOf(choice.finish_reason) };
  });
  return JSON.stringify(messages);
}

/**
 * The spec's finish reasons: OpenAI's `tool_calls` (and legacy `function_call`) become
 * `tool_call`. A choice without one (a stream stopped early) says `incomplete`, a free string the
 * schema allows, rather than claim a reason the model never gave.
 */
function finishReasonOf(reason: FinishReason | null): string {
  if (reason === null) return "incomplete";
  return reason === "tool_calls" || reason === "function_call" ? "tool_call" : reason;
}

/** `gen_ai.prompt` (v1.36 and earlier): the messages as sent, inline images elided. */
export function legacyPromptJson(request: ChatRequest): string {
  return JSON.stringify(request.messages, elideInlineImages);
}

/** `gen_ai.completion` (v1.36 and earlier): the assistant message of each choice. */
export function legacyCompletionJson(response: ChatResponse): string {
  return JSON.stringify(response.choices.map((choice) => choice.message));
}

function toPartsMessage(message: ChatMessage): PartsMessage {
  switch (message.role) {
    case "tool":
      return { role: "tool", parts: [{ type: "tool_call_response", id: message.tool_call_id, response: textOf(message.content) }] };
    case "assistant": {
      const parts: Part[] = [];
      if (message.content) parts.push({ type: "text", content: textOf(message.content) });
      for (const call of message.tool_calls ?? []) {
        parts.push(toolCallPart(call));
      }
      return named({ role: "assistant", parts }, message.name);
    }
    case "user": {
      if (typeof message.content === "string") return named({ role: "user", parts: [{ type: "text", content: message.content }] }, message.name);
      const parts = message.content.map((part): Part => {
        if (part.type === "text") return { type: "text", content: part.text };
        if (part.type === "image_url") return imagePart(part.image_url.url);
        if (part.type === "input_audio") return { type: "blob", modality: "audio", mime_type: `audio/${part.input_audio.format}` };
        return { type: "blob", modality: "file" };
      });
      return named({ role: "user", parts }, message.name);
    }
    case "function":
      // OpenAI's deprecated function result: a tool response without a call id.
      return { role: "tool", parts: [{ type: "tool_call_response", id: message.name, response: message.content ?? "" }] };
    default:
      // The spec has no developer role; developer messages are system instructions in the history.
      return named({ role: "system", parts: [{ type: "text", content: textOf(message.content) }] }, message.name);
  }
}

function named(message: PartsMessage, name: string | undefined): PartsMessage {
  if (name !== undefined) message.name = name;
  return message;
}

function textOf(content: string | readonly ({ type: "text"; text: string } | { type: "refusal"; refusal: string })[]): string {
  return typeof content === "string" ? content : content.map((part) => (part.type === "refusal" ? part.refusal : part.text)).join("");
}

/** A function call's arguments read as JSON; a custom tool's input is free text, kept as it is. */
function toolCallPart(call: ToolCall): Part {
  if (call.type === "custom") return { type: "tool_call", id: call.id, name: call.custom.name, arguments: call.custom.input };
  return { type: "tool_call", id: call.id, name: call.function.name, arguments: parseArguments(call.function.arguments) };
}

function imagePart(url: string): Part {
  if (!url.startsWith("data:")) return { type: "uri", modality: "image", uri: url };
  const mimeType = /^data:([^;,]+)/.exec(url)?.[1];
  return { type: "blob", modality: "image", ...(mimeType ? { mime_type: mimeType } : {}) };
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function elideInlineImages(key: string, value: unknown): unknown {
  if (key === "url" && typeof value === "string" && value.startsWith("data:")) return `${value.slice(0, value.indexOf(",") + 1)}[omitted]`;
  return value;
}
