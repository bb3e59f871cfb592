import type { ChatMessage, ChatRequest } from "../core/chat-request.js";
import { canonicalJson } from "./canonical-json.js";
import { KeyMaterial, TAG } from "./key-material.js";

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

/** What a cache key is scoped to: the scope and, by scope, the virtual key and the user. */
export interface KeyScope {
  readonly scope: CacheScope;
  readonly key: string | undefined;
  readonly user: string | undefined;
}

/**
 * Computes calls' cache keys: sha256 of the scope and the canonical request (core/key-material:
 * the values' bytes, each framed, so no two requests or scopes share material). One per cache,
 * reusing its scratch buffer: call it once per call, and only when the cache is on.
 */
export class CacheKeyMaker {
  private readonly material = new KeyMaterial();
  /** Whether `material` holds a key being written. */
  private busy = false;

  keysFor(request: ChatRequest, routeName: string, scope: KeyScope, semanticEligible: boolean): CallCacheKeys {
    // Writing a free-form field reads the caller's objects (a getter, nested in `extra_body`
    // or a tool's schema, runs here), and that code may start another call of this gateway,
    // which gets here synchronously: it gets a buffer of its own, or it would write its scope
    // over this call's half-written material and this call would hash the other's scope.
    if (this.busy) return keysWith(new KeyMaterial(), request, routeName, scope, semanticEligible);
    this.busy = true;
    try {
      return keysWith(this.material, request, routeName, scope, semanticEligible);
    } finally {
      this.busy = false;
    }
  }
}

/** A call's keys, its material written into `scratch`. */
function keysWith(scratch: KeyMaterial, request: ChatRequest, routeName: string, scope: KeyScope, semanticEligible: boolean): CallCacheKeys {
  const material = scratch.begin();
  writeScope(material, scope);
  writeParameters(material, request, routeName);
  for (const message of request.messages) writeMessage(material, message);
  const exact = material.digest();
  let partition: string | undefined;
  if (semanticEligible) {
    material.begin().text("semantic");
    writeScope(material, scope);
    writeParameters(material, request, routeName);
    writeConversationFrame(material, request.messages);
    partition = material.digest();
  }
  material.release();
  return { exact, partition };
}

/** The scope: its name, then the key and user it is scoped by (names are hashed, never stored in the clear). */
function writeScope(material: KeyMaterial, { scope, key, user }: KeyScope): void {
  material.text(scope);
  if (scope === "global") return;
  optionalText(material, key);
  if (scope === "user") optionalText(material, user);
}

function optionalText(material: KeyMaterial, value: string | undefined): void {
  if (value === undefined) material.tag(TAG.absent);
  else material.text(value);
}

/**
 * The fields of a request other than its messages, canonical: route name first, then every
 * answer-changing field in schema order (name, then its JSON), then an end mark.
 */
function writeParameters(material: KeyMaterial, request: ChatRequest, routeName: string): void {
  material.text(routeName);
  const fields = request as unknown as Record<string, unknown>;
  for (const field of Object.keys(fields)) {
    if (FIELDS_NOT_IN_KEY.has(field)) continue;
    const value = fields[field];
    if (value === undefined) continue;
    material.text(field).json(FREE_FORM_FIELDS.has(field) ? canonicalJson(value) : JSON.stringify(value));
  }
  material.tag(TAG.absent);
}

/** A message of role, text and maybe a name as three items; any other message as its JSON. */
function writeMessage(material: KeyMaterial, message: ChatMessage): void {
  const fields = message as unknown as Record<string, unknown>;
  if (isTextMessage(fields)) {
    material.tag(TAG.textMessage).text(fields.role).text(fields.content);
    optionalText(material, fields.name);
  } else {
    material.json(JSON.stringify(message));
  }
}

function isTextMessage(fields: Record<string, unknown>): fields is { role: string; content: string; name?: string } {
  for (const field in fields) {
    if (field !== "role" && field !== "content" && field !== "name") return false;
  }
  return typeof fields.role === "string" && typeof fields.content === "string" && (fields.name === undefined || typeof fields.name === "string");
}

/**
 * What a semantic match must agree on besides the parameters: the system and developer
 * prompts word for word (they define the application) and the sequence of roles (a reply to
 * a follow-up is not a reply to a first question).
 */
function writeConversationFrame(material: KeyMaterial, messages: readonly ChatMessage[]): void {
  for (const message of messages) {
    if (message.role === "system" || message.role === "developer") material.json(JSON.stringify(message));
    else material.text(message.role);
  }
}
