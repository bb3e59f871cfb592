import { toolCallName } from "../core/chat-request.js";
import type { AcceptCheck } from "../core/cascade-types.js";
import type { ChatResponse } from "../core/chat-response.js";

/** The first choice's text, or "" when it has none (a tool-only answer). */
export function answerText(response: ChatResponse): string {
  return response.choices[0]?.message.content ?? "";
}

/** Accepts an answer whose text parses as JSON (surrounding whitespace and a ```json fence allowed). */
export function validJson(): AcceptCheck {
  return (response) => parseJson(answerText(response)) !== NOT_JSON;
}

/** Accepts an answer whose text matches `pattern` (a string is compiled as a RegExp). */
export function matchesRegex(pattern: RegExp | string): AcceptCheck {
  const re = typeof pattern === "string" ? new RegExp(pattern) : pattern;
  return (response) => {
    // A /g or /y regex keeps `lastIndex` between calls; start over each time.
    re.lastIndex = 0;
    return re.test(answerText(response));
  };
}

/** Accepts an answer of at least `characters` characters, surrounding whitespace not counted. */
export function minLength(characters: number): AcceptCheck {
  if (!Number.isInteger(characters) || characters < 0) throw new TypeError(`minLength: expected a whole number of characters >= 0, got ${String(characters)}`);
  return (response) => answerText(response).trim().length >= characters;
}

/** Accepts an answer that calls a tool (the one named, when a name is given). */
export function hasToolCall(name?: string): AcceptCheck {
  return (response) =>
    (response.choices[0]?.message.tool_calls ?? []).some((call) => name === undefined || toolCallName(call) === name);
}

export const NOT_JSON: unique symbol = Symbol("not JSON");

/** JSON.parse of the text, a ```json fence stripped; NOT_JSON when it does not parse. */
export function parseJson(text: string): unknown {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  try {
    return JSON.parse(fenced ? fenced[1]! : text);
  } catch {
    return NOT_JSON;
  }
}
