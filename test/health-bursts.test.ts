import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../src/index.js";
import { openai } from "../src/openai.js";
import { startFakeOpenAI, type FakeFailure, type FakeOpenAI, type FakeOpenAIScript } from "./fakes/openai-server.js";

/**
 * Bursts of ordinary failures through the real `openai` SDK: each of 20 concurrent calls gets
 * its failures, then the fake would answer. Nothing may lock the deployment out for minutes.
 */
const CALLS = 20;
const ask = (call: number) => ({ model: "m", messages: [{ role: "user" as const, content: `call ${call}` }] });

/** Fails each call's first `times` requests with `failure`, whatever order they arrive in; then answers. */
function failEachCall(times: number, failure: FakeFailure): FakeOpenAIScript {
  const seen = new Map<string, number>();
  return (body) => {
    const key = JSON.stringify(body.messages);
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    return count <= times ? { fail: failure } : {};
  };
}

let fake: FakeOpenAI;
let gateway: Gateway | undefined;
beforeEach(async () => {
  fake = await startFakeOpenAI();
});
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await fake.close();
});

function build(): Gateway {
  // The defaults for retries and cooldown: what an operator gets without tuning.
  gateway = createGateway({ providers: { openai: openai({ baseURL: fake.url, apiKey: "test" }) }, models: { m: "openai/gpt-4o-mini" } });
  return gateway;
}

async function burst(g: Gateway): Promise<{ ok: number; cooldowns: number[] }> {
  const cooldowns: number[] = [];
  g.on("cooldown", (event) => cooldowns.push(event.durationMs));
  const results = await Promise.allSettled(Array.from({ length: CALLS }, (_, call) => g.chat(ask(call))));
  return { ok: results.filter((result) => result.status === "fulfilled").length, cooldowns };
}

describe("bursts do not lock a deployment out", () => {
  it("20 calls that each get one 429 with Retry-After: 1 all succeed; the deployment cools about 1 s", async () => {
    fake.setDefault(failEachCall(1, { status: 429, headers: { "retry-after": "1" } }));
    const g = build();
    const { ok, cooldowns } = await burst(g);
    console.log(`[burst 429] ok=${ok}/${CALLS} cooldowns=${JSON.stringify(cooldowns)} coolingForMs=${g.health()[0]?.coolingForMs}`);
    expect(ok).toBe(CALLS);
    expect(Math.max(0, ...cooldowns)).toBeLessThanOrEqual(1_000);
    expect(g.health()[0]?.coolingForMs).toBe(0);
    expect(fake.requestCount).toBe(2 * CALLS);
  }, 30_000);

  it("20 calls that each get two 503s then would succeed all answer, and no cooldown outlives the burst", async () => {
    fake.setDefault(failEachCall(2, { status: 503, message: "busy" }));
    const g = build();
    const { ok, cooldowns } = await burst(g);
    console.log(`[burst 503] ok=${ok}/${CALLS} cooldowns=${JSON.stringify(cooldowns)} coolingForMs=${g.health()[0]?.coolingForMs} ejections=${g.health()[0]?.ejections}`);
    expect(ok).toBe(CALLS);
    // No growth: every ejection is the first one's length (a loaded machine may spread the burst
    // into two waves, each ejecting once), and the first success ended it.
    for (const ms of cooldowns) expect(ms).toBeLessThanOrEqual(30_000 * 1.1);
    expect(g.health()[0]).toMatchObject({ state: "healthy", coolingForMs: 0, ejections: 0 });
    expect(fake.requestCount).toBe(3 * CALLS);
  }, 30_000);
});
