import type { ChatMessage, ChatRequest } from "../core/chat-request.js";
import { canonicalJson } from "./canonical-json.js";
import { sha256Base64url } from "./sha256.js";

/** Who may share cached answers: one virtual key, one end user of a key, or everyone. */
export type CacheScope = "key" | "user" | "global";

/** The keys of one call, computed once when the cache is on. */
export interface CallCacheKeys {
  /** Identifies the exact request within its scope: the exact tier and single-flight use it. */
  readonly exact: string;
  /**
   * Identifies everything but the conversation's wording, within its scope: the semantic
   * tier's partition. Only set when the request may be served semantically.
   */
  readonly partition: string | undefined;
}

/**
 * Request fields that do not change the answer: who asked (`user`, `safety_identifier`, `metadata`), how it is
 * delivered (`stream`, `stream_options`: a streamed and a plain answer share entries) and the
 * model name (the route name stands in for it). Every other field, including ones added to
 * the contract later, goes into the key: a new field splits entries rather than merging them.
 */
const FIELDS_NOT_IN_KEY: ReadonlySet<string> = new Set([
  "model",
  "user",
  "safety_identifier",
  "metadata",
  "stream",
  "stream_options",
  "messages",
]);

/**
 * Fields holding free-form JSON (tool parameter schemas, response JSON schemas) whose key order
 * the caller chose. Everything else comes out of the zod parse with keys in schema order, so
 * plain `JSON.stringify` is already canonical for it and 3-4x faster than sorting keys.
 */
const FREE_FORM_FIELDS: ReadonlySet<string> = new Set(["tools", "functions", "response_format", "logit_bias", "extra_body"]);

/**
 * The scope prefix of a key. Virtual key and user names are hashed with the rest, never
 * stored in the clear; JSON quoting keeps `a:b` + `c` apart from `a` + `b:c`.
 */
export function scopePrefix(scope: CacheScope, key: string | undefined, user: string | undefined): string {
  if (scope === "global") return "global";
  if (scope === "key") return `key:${JSON.stringify(key ?? null)}`;
  return `user:${JSON.stringify(key ?? null)}:${JSON.stringify(user ?? null)}`;
}

/**
 * The fields of a request other than its messages, canonical: route name first, then every
 * answer-changing field in schema order.
 */
function canonicalParameters(request: ChatRequest, routeName: string): string {
  let out = JSON.stringify(routeName);
  const fields = request as unknown as Record<string, unknown>;
  for (const field of Object.keys(fields)) {
    if (FIELDS_NOT_IN_KEY.has(field)) continue;
    const value = fields[field];
    if (value === undefined) continue;
    out += `,${field}:${FREE_FORM_FIELDS.has(field) ? canonicalJson(value) : JSON.stringify(value)}`;
  }
  return out;
}

/**
 * What a semantic match must agree on besides the parameters: the system and developer
 * prompts word for word (they define the application) and the sequence of roles (a reply to
 * a follow-up is not a reply to a first question).
 */
function conversationFrame(messages: readonly ChatMessage[]): string {
  let out = "";
  for (const message of messages) {
    out += message.role === "system" || message.role === "developer" ? JSON.stringify(message) : message.role;
    out += "\n";
  }
  return out;
}

function digest(material: string): string {
  return sha256Base64url(material);
}

/**
 * Computes a call's cache keys: sha256 of the scope and the canonical request. Call it once per
 * call, and only when the cache is on (serializing a 2 KB request costs microseconds).
 */
export function cacheKeysFor(
  request: ChatRequest,
  routeName: string,
  prefix: string,
  semanticEligible: boolean,
): CallCacheKeys {
  const parameters = canonicalParameters(request, routeName);
  const exact = digest(`${prefix}\n${parameters}\n${JSON.stringify(request.messages)}`);
  const partition = semanticEligible ? digest(`${prefix}\nsemantic\n${parameters}\n${conversationFrame(request.messages)}`) : undefined;
  return { exact, partition };
}
