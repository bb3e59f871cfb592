import { describe, expect, it } from "vitest";
import { fromOpenAIChunk, fromOpenAIResponse } from "../src/providers/openai/from-openai-response.js";
import { readCommonChunk, readCommonCompletion } from "../src/providers/openai/read-common-payload.js";
import {
  deepseekReasonerEvents,
  geminiOpenAIToolCallEvents,
  geminiOpenAIToolCallJson,
  groqReasoningEvents,
  mistralThinkingEvents,
  mistralThinkingJson,
  noUsageEvents,
  openaiFullEvents,
  openaiFullJson,
  xaiReasoningEvents,
  xaiReasoningJson,
} from "./fakes/vendor-payloads.js";

/*
 * The fast reader must map every answer it accepts exactly as the zod schemas do. Each payload
 * below, and every variant with one value replaced (by null, a wrong type, a negative count,
 * removed...), goes through the adapter's mapping twice: as it is (the fast path, when it
 * accepts) and with an extra top-level key the fast path does not know (which sends it to the
 * schemas, which strip that key). Both must give the same response, or the same error.
 */

const FORCE_SCHEMA = "x_force_schema";

/** OpenAI's plain answer as the SDK hands it over (what the fake server sends). */
function openaiPlainJson(): Record<string, unknown> {
  return {
    id: "chatcmpl-plain",
    object: "chat.completion",
    created: 1_767_000_000,
    model: "gpt-4o-mini-2024-07-18",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: "Sure: returns take 3-5 days.", refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
    usage: {
      prompt_tokens: 512,
      completion_tokens: 9,
      total_tokens: 521,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
    service_tier: "default",
    system_fingerprint: "fp_1",
  };
}

function openaiToolCallsJson(): Record<string, unknown> {
  const json = openaiPlainJson();
  (json.choices as Record<string, unknown>[])[0] = {
    index: 0,
    message: {
      role: "assistant",
      content: null,
      refusal: null,
      annotations: [],
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
        { id: "call_2", type: "function", function: { name: "time", arguments: "{}" } },
      ],
    },
    logprobs: null,
    finish_reason: "tool_calls",
  };
  return json;
}

function openaiPlainEvents(): unknown[] {
  const base = { id: "chatcmpl-s", object: "chat.completion.chunk", created: 1_767_000_000, model: "gpt-4o-mini", service_tier: "default", system_fingerprint: "fp_1" };
  return [
    { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }], usage: null, obfuscation: "a1" },
    { ...base, choices: [{ index: 0, delta: { content: "Sure" }, logprobs: null, finish_reason: null }], usage: null, obfuscation: "b2c" },
    {
      ...base,
      choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: "" } }] }, logprobs: null, finish_reason: null }],
      usage: null,
    },
    { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, logprobs: null, finish_reason: null }], usage: null },
    { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }], usage: null },
    { ...base, choices: [], usage: openaiPlainJson().usage },
  ];
}

const completions: Record<string, () => Record<string, unknown>> = {
  openaiPlainJson,
  openaiToolCallsJson,
  openaiFullJson,
  xaiReasoningJson,
  geminiOpenAIToolCallJson,
  mistralThinkingJson,
};

const streams: Record<string, () => unknown[]> = {
  openaiPlainEvents,
  openaiFullEvents,
  groqReasoningEvents,
  deepseekReasonerEvents,
  geminiOpenAIToolCallEvents,
  noUsageEvents,
  xaiReasoningEvents,
  mistralThinkingEvents,
};

const REPLACEMENTS: unknown[] = [null, -1, 0, 1.5, 7, "", "text", true, [], {}, [{}], { name: "x" }];
const REMOVED = Symbol("removed");

/** Every variant of `payload` with one value (at any depth) replaced or removed. */
function* variants(payload: unknown): Generator<unknown> {
  if (typeof payload !== "object" || payload === null) return;
  const entries: [string | number, unknown][] = Array.isArray(payload) ? payload.map((value, index) => [index, value]) : Object.entries(payload);
  for (const [key, value] of entries) {
    for (const replacement of [...REPLACEMENTS, REMOVED]) yield withValue(payload, key, replacement);
    for (const inner of variants(value)) yield withValue(payload, key, inner);
  }
}

function withValue(payload: object, key: string | number, value: unknown): unknown {
  const copy = (Array.isArray(payload) ? [...payload] : { ...payload }) as Record<string | number, unknown>;
  if (value === REMOVED) {
    if (Array.isArray(copy)) (copy as unknown[]).splice(Number(key), 1);
    else delete copy[key];
  } else copy[key] = value;
  return copy;
}

/** The mapping's result or its error message, as JSON (tool-call ids made from a random seed hidden). */
function outcome(read: () => unknown): string {
  try {
    const value = read();
    return JSON.stringify({ value: value === undefined ? "(none)" : value }).replace(/call_[0-9a-f]{24}/g, "call_made");
  } catch (error) {
    return JSON.stringify({ error: error instanceof Error ? error.message : String(error) });
  }
}

function viaSchemas(payload: unknown): unknown {
  return typeof payload === "object" && payload !== null && !Array.isArray(payload) ? { ...payload, [FORCE_SCHEMA]: 1 } : payload;
}

describe("the fast reader of OpenAI answers maps what it accepts as the schemas do", () => {
  it("accepts OpenAI's plain answers and chunks (the hot path), and leaves an unknown key to the schemas", () => {
    for (const payload of [openaiPlainJson(), openaiToolCallsJson()]) {
      expect(readCommonCompletion(payload)).toBeDefined();
      expect(readCommonCompletion(viaSchemas(payload))).toBeUndefined();
    }
    for (const payload of openaiPlainEvents()) {
      expect(readCommonChunk(payload)).toBeDefined();
      expect(readCommonChunk(viaSchemas(payload))).toBeUndefined();
    }
  });

  for (const [name, build] of Object.entries(completions)) {
    it(`completion ${name} and every one-value variant of it`, () => {
      let checked = 0;
      for (const payload of [build(), ...variants(build())]) {
        const fast = outcome(() => fromOpenAIResponse(payload, "fallback-model", "openai"));
        const slow = outcome(() => fromOpenAIResponse(viaSchemas(payload), "fallback-model", "openai"));
        if (fast !== slow) expect({ payload, fast }).toEqual({ payload, fast: slow });
        checked++;
      }
      expect(checked).toBeGreaterThan(20);
    });
  }

  for (const [name, build] of Object.entries(streams)) {
    it(`stream ${name}: every chunk and every one-value variant of it`, () => {
      for (const chunk of build()) {
        for (const payload of [chunk, ...variants(chunk)]) {
          const fast = outcome(() => fromOpenAIChunk(payload, "fallback-model", "openai", "seed"));
          const slow = outcome(() => fromOpenAIChunk(viaSchemas(payload), "fallback-model", "openai", "seed"));
          if (fast !== slow) expect({ payload, fast }).toEqual({ payload, fast: slow });
        }
      }
    });
  }
});
