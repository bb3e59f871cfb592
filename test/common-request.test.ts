import { describe, expect, it } from "vitest";
import { chatRequestSchema } from "../src/core/chat-request.js";
import { readCommonRequest } from "../src/core/common-request.js";

/*
 * The hand-written check of the common request may only ever accept what the schema accepts,
 * and must return what the schema returns: the same values, the same key order (the cache key
 * serializes it as it is). Each body below, and every variant with one value replaced, removed
 * or added, is read both ways.
 */

function bodies(): Record<string, unknown>[] {
  return [
    {
      model: "fast",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hi there", name: "ann" },
      ],
      temperature: 0,
      max_tokens: 64,
    },
    {
      // Keys in another order than the schema's, every scalar field set.
      stream_options: { include_obfuscation: false, include_usage: true },
      stream: true,
      prompt_cache_key: "k",
      service_tier: "flex",
      store: false,
      safety_identifier: "s".repeat(64),
      user: "u1",
      n: 2,
      verbosity: "low",
      reasoning_effort: "minimal",
      top_logprobs: 20,
      logprobs: true,
      frequency_penalty: -2,
      presence_penalty: 2,
      seed: -7,
      stop: ["a", "b", "c", "d"],
      max_completion_tokens: 1,
      max_tokens: 9,
      top_p: 1,
      temperature: 2,
      parallel_tool_calls: false,
      messages: [
        { content: "Be kind.", role: "developer", name: "d" },
        { name: "bob", content: "Weather?", role: "user" },
        { refusal: null, content: null, role: "assistant" },
        { role: "assistant", content: "Sunny.", name: "helper", refusal: "no" },
        { content: "42", tool_call_id: "call_1", role: "tool" },
        { role: "assistant" },
      ],
      model: "openai/gpt-4o-mini",
    },
    { model: "m", messages: [{ role: "user", content: "" }], stop: "END" },
  ];
}

const REPLACEMENTS: unknown[] = [
  undefined,
  null,
  -1,
  0,
  0.5,
  1,
  1.5,
  2,
  2.5,
  20,
  21,
  128,
  129,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 60,
  "",
  "text",
  "low",
  "auto",
  "none",
  "s".repeat(65),
  true,
  [],
  ["a"],
  ["a", "b", "c", "d", "e"],
  [1],
  {},
  { include_usage: 1 },
  { role: "user", content: "x" },
  { role: "user", content: [{ type: "text", text: "x" }] },
  { role: "function", name: "f", content: "x" },
];
const REMOVED = Symbol("removed");

function* variants(value: unknown): Generator<unknown> {
  if (typeof value !== "object" || value === null) return;
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  for (const [key, member] of entries) {
    for (const replacement of [...REPLACEMENTS, REMOVED]) yield withValue(value, key, replacement);
    for (const inner of variants(member)) yield withValue(value, key, inner);
  }
  if (!Array.isArray(value)) {
    for (const key of ["tools", "metadata", "cache_control", "extra", "tool_calls", "name", "refusal", "stream"]) yield withValue(value, key, "x");
  }
}

function withValue(value: object, key: string | number, replacement: unknown): unknown {
  const copy = (Array.isArray(value) ? [...value] : { ...value }) as Record<string | number, unknown>;
  if (replacement === REMOVED) {
    if (Array.isArray(copy)) (copy as unknown[]).splice(Number(key), 1);
    else delete copy[key];
  } else copy[key] = replacement;
  return copy;
}

/** Keys in order at every depth, with `undefined` members shown (JSON would drop them). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value === "object" && value !== null) return Object.entries(value).map(([key, member]) => [key, member === undefined ? "(undefined)" : shape(member)]);
  return value;
}

describe("the common request is read by hand exactly as the schema parses it", () => {
  it("reads the common bodies (the hot path) as fresh copies", () => {
    for (const body of bodies()) {
      const read = readCommonRequest(body);
      expect(read).toBeDefined();
      expect(read).not.toBe(body);
      expect(read!.messages).not.toBe(body.messages);
      expect(read!.messages[0]).not.toBe((body.messages as unknown[])[0]);
    }
  });

  it("accepts no variant the schema rejects, and returns the schema's values in its key order", () => {
    let accepted = 0;
    let checked = 0;
    for (const base of bodies()) {
      for (const body of [base, ...variants(base)]) {
        const read = readCommonRequest(body);
        const parsed = chatRequestSchema.safeParse(body);
        checked++;
        if (read === undefined) continue;
        accepted++;
        if (!parsed.success) expect({ body, accepted: true }).toEqual({ body, accepted: "no: the schema rejects it" });
        else expect(shape(read)).toEqual(shape(parsed.data));
      }
    }
    expect(checked).toBeGreaterThan(1_000);
    expect(accepted).toBeGreaterThan(100);
  });

  it("leaves bodies it does not know to the schema: other fields, content parts, inherited keys, class instances", () => {
    expect(readCommonRequest({ model: "m", messages: [{ role: "user", content: "x" }], tools: [] })).toBeUndefined();
    expect(readCommonRequest({ model: "m", messages: [{ role: "user", content: [{ type: "text", text: "x" }] }] })).toBeUndefined();
    const inherited = Object.create({ temperature: 1 }) as Record<string, unknown>;
    Object.assign(inherited, { model: "m", messages: [{ role: "user", content: "x" }] });
    expect(readCommonRequest(inherited)).toBeUndefined();
    class Body {
      model = "m";
      messages = [{ role: "user", content: "x" }];
    }
    expect(readCommonRequest(new Body())).toBeUndefined();
  });
});
