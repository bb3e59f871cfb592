import { describe, expect, it } from "vitest";
import { createGateway, type GatewayChatResponse } from "../src/index.js";
import { hasToolCall, judge, matchesJsonSchema, matchesRegex, minLength, validJson } from "../src/checks.js";
import type { CheckContext } from "../src/core/cascade-types.js";
import type { ChatResponse } from "../src/core/chat-response.js";
import type { ChatRequest } from "../src/core/chat-request.js";
import { mockProvider } from "../src/testing.js";

const request: ChatRequest = { model: "x", messages: [{ role: "user", content: "q" }] };
const noContext: CheckContext = { chat: () => Promise.reject(new Error("not used")) };
const answer = (content: string | null, tool?: string): ChatResponse => ({
  id: "r",
  object: "chat.completion",
  created: 0,
  model: "m",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content, ...(tool ? { tool_calls: [{ id: "c", type: "function", function: { name: tool, arguments: "{}" } }] } : {}) },
      finish_reason: "stop",
      logprobs: null,
    },
  ],
});
const run = (check: ReturnType<typeof validJson>, response: ChatResponse) => check(response, request, noContext);

describe("modelgate/checks", () => {
  it("validJson accepts JSON, fenced JSON, and rejects prose", async () => {
    expect(await run(validJson(), answer('{"a":1}'))).toBe(true);
    expect(await run(validJson(), answer('```json\n{"a":1}\n```'))).toBe(true);
    expect(await run(validJson(), answer("Sure! {a:1}"))).toBe(false);
    expect(await run(validJson(), answer(null))).toBe(false);
  });

  it("matchesJsonSchema checks types and required fields", async () => {
    const check = matchesJsonSchema({ type: "object", properties: { n: { type: "number" } }, required: ["n"] });
    expect(await run(check, answer('{"n":3}'))).toBe(true);
    expect(await run(check, answer('{"n":"3"}'))).toBe(false);
    expect(await run(check, answer("{}"))).toBe(false);
    expect(await run(check, answer("not json"))).toBe(false);
  });

  it("hasToolCall, matchesRegex and minLength", async () => {
    expect(await run(hasToolCall(), answer(null, "lookup"))).toBe(true);
    expect(await run(hasToolCall("lookup"), answer(null, "other"))).toBe(false);
    expect(await run(hasToolCall(), answer("text"))).toBe(false);
    const re = matchesRegex(/^\d+$/g);
    expect(await run(re, answer("42"))).toBe(true);
    expect(await run(re, answer("42"))).toBe(true);
    expect(await run(re, answer("4x2"))).toBe(false);
    expect(await run(minLength(5), answer("  abc  "))).toBe(false);
    expect(await run(minLength(3), answer("abc"))).toBe(true);
    expect(() => minLength(-1)).toThrow(/minLength/);
  });

  it("judge asks another model through the gateway and adds its cost to the call", async () => {
    const usage = { prompt_tokens: 100, completion_tokens: 100, total_tokens: 200 };
    const cheap = mockProvider({ reply: "short", usage });
    const top = mockProvider({ reply: "a long and careful answer", usage });
    const grader = mockProvider({ reply: (req) => (JSON.stringify(req.messages).includes("careful answer") ? "Yes." : "no"), usage });
    const gateway = createGateway({
      providers: { cheap, top, grader },
      models: {
        grade: { deployments: [{ provider: "grader", model: "g", price: { input: 1, output: 1 } }] },
        answer: {
          strategy: "cascade",
          deployments: [
            { provider: "cheap", model: "c", price: { input: 1, output: 1 } },
            { provider: "top", model: "t", price: { input: 10, output: 10 } },
          ],
          accept: judge({ model: "grade", question: "Is the answer careful?" }),
        },
      },
    });
    const res = (await gateway.chat({ model: "answer", messages: [{ role: "user", content: "q" }] })) as GatewayChatResponse;
    expect(res.choices[0]!.message.content).toBe("a long and careful answer");
    expect(grader.calls).toBe(2);
    expect(grader.requests[0]!.request.max_tokens).toBe(5);
    expect(res.gateway.cascade!.accepted).toBe(true);
    // Tiers 0.0002 + 0.002, two judge calls 0.0002 each.
    expect(res.gateway.costUsd).toBe(0.0026);
    await gateway.close();
  });
});
