import type {
  CacheControlEphemeral,
  ContentBlockParam,
  ImageBlockParam,
  MessageCreateParamsNonStreaming,
  MessageParam,
  TextBlockParam,
  Tool,
  ToolChoice,
  ToolResultBlockParam,
  ToolUseBlockParam,
} from "@anthropic-ai/sdk/resources/messages/messages";
import { parseBase64DataUrl } from "../../providers/shared/data-url.js";
import { liftSystemMessages } from "../../providers/shared/lift-system.js";
import { parseToolArguments } from "../../providers/shared/parse-tool-arguments.js";
import type { CacheControl, ChatMessage, ChatRequest, ImagePart, TextPart } from "../../core/chat-request.js";
import { requestedMaxTokens } from "../../core/chat-request.js";
import { lookupModel } from "../../core/model-catalog.js";
import { InvalidRequestError, type Issue } from "../../core/errors.js";
import { DEFAULT_MAX_OUTPUT_TOKENS } from "../../core/token-estimate.js";
import { narrowToAllowedTools } from "../../providers/shared/allowed-tools.js";
import { anthropicUnsupported } from "./anthropic-unsupported.js";

/**
 * The Messages API body, without `stream` (the adapter adds it). `@anthropic-ai/sdk` 1.x no
 * longer types `temperature` and `top_p` (Anthropic deprecated them; newer models reject them),
 * but the API still reads them and the SDK sends body fields as given, so they are added here.
 */
export type AnthropicParams = Omit<MessageCreateParamsNonStreaming, "stream"> & {
  temperature?: number;
  top_p?: number;
};

/** A translated request, and what the response mapping must know about it. */
export interface AnthropicRequestPlan {
  params: AnthropicParams;
  /**
   * Set when `response_format` is emulated with a forced tool of this name: the tool's input
   * is the answer, returned as the message `content` (a JSON string) with finish_reason `stop`.
   */
  jsonToolName: string | undefined;
}

/** Output cap when neither the request nor the catalog gives one; the API requires a positive value. */
export const DEFAULT_MAX_TOKENS = DEFAULT_MAX_OUTPUT_TOKENS;

/** The tool that carries `response_format: { type: "json_object" }`. */
export const JSON_OBJECT_TOOL_NAME = "json_response";

const PROVIDER = "anthropic";

/** The `reasoning_details` format this adapter writes and reads back; other formats are skipped. */
export const ANTHROPIC_REASONING_FORMAT = "anthropic-claude-v1";

/**
 * Extended thinking budgets for `reasoning_effort` (1024 is Anthropic's minimum). `none` leaves
 * thinking off. `max_tokens` must exceed the budget: when the caller set no cap, it is raised
 * to budget + `THINKING_ANSWER_ROOM`.
 */
const THINKING_BUDGETS = { minimal: 1024, low: 2048, medium: 8192, high: 16_384, xhigh: 32_768, max: 32_768 } as const;
const MIN_THINKING_BUDGET = 1024;
const THINKING_ANSWER_ROOM = 4096;

const IMAGE_MEDIA_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
type ImageMediaType = "image/jpeg" | "image/png" | "image/gif" | "image/webp";

/**
 * Translates an OpenAI chat request into an Anthropic Messages request. Pure: no I/O, no clock.
 * Whatever Anthropic cannot express is collected and thrown as one `InvalidRequestError`.
 *
 * | OpenAI | Anthropic |
 * | --- | --- |
 * | `system` / `developer` messages | top-level `system`: their texts, in order, joined by a blank line. A system message after the first user turn is hoisted too (Anthropic has no mid-conversation system turn); its text keeps its order among the system texts |
 * | `user` / `assistant` messages | turns; consecutive same-role messages merge into one turn of several content blocks |
 * | `tool` messages | user-role `tool_result` blocks (consecutive results share one user turn, placed before any text of that turn, as Anthropic requires) |
 * | assistant `tool_calls` | `tool_use` blocks; `arguments` JSON-parsed (must be an object; `""` reads as `{}`) |
 * | assistant `refusal` | a text block |
 * | `image_url` data URL | base64 image source (jpeg, png, gif, webp); parameters before `;base64` (`;name=x.png`) are read past |
 * | `image_url` http(s) URL | url image source; `detail` other than `auto` is rejected |
 * | `tools` | `{ name, description, input_schema }` (`{ type: "object" }` by default), `strict` kept |
 * | `tool_choice` allowed_tools | `tools` narrowed to the allowed functions, `tool_choice` its mode (auto / required) |
 * | assistant `refusal` content parts | text blocks |
 * | `tool_choice` auto / required / named / none | `{type:"auto"}` / `{type:"any"}` / `{type:"tool",name}` / `{type:"none"}`; without `tools`, auto and none are no-ops, the others rejected |
 * | `parallel_tool_calls: false` | `disable_parallel_tool_use: true` on `tool_choice` (auto when none given) |
 * | `max_completion_tokens` / `max_tokens` | `max_tokens`; else the catalog's output cap for the model; else `DEFAULT_MAX_OUTPUT_TOKENS` (4096, core/token-estimate.ts, the one output default) |
 * | `stop` | `stop_sequences` |
 * | `temperature` | `temperature` (Anthropic's range is 0..1: above 1 is rejected; models that no longer take it answer 400) |
 * | `top_p` | `top_p` (likewise) |
 * | `user` (else `safety_identifier`) | `metadata.user_id` |
 * | `response_format` json_schema | a forced tool named after the schema; its input comes back as `content`. Rejected with `tools` |
 * | `response_format` json_object | the same, with a permissive object schema, tool `json_response` |
 * | `reasoning_effort` | `thinking: { type: "enabled", budget_tokens }` (minimal 1K, low 2K, medium 8K, high 16K, xhigh 32K; `none`: off); `max_tokens` kept above the budget; with it, `temperature` other than 1 and forced tools are rejected (Anthropic refuses them with thinking) |
 * | `cache_control` on a message / content part / tool | `cache_control` on the message's last block / that block / that tool; with it on a system message, `system` is sent as text blocks |
 * | assistant `reasoning_details` (format `anthropic-claude-v1`) | `thinking` (text + signature) and `redacted_thinking` (data) blocks first in the turn, so a tool loop keeps its thinking; other formats skipped |
 * | `n` > 1 | served by the adapter as n parallel calls |
 * | what `ANTHROPIC_UNSUPPORTED` lists, message `name` | rejected |
 * | `stream`, `stream_options` | transport: the adapter decides; usage is always reported |
 */
export function toAnthropicRequest(original: ChatRequest, model: string): AnthropicRequestPlan {
  const issues: Issue[] = anthropicUnsupported(original);
  const { request, issues: narrowing } = narrowToAllowedTools(original, PROVIDER);
  issues.push(...narrowing);

  const { system, messages } = convertMessages(request.messages, issues);
  const params: AnthropicParams = {
    model,
    max_tokens: requestedMaxTokens(request) ?? positive(lookupModel(model)?.maxOutputTokens) ?? DEFAULT_MAX_TOKENS,
    messages,
  };
  if (system !== undefined) params.system = system;
  applyThinking(request, params, issues);

  if (request.temperature !== undefined) {
    if (request.temperature > 1) {
      issues.push({ path: "temperature", message: `${PROVIDER} accepts 0..1, got ${request.temperature}` });
    }
    params.temperature = request.temperature;
  }
  if (request.top_p !== undefined) params.top_p = request.top_p;
  if (request.stop !== undefined) params.stop_sequences = typeof request.stop === "string" ? [request.stop] : request.stop;
  const userId = request.user ?? request.safety_identifier;
  if (userId !== undefined) params.metadata = { user_id: userId };

  const jsonToolName = applyTools(request, params, issues);

  if (issues.length > 0) throw new InvalidRequestError(issues, `Chat request cannot be served by ${PROVIDER}:`);
  return { params, jsonToolName };
}

/**
 * `reasoning_effort` as extended thinking. Anthropic requires `max_tokens` above the budget, and
 * with thinking on refuses a temperature other than 1 and a forced tool (so JSON mode, which
 * forces one, cannot think either).
 */
function applyThinking(request: ChatRequest, params: AnthropicParams, issues: Issue[]): void {
  const effort = request.reasoning_effort;
  if (effort === undefined || effort === "none") return;
  let budget: number = THINKING_BUDGETS[effort];
  const cap = requestedMaxTokens(request);
  if (cap === undefined) {
    params.max_tokens = Math.max(params.max_tokens, budget + THINKING_ANSWER_ROOM);
  } else if (cap <= budget) {
    // The caller's cap wins: think with what it leaves, or refuse when that is below the minimum.
    budget = cap - 1;
    if (budget < MIN_THINKING_BUDGET) {
      issues.push({
        path: "reasoning_effort",
        message: `${PROVIDER} thinks with at least ${MIN_THINKING_BUDGET} tokens, and max_tokens ${cap} leaves fewer`,
      });
      return;
    }
  }
  params.thinking = { type: "enabled", budget_tokens: budget };
  if (request.temperature !== undefined && request.temperature !== 1) {
    issues.push({ path: "temperature", message: `${PROVIDER} takes no temperature other than 1 with reasoning_effort (extended thinking)` });
  }
  const choice = request.tool_choice;
  if (choice === "required" || typeof choice === "object" || (request.response_format && request.response_format.type !== "text")) {
    issues.push({
      path: "reasoning_effort",
      message: `${PROVIDER} cannot think while forced to use a tool (tool_choice required or named, response_format json)`,
    });
  }
}

function positive(value: number | undefined): number | undefined {
  return value !== undefined && value > 0 ? value : undefined;
}

/** Sets `tools` and `tool_choice`; returns the forced tool's name when `response_format` asks for JSON. */
function applyTools(request: ChatRequest, params: AnthropicParams, issues: Issue[]): string | undefined {
  const format = request.response_format;
  if (format && format.type !== "text") {
    if (request.tools?.length) {
      issues.push({
        path: "response_format",
        message: `${PROVIDER} emulates ${format.type} with a forced tool, which cannot be combined with your own tools`,
      });
      return undefined;
    }
    if (request.tool_choice === "required" || typeof request.tool_choice === "object") {
      issues.push({ path: "tool_choice", message: `${PROVIDER}: a tool choice needs tools, and response_format excludes them` });
      return undefined;
    }
    const tool: Tool =
      format.type === "json_schema"
        ? {
            name: format.json_schema.name,
            description: format.json_schema.description ?? "Respond with a JSON object matching this schema.",
            input_schema: objectSchema(format.json_schema.schema),
            ...(format.json_schema.strict ? { strict: true } : {}),
          }
        : {
            name: JSON_OBJECT_TOOL_NAME,
            description: "Respond with a JSON object.",
            input_schema: { type: "object", additionalProperties: true },
          };
    params.tools = [tool];
    params.tool_choice = { type: "tool", name: tool.name, disable_parallel_tool_use: true };
    return tool.name;
  }

  const choice = request.tool_choice;
  if (!request.tools?.length) {
    if (choice === "required" || typeof choice === "object") {
      issues.push({ path: "tool_choice", message: `${PROVIDER}: a tool choice other than auto or none needs tools` });
    }
    return undefined;
  }
  // Custom tools are refused by anthropicUnsupported.
  params.tools = request.tools.flatMap((tool): Tool[] =>
    tool.type === "function"
      ? [
          {
            name: tool.function.name,
            ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
            input_schema: objectSchema(tool.function.parameters),
            ...(tool.function.strict ? { strict: true } : {}),
            ...(tool.cache_control !== undefined ? { cache_control: cacheControl(tool.cache_control) } : {}),
          },
        ]
      : [],
  );
  const single = request.parallel_tool_calls === false;
  let toolChoice: ToolChoice | undefined;
  if (choice === "none") toolChoice = { type: "none" };
  else if (choice === "required") toolChoice = { type: "any" };
  else if (typeof choice === "object" && choice.type === "function") toolChoice = { type: "tool", name: choice.function.name };
  else if (choice === "auto" || single) toolChoice = { type: "auto" };
  if (toolChoice && single && toolChoice.type !== "none") toolChoice.disable_parallel_tool_use = true;
  if (toolChoice) params.tool_choice = toolChoice;
  return undefined;
}

function objectSchema(schema: Record<string, unknown> | undefined): Tool.InputSchema {
  return { type: "object", ...schema } as Tool.InputSchema;
}

interface Turn {
  role: "user" | "assistant";
  content: ContentBlockParam[];
}

function convertMessages(
  input: readonly ChatMessage[],
  issues: Issue[],
): { system: string | TextBlockParam[] | undefined; messages: MessageParam[] } {
  // Anthropic has one top-level `system` and no mid-conversation system turn: a late one is
  // hoisted, in order among the others (Gemini refuses it instead; see lift-system.ts).
  const lifted = liftSystemMessages(input, { late: "hoist" }, issues);
  const systemTexts = lifted.map((entry) => entry.text);
  /** The system messages as blocks, kept apart in case one carries `cache_control`. */
  const systemBlocks: TextBlockParam[] = [];
  for (const { message } of lifted) {
    const blocks = typeof message.content === "string" ? [text(message.content)] : message.content.map(textBlock);
    systemBlocks.push(...markLast(blocks.filter((block) => block.text !== ""), message.cache_control));
  }
  const turns: Turn[] = [];
  const push = (role: Turn["role"], blocks: ContentBlockParam[]): void => {
    if (blocks.length === 0) return;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };

  input.forEach((message, index) => {
    const path = `messages[${index}]`;
    if ("name" in message && message.name !== undefined) {
      issues.push({ path: `${path}.name`, message: `not supported by ${PROVIDER}: messages carry no participant name` });
    }
    switch (message.role) {
      case "system":
      case "developer":
        return; // lifted above
      case "user":
        push(
          "user",
          markLast(
            typeof message.content === "string"
              ? [text(message.content)]
              : message.content.flatMap((part, partIndex): ContentBlockParam[] =>
                  // Other part types are refused by anthropicUnsupported.
                  part.type === "text" ? [textBlock(part)] : part.type === "image_url" ? [image(part, `${path}.content[${partIndex}]`, issues)] : [],
                ),
            message.cache_control,
          ),
        );
        return;
      case "assistant":
        push("assistant", markLast(assistantBlocks(message, path, issues), message.cache_control));
        return;
      case "tool": {
        const result: ToolResultBlockParam = {
          type: "tool_result",
          tool_use_id: message.tool_call_id,
          content: typeof message.content === "string" ? message.content : message.content.map(textBlock),
        };
        push("user", markLast([result], message.cache_control));
        return;
      }
    }
  });

  // A cache breakpoint in the system prompt needs `system` as blocks; otherwise one string, as before.
  const systemCached = systemBlocks.some((block) => block.cache_control !== undefined);
  return {
    system: systemCached ? systemBlocks : systemTexts.length > 0 ? systemTexts.join("\n\n") : undefined,
    messages: turns.map((turn) => ({ role: turn.role, content: turn.role === "user" ? toolResultsFirst(turn.content) : turn.content })),
  };
}

/** Anthropic requires a user turn's `tool_result` blocks before its other blocks; the order within each group is kept. */
function toolResultsFirst(blocks: ContentBlockParam[]): ContentBlockParam[] {
  const results = blocks.filter((block) => block.type === "tool_result");
  if (results.length === 0 || results.length === blocks.length) return blocks;
  return [...results, ...blocks.filter((block) => block.type !== "tool_result")];
}

function assistantBlocks(
  message: Extract<ChatMessage, { role: "assistant" }>,
  path: string,
  issues: Issue[],
): ContentBlockParam[] {
  // Thinking comes first in the turn, as Anthropic returned it and requires it back.
  const blocks: ContentBlockParam[] = thinkingBlocks(message.reasoning_details);
  // OpenAI clients send `content: ""` next to tool calls; Anthropic rejects empty text blocks.
  const content = message.content;
  if (typeof content === "string") {
    if (content !== "") blocks.push(text(content));
  } else if (Array.isArray(content)) {
    // A refusal part is what the model said in that turn: replayed as text, like `refusal`.
    for (const part of content) {
      if (part.type === "refusal") {
        if (part.refusal !== "") blocks.push(text(part.refusal));
      } else if (part.text !== "") blocks.push(textBlock(part));
    }
  }
  if (typeof message.refusal === "string" && message.refusal !== "") blocks.push(text(message.refusal));
  message.tool_calls?.forEach((call, callIndex) => {
    if (call.type !== "function") return; // refused by anthropicUnsupported
    const input = parseToolArguments(call.function.arguments);
    if (input === undefined) {
      issues.push({
        path: `${path}.tool_calls[${callIndex}].function.arguments`,
        message: `${PROVIDER} needs tool arguments as a JSON object`,
      });
      return;
    }
    const block: ToolUseBlockParam = { type: "tool_use", id: call.id, name: call.function.name, input };
    blocks.push(block);
  });
  return blocks;
}

/**
 * Anthropic's own thinking, from `reasoning_details`: a signed `reasoning.text` is a `thinking`
 * block, a `reasoning.encrypted` a `redacted_thinking` block. Details of another format (Gemini's
 * signatures after a fallback) and unsigned text (Anthropic would reject it) are skipped.
 */
function thinkingBlocks(details: Extract<ChatMessage, { role: "assistant" }>["reasoning_details"]): ContentBlockParam[] {
  const blocks: ContentBlockParam[] = [];
  for (const detail of details ?? []) {
    if (detail.format !== ANTHROPIC_REASONING_FORMAT) continue;
    if (detail.type === "reasoning.text" && detail.signature !== undefined) {
      blocks.push({ type: "thinking", thinking: detail.text, signature: detail.signature });
    } else if (detail.type === "reasoning.encrypted") {
      blocks.push({ type: "redacted_thinking", data: detail.data });
    }
  }
  return blocks;
}

function cacheControl(marker: CacheControl): CacheControlEphemeral {
  return marker.ttl !== undefined ? { type: "ephemeral", ttl: marker.ttl } : { type: "ephemeral" };
}

/**
 * A message-level `cache_control` marks the message's last block (Anthropic's breakpoints sit on
 * blocks). Thinking blocks cannot carry one; a message with no other block is left unmarked.
 */
function markLast<T extends ContentBlockParam>(blocks: T[], marker: CacheControl | undefined): T[] {
  const last = blocks[blocks.length - 1];
  if (marker === undefined || last === undefined || last.type === "thinking" || last.type === "redacted_thinking") return blocks;
  return [...blocks.slice(0, -1), { ...last, cache_control: cacheControl(marker) }];
}

function text(value: string): TextBlockParam {
  return { type: "text", text: value };
}

function textBlock(part: TextPart): TextBlockParam {
  return part.cache_control !== undefined ? { type: "text", text: part.text, cache_control: cacheControl(part.cache_control) } : text(part.text);
}

function image(part: ImagePart, path: string, issues: Issue[]): ImageBlockParam {
  const block = imageSource(part, path, issues);
  return part.cache_control !== undefined ? { ...block, cache_control: cacheControl(part.cache_control) } : block;
}

function imageSource(part: ImagePart, path: string, issues: Issue[]): ImageBlockParam {
  const { url, detail } = part.image_url;
  if (detail !== undefined && detail !== "auto") {
    issues.push({ path: `${path}.image_url.detail`, message: `not supported by ${PROVIDER}: only "auto" can be honoured` });
  }
  const data = parseBase64DataUrl(url);
  if (data) {
    const mediaType = data.mediaType.toLowerCase() === "image/jpg" ? "image/jpeg" : data.mediaType.toLowerCase();
    if (!IMAGE_MEDIA_TYPES.has(mediaType)) {
      issues.push({
        path: `${path}.image_url.url`,
        message: `${PROVIDER} accepts image/jpeg, image/png, image/gif or image/webp, got ${mediaType}`,
      });
    }
    return { type: "image", source: { type: "base64", media_type: mediaType as ImageMediaType, data: data.data } };
  }
  if (!/^https?:\/\//i.test(url)) {
    issues.push({ path: `${path}.image_url.url`, message: `${PROVIDER} needs a base64 data: URL or an http(s) URL` });
  }
  return { type: "image", source: { type: "url", url } };
}
