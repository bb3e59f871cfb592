import type { z } from "zod";
import { chatOptionsSchema } from "../core/chat-options.js";
import { chatRequestSchema, withoutNullDefaults, type ChatRequest } from "../core/chat-request.js";
import { readCommonOptions } from "../core/common-options.js";
import { readCommonRequest } from "../core/common-request.js";
import type { ChatOptions } from "../core/call-context.js";
import { toIssues } from "../core/config-issues.js";
import { embeddingInputListSchema, embeddingRequestSchema, type EmbeddingCall } from "../core/embedding-request.js";
import { InvalidRequestError, type Issue } from "../core/errors.js";
import { unreadable } from "../core/unreadable.js";

/** A call without options: parsed once, shared by every such call. */
const NO_OPTIONS: ChatOptions = Object.freeze({});

/** A `chat()` body, validated: `InvalidRequestError` naming every bad field otherwise. */
export function parseRequest(body: unknown): ChatRequest {
  let parsed: ReturnType<typeof chatRequestSchema.safeParse>;
  let protoIssues: Issue[];
  try {
    // The common request (text messages, scalar fields) is checked by hand; the rest, and
    // every error, by the schema.
    const common = readCommonRequest(body);
    if (common) return common;
    protoIssues = protoKeyIssues(body);
    parsed = chatRequestSchema.safeParse(withoutNullDefaults(body));
  } catch (error) {
    throw new InvalidRequestError([{ path: "", message: unreadable(error) }]);
  }
  if (!parsed.success) throw new InvalidRequestError([...protoIssues, ...toIssues(parsed.error)]);
  if (protoIssues.length > 0) throw new InvalidRequestError(protoIssues);
  return parsed.data;
}

/** The body's maps of caller-chosen names: a `__proto__` one would vanish when parsed. */
const NAME_MAPS = ["metadata", "logit_bias", "extra_body"] as const;

function protoKeyIssues(body: unknown): Issue[] {
  if (typeof body !== "object" || body === null) return [];
  const issues: Issue[] = [];
  for (const field of NAME_MAPS) {
    const map: unknown = (body as Record<string, unknown>)[field];
    if (typeof map !== "object" || map === null || !Object.hasOwn(map, "__proto__")) continue;
    issues.push({ path: `${field}.__proto__`, message: "'__proto__' cannot be a name: JavaScript objects drop it" });
  }
  return issues;
}

/** An `embed()` body, validated, with its inputs as a list. */
export function parseEmbeddingRequest(body: unknown): EmbeddingCall {
  let parsed: ReturnType<typeof embeddingRequestSchema.safeParse>;
  try {
    parsed = embeddingRequestSchema.safeParse(body);
  } catch (error) {
    throw new InvalidRequestError([{ path: "", message: unreadable(error) }], "Invalid embeddings request:");
  }
  if (!parsed.success) throw new InvalidRequestError(embeddingIssues(parsed.error, body), "Invalid embeddings request:");
  const request = parsed.data;
  return { request, inputs: typeof request.input === "string" ? [request.input] : request.input };
}

/**
 * zod's issues, with `input` judged by what it is: token arrays (`number[]`, `number[][]`) named
 * as such, and a list reported against the list's own rules, not as "expected string" from the union.
 */
function embeddingIssues(error: z.ZodError, body: unknown): Issue[] {
  const input: unknown = typeof body === "object" && body !== null ? (body as { input?: unknown }).input : undefined;
  if (!Array.isArray(input)) return toIssues(error);
  const others = toIssues(error).filter((issue) => issue.path !== "input" && !issue.path.startsWith("input["));
  if (input.length > 0 && (typeof input[0] === "number" || Array.isArray(input[0]))) {
    return [{ path: "input", message: "token arrays are not accepted (they are one tokenizer's ids): send text, a string or a list of strings" }, ...others];
  }
  const list = embeddingInputListSchema.safeParse(input);
  return list.success ? others : [...toIssues(list.error, ["input"]), ...others];
}

/** A call's options, validated; no options at all share one frozen empty object. */
export function parseOptions(options: unknown): ChatOptions {
  if (options === undefined) return NO_OPTIONS;
  let parsed: ReturnType<typeof chatOptionsSchema.safeParse>;
  try {
    // Valid options are checked by hand; anything else, and every error, by the schema.
    const common = readCommonOptions(options);
    if (common) return common;
    parsed = chatOptionsSchema.safeParse(options);
  } catch (error) {
    throw new InvalidRequestError([{ path: "options", message: unreadable(error) }], "Invalid chat options:");
  }
  if (!parsed.success) throw new InvalidRequestError(toIssues(parsed.error, ["options"]), "Invalid chat options:");
  return parsed.data;
}
