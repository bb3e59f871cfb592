import {
  assistantPartText,
  type AssistantContentPart,
  type ChatMessage,
  type ChatRequest,
  type ImagePart,
  type ReasoningDetail,
  type TextPart,
  type ToolChoice,
} from "../../core/chat-request.js";
import { requestedMaxTokens } from "../../core/chat-request.js";
import { InvalidRequestError, type Issue } from "../../core/errors.js";
import { parseBase64DataUrl } from "../../providers/shared/data-url.js";
import { liftSystemMessages } from "../../providers/shared/lift-system.js";
import { parseToolArguments } from "../../providers/shared/parse-tool-arguments.js";
import { toGoogleSchema, type GoogleSchema } from "./to-google-schema.js";
import { narrowToAllowedTools } from "../../providers/shared/allowed-tools.js";
import { googleUnsupported } from "./google-unsupported.js";

/** One part of a Gemini turn, as the REST API takes it. */
export type GooglePart = (
  | { text: string }
  | { inlineData: { mimeType: string; data: string } }
  | { fileData: { mimeType: string; fileUri: string } }
  | { functionCall: { name: string; args: Record<string, unknown> } }
  | { functionResponse: { name: string; response: Record<string, unknown> } }
) & {
  /** Gemini's opaque signature of its thinking, returned on the part it came with. */
  thoughtSignature?: string;
};

export interface GoogleContent {
  role: "user" | "model";
  parts: GooglePart[];
}

export interface GoogleFunctionDeclaration {
  name: string;
  description?: string;
  parameters?: GoogleSchema;
}

export interface GoogleGenerationConfig {
  temperature?: number;
  topP?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseMimeType?: string;
  responseSchema?: GoogleSchema;
  thinkingConfig?: { thinkingBudget: number; includeThoughts?: boolean };
  /** OpenAI's `n`. */
  candidateCount?: number;
  /** OpenAI's `logprobs`. */
  responseLogprobs?: boolean;
  /** OpenAI's `top_logprobs` (only with `responseLogprobs`). */
  logprobs?: number;
}

/**
 * A `generateContent` body. Our own type rather than the SDK's: the SDK (0.24) lags the API
 * (`seed`, `thinkingConfig`, JSON-schema parameters) and sends the object as JSON unchanged.
 */
export interface GoogleGenerateRequest {
  contents: GoogleContent[];
  systemInstruction?: { role: "system"; parts: { text: string }[] };
  tools?: { functionDeclarations: GoogleFunctionDeclaration[] }[];
  toolConfig?: {
    functionCallingConfig: { mode: "AUTO" | "ANY" | "NONE"; allowedFunctionNames?: string[] };
  };
  generationConfig?: GoogleGenerationConfig;
}

/**
 * Thinking budgets for `reasoning_effort`, as Google's own OpenAI-compatible endpoint maps them
 * (low 1K, medium 8K, high 24K tokens); xhigh is Gemini 2.5 Pro's ceiling (32K). `none` and
 * `minimal` turn thinking off where the model allows it.
 */
const THINKING_BUDGETS = { none: 0, minimal: 0, low: 1024, medium: 8192, high: 24_576, xhigh: 32_768, max: 32_768 } as const;

/** The `reasoning_details` format this adapter reads back; other providers' details are skipped. */
export const GEMINI_REASONING_FORMAT = "google-gemini-v1";

/** Image types Gemini reads, by file extension, for https URLs (Gemini needs the MIME type up front). */
const IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
};

function unsupported(path: string, what: string): Issue {
  return { path, message: `${what} is not supported by Google Gemini` };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The text of a message's content; an assistant's refusal parts are what it said, so they read as text. */
function joinText(content: string | readonly (TextPart | AssistantContentPart)[]): string {
  return typeof content === "string" ? content : content.map(assistantPartText).join("");
}

/**
 * Translates an OpenAI chat request to a Gemini `generateContent` body. Pure.
 *
 * - system/developer messages become `systemInstruction`; Gemini has one, so they must come
 *   before the conversation. assistant becomes "model"; tool results become `functionResponse`
 *   parts of a user turn; consecutive turns of the same role merge (Gemini wants them alternating).
 * - Not sent, on purpose: `user`, `safety_identifier` and `metadata` (caller bookkeeping with no effect on the output),
 *   `json_schema.name` (an identifier), tool `strict` (Gemini checks calls against the declaration
 *   itself), `parallel_tool_calls: true` (Gemini's own behaviour), `stream`/`stream_options`
 *   (the gateway picks `chat` or `stream`), `model` (the adapter uses the deployment's model).
 * - `n` > 1 is `candidateCount` (unstreamed only), `logprobs` / `top_logprobs` are `responseLogprobs` / `logprobs`.
 * - Everything else Gemini cannot express (`GOOGLE_UNSUPPORTED`) is an `InvalidRequestError` listing each path.
 */
export function toGoogleRequest(original: ChatRequest, provider: string): GoogleGenerateRequest {
  const issues: Issue[] = googleUnsupported(original);
  const { request, issues: narrowing } = narrowToAllowedTools(original, "google");
  issues.push(...narrowing);
  const body: GoogleGenerateRequest = { contents: convertMessages(request.messages, issues) };
  const system = systemParts(request.messages, issues);
  if (system.length > 0) body.systemInstruction = { role: "system", parts: system };

  if (request.tools && request.tools.length > 0) {
    body.tools = [
      {
        // Custom tools are refused by googleUnsupported.
        functionDeclarations: request.tools.flatMap((tool, index) => {
          if (tool.type !== "function") return [];
          const declaration: GoogleFunctionDeclaration = { name: tool.function.name };
          if (tool.function.description !== undefined) declaration.description = tool.function.description;
          const parameters = tool.function.parameters;
          // Gemini rejects an OBJECT schema with no properties; a function without arguments omits it.
          if (parameters !== undefined && !hasNoProperties(parameters)) {
            declaration.parameters = toGoogleSchema(parameters, `tools[${index}].function.parameters`, issues);
          }
          return [declaration];
        }),
      },
    ];
  }
  if (request.tool_choice !== undefined) body.toolConfig = { functionCallingConfig: toFunctionCallingConfig(request.tool_choice) };
  if (request.parallel_tool_calls === false) {
    issues.push(unsupported("parallel_tool_calls", "parallel_tool_calls: false (Gemini may always call several functions in one turn)"));
  }

  const config = generationConfig(request, issues);
  if (Object.keys(config).length > 0) body.generationConfig = config;

  if (body.contents.length === 0) {
    issues.push({ path: "messages", message: "Google Gemini needs at least one user, assistant or tool message" });
  }
  if (issues.length > 0) throw new InvalidRequestError(issues, `Chat request cannot be served by ${provider} (Google Gemini):`);
  return body;
}

function hasNoProperties(schema: Record<string, unknown>): boolean {
  const properties = schema.properties;
  return schema.type === "object" && (properties === undefined || (isPlainObject(properties) && Object.keys(properties).length === 0));
}

/**
 * Gemini's `systemInstruction` precedes the conversation: a system message after it is refused,
 * not moved (Anthropic hoists it instead; see lift-system.ts). Empty texts are left out.
 */
function systemParts(messages: readonly ChatMessage[], issues: Issue[]): { text: string }[] {
  const lifted = liftSystemMessages(
    messages,
    { late: "refuse", message: "Google Gemini takes system instructions only before the conversation: move this message first" },
    issues,
  );
  return lifted.filter((entry) => entry.text.length > 0).map((entry) => ({ text: entry.text }));
}

function convertMessages(messages: readonly ChatMessage[], issues: Issue[]): GoogleContent[] {
  const contents: GoogleContent[] = [];
  const functionNames = new Map<string, string>();
  const append = (role: GoogleContent["role"], parts: GooglePart[]): void => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };

  messages.forEach((message, index) => {
    const path = `messages[${index}]`;
    if ("name" in message && message.name !== undefined) {
      issues.push(unsupported(`${path}.name`, "a participant name"));
    }
    switch (message.role) {
      case "system":
      case "developer":
        return; // gathered by systemParts
      case "user":
        append(
          "user",
          typeof message.content === "string"
            ? [{ text: message.content }]
            : message.content.flatMap((part, partIndex): GooglePart[] =>
                // Other part types are refused by googleUnsupported.
                part.type === "text" ? [{ text: part.text }] : part.type === "image_url" ? [imagePart(part, `${path}.content[${partIndex}]`, issues)] : [],
              ),
        );
        return;
      case "assistant": {
        const parts: GooglePart[] = [];
        const text = message.content == null ? "" : joinText(message.content);
        if (text.length > 0) parts.push({ text });
        // A refusal is what the model said in that turn: replay it as text.
        if (message.refusal) parts.push({ text: message.refusal });
        const signatures = geminiSignatures(message.reasoning_details);
        message.tool_calls?.forEach((call, callIndex) => {
          if (call.type !== "function") return; // refused by googleUnsupported
          functionNames.set(call.id, call.function.name);
          const args = parseArguments(call.function.arguments, `${path}.tool_calls[${callIndex}].function.arguments`, issues);
          const signature = signatures.byCall.get(call.id);
          parts.push({ functionCall: { name: call.function.name, args }, ...(signature !== undefined ? { thoughtSignature: signature } : {}) });
        });
        // A signature Gemini sent on a text part goes back on the turn's first part.
        const first = parts[0];
        if (signatures.unattached !== undefined && first !== undefined && first.thoughtSignature === undefined) {
          first.thoughtSignature = signatures.unattached;
        }
        append("model", parts);
        return;
      }
      case "tool": {
        const name = functionNames.get(message.tool_call_id);
        if (name === undefined) {
          issues.push({
            path: `${path}.tool_call_id`,
            message: "no earlier assistant tool call has this id (Google Gemini needs the function's name)",
          });
          return;
        }
        append("user", [{ functionResponse: { name, response: toolResult(joinText(message.content)) } }]);
        return;
      }
    }
  });
  return contents;
}

/**
 * Gemini's thought signatures among an assistant message's `reasoning_details`: by the tool-call
 * id of the function call they came on, and the one that came on a text part. Details of other
 * formats (an Anthropic signature after a fallback) mean nothing to Gemini and are skipped.
 */
function geminiSignatures(details: readonly ReasoningDetail[] | undefined): { byCall: Map<string, string>; unattached: string | undefined } {
  const byCall = new Map<string, string>();
  let unattached: string | undefined;
  for (const detail of details ?? []) {
    if (detail.type !== "reasoning.encrypted" || detail.format !== GEMINI_REASONING_FORMAT) continue;
    if (detail.id !== undefined) byCall.set(detail.id, detail.data);
    else unattached ??= detail.data;
  }
  return { byCall, unattached };
}

/** The call's arguments; anything but a JSON object is an issue (and `{}`, so the translation goes on to list the others). */
function parseArguments(text: string, path: string, issues: Issue[]): Record<string, unknown> {
  const args = parseToolArguments(text);
  if (args !== undefined) return args;
  issues.push({ path, message: "expected a JSON object (Google Gemini takes function arguments as an object)" });
  return {};
}

/** Gemini wants a JSON object back from a function: a JSON object result passes as is, anything else is wrapped. */
function toolResult(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (isPlainObject(parsed)) return parsed;
  } catch {
    // plain text
  }
  return { content: text };
}

function imagePart(part: ImagePart, path: string, issues: Issue[]): GooglePart {
  const { url, detail } = part.image_url;
  if (detail !== undefined && detail !== "auto") issues.push(unsupported(`${path}.image_url.detail`, `detail '${detail}'`));
  const data = parseBase64DataUrl(url);
  if (data) return { inlineData: { mimeType: data.mediaType, data: data.data } };
  if (url.startsWith("data:")) {
    issues.push({ path: `${path}.image_url.url`, message: "expected a base64 data: URL (data:<type>;base64,...) for Google Gemini" });
    return { text: "" };
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol !== "https:") {
    issues.push({ path: `${path}.image_url.url`, message: "Google Gemini takes images as base64 data: URLs or https URLs" });
    return { text: "" };
  }
  const extension = /\.([a-z0-9]+)$/i.exec(parsed.pathname)?.[1]?.toLowerCase();
  const mimeType = extension !== undefined && Object.hasOwn(IMAGE_TYPES, extension) ? IMAGE_TYPES[extension] : undefined;
  if (mimeType === undefined) {
    issues.push({
      path: `${path}.image_url.url`,
      message: `Google Gemini needs the image type of an https URL, and it cannot be inferred from the path (known: ${Object.keys(IMAGE_TYPES).join(", ")}); send a data: URL instead`,
    });
    return { text: "" };
  }
  return { fileData: { mimeType, fileUri: url } };
}

function toFunctionCallingConfig(choice: ToolChoice): NonNullable<GoogleGenerateRequest["toolConfig"]>["functionCallingConfig"] {
  if (choice === "auto") return { mode: "AUTO" };
  if (choice === "none") return { mode: "NONE" };
  if (choice === "required") return { mode: "ANY" };
  // A custom choice is refused by googleUnsupported; allowed_tools was narrowed to its mode.
  return choice.type === "function" ? { mode: "ANY", allowedFunctionNames: [choice.function.name] } : { mode: "AUTO" };
}

function generationConfig(request: ChatRequest, issues: Issue[]): GoogleGenerationConfig {
  const config: GoogleGenerationConfig = {};
  if (request.temperature !== undefined) config.temperature = request.temperature;
  if (request.top_p !== undefined) config.topP = request.top_p;
  const maxTokens = requestedMaxTokens(request);
  if (maxTokens !== undefined) config.maxOutputTokens = maxTokens;
  if (request.stop !== undefined) config.stopSequences = typeof request.stop === "string" ? [request.stop] : request.stop;
  if (request.seed !== undefined) config.seed = request.seed;
  if (request.presence_penalty !== undefined) config.presencePenalty = request.presence_penalty;
  if (request.frequency_penalty !== undefined) config.frequencyPenalty = request.frequency_penalty;
  if (request.n !== undefined && request.n > 1) config.candidateCount = request.n;
  if (request.logprobs === true) {
    config.responseLogprobs = true;
    if (request.top_logprobs !== undefined && request.top_logprobs > 0) config.logprobs = request.top_logprobs;
  }
  if (request.reasoning_effort !== undefined) {
    const budget = THINKING_BUDGETS[request.reasoning_effort];
    // With thinking on, ask for thought summaries: they come back as `reasoning_content`.
    config.thinkingConfig = budget > 0 ? { thinkingBudget: budget, includeThoughts: true } : { thinkingBudget: 0 };
  }

  const format = request.response_format;
  if (format?.type === "json_object") config.responseMimeType = "application/json";
  if (format?.type === "json_schema") {
    config.responseMimeType = "application/json";
    const { schema, description } = format.json_schema;
    if (schema !== undefined) {
      const converted = toGoogleSchema(schema, "response_format.json_schema.schema", issues);
      // OpenAI shows the description to the model; the schema's root description is Gemini's place for it.
      if (description !== undefined && converted.description === undefined) converted.description = description;
      config.responseSchema = converted;
    }
  }
  return config;
}

/**
 * `n` > 1 on a stream is refused: a stream here reads one candidate, and merging several
 * candidates' chunks is not offered. Unstreamed, `n` is `candidateCount`.
 */
export function refuseStreamedCandidates(request: ChatRequest, provider: string): void {
  if ((request.n ?? 1) <= 1) return;
  throw new InvalidRequestError(
    [{ path: "n", message: `${provider} serves n > 1 (candidateCount) only unstreamed: use chat() without stream, or n: 1` }],
    `Chat request cannot be served by ${provider}:`,
  );
}
