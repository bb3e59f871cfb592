import { describe, expect, it } from "vitest";
import { chatOptionsSchema } from "../src/core/chat-options.js";
import { readCommonOptions } from "../src/core/common-options.js";

/*
 * The hand-written check of the call options may only ever accept what the schema accepts,
 * and must return what the schema returns: the same values, the same key order, a fresh copy.
 */

const signal = new AbortController().signal;

function valid(): Record<string, unknown>[] {
  return [
    {},
    { key: "team-a" },
    { key: "team-a", user: "u42", tags: ["bench"] },
    // Keys in another order than the schema's, every option set.
    { semanticThreshold: 1, cache: "refresh", deadlineMs: 5_000, timeoutMs: 1, signal, tags: [], user: "u", key: "k" },
    { cache: "bypass", semanticThreshold: 0.5 },
    { cache: "default" },
    Object.assign(Object.create(null), { key: "k" }),
  ];
}

const WRONG: Record<string, unknown[]> = {
  key: ["", 1, null, undefined, ["k"]],
  user: ["", 2, null, undefined],
  // Sparse arrays: \`every\` skips holes, the schema reads each index (undefined is no string).
  tags: ["bench", [1], ["a", null], null, undefined, [undefined], new Array(1), [, "a"], ["a", , "b"]],
  signal: [{ aborted: false }, null, undefined, "signal"],
  timeoutMs: [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "10", null, undefined, 2 ** 60],
  deadlineMs: [0, -5, 0.1, null, undefined],
  cache: ["off", "", null, undefined, 1],
  semanticThreshold: [0, -0.1, 1.01, Number.NaN, "0.9", null, undefined],
  unknownOption: [1, undefined],
};

function schemaParse(options: unknown): unknown {
  const parsed = chatOptionsSchema.safeParse(options);
  return parsed.success ? parsed.data : undefined;
}

describe("readCommonOptions", () => {
  it("returns what the schema returns, keys in the same order, as a fresh copy", () => {
    for (const options of valid()) {
      const fast = readCommonOptions(options);
      expect(fast).toEqual(schemaParse(options));
      expect(Object.keys(fast!)).toEqual(Object.keys(schemaParse(options) as object));
      expect(fast).not.toBe(options);
      if (Array.isArray(options.tags)) expect(fast!.tags).not.toBe(options.tags);
    }
  });

  it("accepts nothing the schema refuses, and leaves odd shapes to the schema", () => {
    for (const options of valid()) {
      for (const [field, values] of Object.entries(WRONG)) {
        for (const value of values) {
          const variant = { ...options, [field]: value };
          const fast = readCommonOptions(variant);
          if (fast !== undefined) expect(fast).toEqual(schemaParse(variant));
          // Every wrong value above is refused by the schema, or is an explicit undefined left to it.
          if (value === undefined) continue;
          expect(schemaParse(variant), `${field}: ${String(value)}`).toBeUndefined();
          expect(fast, `${field}: ${String(value)}`).toBeUndefined();
        }
      }
    }
    for (const odd of [null, "options", 1, [], new (class Options {})(), Object.assign(Object.create({ key: "inherited" }), { user: "u" })]) {
      expect(readCommonOptions(odd)).toBeUndefined();
    }
  });
});
