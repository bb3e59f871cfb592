import { toolCallInput, toolCallName, type ChatRequest } from "../core/chat-request.js";
import type { Deployment } from "../core/route.js";

/**
 * The most prompt tokens a provider can bill for a request, for budget reservations: never an
 * estimate, always a bound, so that concurrent calls can never settle past a budget whatever
 * their prompts hold (the quick estimate used for TPM is about half the true count for base64
 * or random symbols).
 *
 * Text: its UTF-8 byte length. OpenAI's and Anthropic's tokenizers are byte-level BPE and
 * Gemini's SentencePiece falls back to bytes, so a token always covers at least one byte: no
 * text has more tokens than bytes. Around it, generous per-message and per-request overheads
 * (roles, separators, the tool-use system prompt Anthropic adds), and each image at the most
 * its provider bills for one (`imageTokenCeiling`, added per deployment by `promptTokensOn`). Measured cost: `Buffer.byteLength` is
 * native, about 1 µs per 10 KB.
 */
export function promptTokenBound(request: ChatRequest): PromptBound {
  let tokens = REQUEST_OVERHEAD;
  let images = 0;
  for (const message of request.messages) {
    tokens += MESSAGE_OVERHEAD + bytes(message.role);
    if ("name" in message && message.name !== undefined) tokens += bytes(message.name);
    const content = "content" in message ? message.content : undefined;
    if (typeof content === "string") tokens += bytes(content);
    else if (Array.isArray(content)) {
      for (const part of content) {
        tokens += PART_OVERHEAD;
        if (part.type === "text") tokens += bytes(part.text);
        else if (part.type === "refusal") tokens += bytes(part.refusal);
        else images++;
      }
    }
    if (message.role === "assistant") {
      if (message.refusal) tokens += bytes(message.refusal);
      for (const call of message.tool_calls ?? []) tokens += PART_OVERHEAD + bytes(call.id) + bytes(toolCallName(call)) + bytes(toolCallInput(call));
    }
    if (message.role === "tool") tokens += bytes(message.tool_call_id);
  }
  if (request.tools) tokens += TOOLS_OVERHEAD + bytes(JSON.stringify(request.tools));
  if (request.tool_choice !== undefined) tokens += bytes(JSON.stringify(request.tool_choice));
  if (request.response_format !== undefined) tokens += bytes(JSON.stringify(request.response_format));
  return { tokens, images };
}

/** A request's prompt bound: tokens for everything but images, and the images to add per deployment. */
export interface PromptBound {
  readonly tokens: number;
  readonly images: number;
}

/** The bound on one deployment: its images at its provider's ceiling. */
export function promptTokensOn(bound: PromptBound, deployment: Deployment): number {
  return bound.tokens + bound.images * imageTokenCeiling(deployment);
}

/**
 * The most tokens one image can be billed on a deployment, by its adapter's provider:
 * - OpenAI: gpt-4o-mini's tiles (2,833 + 5,667 per 512 px tile, at most 8 tiles after its
 *   resize to 2048 x 768) give 48,169, the largest of its models; other models (gpt-4o:
 *   85 + 170 per tile; patch-based gpt-4.1 and later: at most 1,536 patches, x2.46 for nano)
 *   stay under 4,000, so only `mini` and `nano` models take the large figure.
 * - Anthropic: images are scaled down past ~1,600 tokens (long edge 1,568 px); 1,750.
 * - Gemini: 258 per 768 px tile (or per image at media resolution), 1,120 at high media
 *   resolution; 8,192 covers a large image's tiles.
 * - Anything else: the largest of these.
 */
export function imageTokenCeiling(deployment: Deployment): number {
  const provider = deployment.adapter.name;
  if (provider === "anthropic") return ANTHROPIC_IMAGE_TOKENS;
  if (provider === "gcp.gemini" || provider === "google") return GEMINI_IMAGE_TOKENS;
  if (provider === "openai") return /mini|nano/i.test(deployment.model) ? OPENAI_MINI_IMAGE_TOKENS : OPENAI_IMAGE_TOKENS;
  return OPENAI_MINI_IMAGE_TOKENS;
}

const OPENAI_MINI_IMAGE_TOKENS = 48_169;
const OPENAI_IMAGE_TOKENS = 4_000;
const ANTHROPIC_IMAGE_TOKENS = 1_750;
const GEMINI_IMAGE_TOKENS = 8_192;

/** Priming of the reply and a system preamble a provider may add. */
const REQUEST_OVERHEAD = 64;
/** Role markers and separators around a message (OpenAI: 4; others fewer). */
const MESSAGE_OVERHEAD = 16;
/** Separators around a content part or a tool call. */
const PART_OVERHEAD = 8;
/** The tool-use system prompt a provider adds when tools are given (Anthropic: up to ~530). */
const TOOLS_OVERHEAD = 1_024;

function bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}
