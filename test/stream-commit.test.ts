import { afterEach, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../src/index.js";
import { openai } from "../src/openai.js";
import { anthropic } from "../src/anthropic.js";
import { google } from "../src/google.js";
import { startFakeOpenAI } from "./fakes/openai-server.js";
import { startFakeAnthropic } from "./fakes/anthropic-server.js";
import { startFakeGemini } from "./fakes/gemini-server.js";

/**
 * A stream is the caller's from its first chunk that says something (content, a tool call, a
 * refusal), not from a role-only chunk: an error frame before that retries like an HTTP error.
 * Each provider through its real SDK against its fake, scripted with the frame it really sends.
 */
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function readAll(gateway: Gateway, model: string): Promise<{ text: string; attempts: (string | number)[]; roles: number }> {
  const stream = await gateway.chat({ model, stream: true, messages: [{ role: "user", content: "hi" }] });
  let text = "";
  let roles = 0;
  for await (const chunk of stream) {
    for (const choice of chunk.choices) {
      text += choice.delta.content ?? "";
      if (choice.delta.role) roles++;
    }
  }
  const info = (await stream.finalResponse()).gateway;
  return { text, roles, attempts: info.attempts.map((attempt) => attempt.status ?? attempt.errorCode ?? "ok") };
}

describe("errors inside a 200 stream before any content retry", () => {
  it("OpenAI-compatible: data: {error} right after the role chunk", async () => {
    const fake = await startFakeOpenAI();
    closers.push(() => fake.close());
    fake.enqueue({ streamError: { afterChunks: 1, message: "overloaded", type: "server_error" } }, { reply: "fine now" });
    const gateway = createGateway({ providers: { openai: openai({ baseURL: fake.url, apiKey: "test" }) }, retry: { minDelayMs: 1, maxDelayMs: 10 } });
    closers.push(() => gateway.close());
    const result = await readAll(gateway, "openai/gpt-4o-mini");
    expect(result.text).toBe("fine now");
    expect(result.roles).toBe(1); // the failed attempt's role chunk never reached the caller
    expect(result.attempts).toEqual(["provider_error", "ok"]);
    expect(fake.requestCount).toBe(2);
  });

  it("Anthropic: event: error (overloaded_error) after message_start falls back", async () => {
    const fake = await startFakeAnthropic();
    closers.push(() => fake.close());
    fake.setDefault({ kind: "reply", errorAfterEvents: { after: 1, type: "overloaded_error", message: "Overloaded" } });
    const backup = await startFakeOpenAI();
    closers.push(() => backup.close());
    backup.setDefault({ reply: "from backup" });
    const gateway = createGateway({
      providers: { anthropic: anthropic({ baseURL: fake.url, apiKey: "test" }), backup: openai({ baseURL: backup.url, apiKey: "test" }) },
      models: { m: { deployments: ["anthropic/claude-sonnet-4-6", "backup/gpt-4o-mini"] } },
      retry: { retries: 1, minDelayMs: 1, maxDelayMs: 10 },
    });
    closers.push(() => gateway.close());
    const result = await readAll(gateway, "m");
    expect(result.text).toBe("from backup");
    expect(result.roles).toBe(1);
    expect(result.attempts).toEqual(["provider_error", "provider_error", "ok"]);
    expect(fake.requests).toHaveLength(2);
  });

  it("Gemini: an error frame first, then a clean answer on retry", async () => {
    const fake = await startFakeGemini();
    closers.push(() => fake.close());
    fake.enqueue(
      { type: "reply", text: ["a", "b"], errorAfterChunks: { after: 0, error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } } },
      { type: "reply", text: ["fine ", "now"] },
    );
    const gateway = createGateway({ providers: { gemini: google({ baseURL: fake.url, apiKey: "test" }) }, retry: { minDelayMs: 1, maxDelayMs: 10 } });
    closers.push(() => gateway.close());
    const result = await readAll(gateway, "gemini/gemini-2.5-flash");
    expect(result.text).toBe("fine now");
    expect(result.attempts).toEqual([503, "ok"]);
  });

  it("a failure after the first content is the caller's: no retry, an error from the iterator", async () => {
    const fake = await startFakeOpenAI();
    closers.push(() => fake.close());
    fake.enqueue({ reply: "one two three", streamError: { afterChunks: 2, message: "overloaded" } });
    const gateway = createGateway({ providers: { openai: openai({ baseURL: fake.url, apiKey: "test" }) }, retry: { minDelayMs: 1, maxDelayMs: 10 } });
    closers.push(() => gateway.close());
    await expect(readAll(gateway, "openai/gpt-4o-mini")).rejects.toMatchObject({ code: "provider_error" });
    expect(fake.requestCount).toBe(1);
  });
});

describe("a stream that says nothing for a while", () => {
  it("is handed over once many chunks came without content (a reasoning model thinking), not failed as empty", async () => {
    // A custom adapter: a reasoning model's stream maps to many chunks with an empty delta
    // before its first content (its thinking travels in fields the OpenAI shape lacks).
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      id: "c1",
      object: "chat.completion.chunk" as const,
      created: 1,
      model: "thinker",
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    let calls = 0;
    const thinker = {
      name: "thinker",
      async chat(): Promise<never> {
        throw new Error("stream only");
      },
      async *stream() {
        calls++;
        yield chunk({ role: "assistant" });
        for (let index = 0; index < 200; index++) yield chunk({});
        yield chunk({ content: "42" });
        yield chunk({}, "stop");
      },
    };
    const gateway = createGateway({ providers: { thinker: thinker as never }, retry: { retries: 1, minDelayMs: 1, maxDelayMs: 10 } });
    closers.push(() => gateway.close());
    const result = await readAll(gateway, "thinker/deep");
    expect(result.text).toBe("42");
    expect(result.attempts).toEqual(["ok"]);
    expect(calls).toBe(1);
  });
});
