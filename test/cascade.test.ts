import { describe, expect, it } from "vitest";
import { ConfigError, createGateway, type ChatBody, type ChatStream, type GatewayChatResponse } from "../src/index.js";
import { mockProvider } from "../src/testing.js";
import type { CascadeEvent } from "../src/core/events.js";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { SpendRecord } from "../src/spend/spend-record.js";

const ask = (content = "hello"): Omit<ChatBody, "stream"> => ({ model: "answer", messages: [{ role: "user", content }] });
const usage = { prompt_tokens: 100, completion_tokens: 100, total_tokens: 200 };
const cheapPrice = { input: 1, output: 1 };
const midPrice = { input: 5, output: 5 };
const topPrice = { input: 20, output: 20 };

function threeTiers(replies: [string, string, string], accept: (text: string) => boolean | Promise<boolean>, extra: object = {}) {
  const cheap = mockProvider({ reply: replies[0], usage });
  const mid = mockProvider({ reply: replies[1], usage });
  const top = mockProvider({ reply: replies[2], usage });
  const gateway = createGateway({
    providers: { cheap, mid, top },
    retry: { retries: 1, minDelayMs: 1, maxDelayMs: 5 },
    models: {
      answer: {
        strategy: "cascade",
        deployments: [
          { provider: "cheap", model: "c", price: cheapPrice },
          { provider: "mid", model: "m", price: midPrice },
          { provider: "top", model: "t", price: topPrice },
        ],
        accept: (response) => accept(response.choices[0]!.message.content ?? ""),
      },
    },
    ...extra,
  });
  return { gateway, cheap, mid, top };
}

describe("cascade routes", () => {
  it("returns the first accepted tier and bills every tier tried, once", async () => {
    const { gateway, cheap, mid, top } = threeTiers(["nope", "{\"ok\":1}", "{\"ok\":2}"], (text) => text.startsWith("{"));
    const res = (await gateway.chat(ask())) as GatewayChatResponse;
    expect(res.choices[0]!.message.content).toBe("{\"ok\":1}");
    expect([cheap.calls, mid.calls, top.calls]).toEqual([1, 1, 0]);
    expect(res.gateway.deployment).toBe("mid/m");
    expect(res.gateway.cascade!.accepted).toBe(true);
    expect(res.gateway.cascade!.tiers.map((t) => [t.deployment, t.accepted])).toEqual([["cheap/c", false], ["mid/m", true]]);
    const [c, m] = res.gateway.cascade!.tiers;
    expect(c!.costUsd).toBe(0.0002);
    expect(m!.costUsd).toBe(0.001);
    expect(res.gateway.costUsd).toBe(0.0012);
    const report = await gateway.spend.report({ by: "model" });
    expect(report).toHaveLength(1);
    expect(report[0]!.requests).toBe(1);
    expect(report[0]!.costUsd).toBe(res.gateway.costUsd);
    await gateway.close();
  });

  it("writes one spend record holding the tiers and their summed cost", async () => {
    const records: SpendRecord[] = [];
    const { gateway } = threeTiers(["a", "b", "c"], (text) => text === "c", { spend: { onRecord: (record: SpendRecord) => void records.push(record) } });
    await gateway.chat(ask());
    await gateway.close();
    expect(records).toHaveLength(1);
    expect(records[0]!.costUsd).toBe(0.0052);
    expect(records[0]!.deployment).toBe("top/t");
    expect(records[0]!.cascade!.tiers.map((tier) => [tier.deployment, tier.accepted, tier.costUsd])).toEqual([
      ["cheap/c", false, 0.0002],
      ["mid/m", false, 0.001],
      ["top/t", true, 0.004],
    ]);
  });

  it("returns the last tier's answer with accepted: false when no tier passes", async () => {
    const { gateway, top } = threeTiers(["a", "b", "c"], () => false);
    const res = (await gateway.chat(ask())) as GatewayChatResponse;
    expect(res.choices[0]!.message.content).toBe("c");
    expect(top.calls).toBe(1);
    expect(res.gateway.cascade!.accepted).toBe(false);
    expect(res.gateway.cascade!.tiers).toHaveLength(3);
    expect(res.gateway.costUsd).toBe(0.0052);
    await gateway.close();
  });

  it("treats a check that throws as rejected, reports it, and does not fail the call", async () => {
    const { gateway } = threeTiers(["a", "b", "c"], (text) => {
      if (text === "a") throw new Error("check broke");
      return true;
    });
    const events: CascadeEvent[] = [];
    gateway.on("cascade", (event) => events.push(event));
    const res = (await gateway.chat(ask())) as GatewayChatResponse;
    expect(res.choices[0]!.message.content).toBe("b");
    expect(events[0]!.accepted).toBe(false);
    expect((events[0]!.checkError as Error).message).toBe("check broke");
    expect(events[1]).toMatchObject({ deployment: "mid/m", accepted: true });
    await gateway.close();
  });

  it("retries within a tier and escalates past a tier that fails outright", async () => {
    const { gateway, cheap, mid } = threeTiers(["a", "b", "c"], (text) => text === "b");
    cheap.failNext({ status: 503, times: 5 });
    mid.failNext({ status: 503, times: 1 });
    const res = (await gateway.chat(ask())) as GatewayChatResponse;
    expect(res.choices[0]!.message.content).toBe("b");
    expect(res.gateway.cascade!.tiers[0]).toMatchObject({ deployment: "cheap/c", accepted: false, costUsd: 0, error: "all_failed" });
    expect(mid.calls).toBe(2);
    await gateway.close();
  });

  it("streams an accepted earlier tier by replay and the last tier live", async () => {
    const { gateway, mid, top } = threeTiers(["a", "b", "c"], (text) => text === "b");
    const stream = (await gateway.chat({ ...ask(), stream: true })) as ChatStream;
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("b");
    expect(mid.requests[0]!.stream).toBe(false);
    expect(top.calls).toBe(0);
    const done = await stream.finalResponse();
    expect(done.gateway.cascade!.accepted).toBe(true);

    const none = threeTiers(["a", "b", "c"], () => false);
    const live = (await none.gateway.chat({ ...ask(), stream: true })) as ChatStream;
    let liveText = "";
    for await (const chunk of live) liveText += chunk.choices[0]?.delta.content ?? "";
    expect(liveText).toBe("c");
    expect(none.top.requests[0]!.stream).toBe(true);
    expect(none.cheap.requests[0]!.stream).toBe(false);
    const final = await live.finalResponse();
    expect(final.gateway.cascade!.accepted).toBe(false);
    await gateway.close();
    await none.gateway.close();
  });

  it("reserves the sum of every tier's worst case on a budget", async () => {
    const { gateway } = threeTiers(["a", "b", "c"], () => false, {
      keys: { team: { budget: { usd: 0.022, period: "month" } } },
    });
    // The top tier alone would fit (about 0.02 worst case at 1000 output tokens); the cascade's sum does not.
    await expect(gateway.chat({ ...ask(), max_tokens: 1000 }, { key: "team" })).rejects.toMatchObject({ code: "budget_exceeded" });
    await gateway.close();
  });

  it("shows each tier as a child span of the one call span", async () => {
    const exporter = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer("test");
    const { gateway } = threeTiers(["a", "b", "c"], (text) => text === "b", { telemetry: { tracer } });
    await gateway.chat(ask());
    await gateway.close();
    const spans = exporter.getFinishedSpans();
    const roots = spans.filter((span) => span.parentSpanContext === undefined);
    expect(roots).toHaveLength(1);
    const children = spans.filter((span) => span.parentSpanContext?.spanId === roots[0]!.spanContext().spanId);
    expect(children).toHaveLength(2);
  });

  it("walks the route's fallbacks when no tier answered at all", async () => {
    const backup = mockProvider({ reply: "from backup", usage });
    const g = cascadeWithFallback(backup);
    const fallbacks: { from: string; to: string }[] = [];
    g.gateway.on("fallback", (event) => void fallbacks.push({ from: event.from, to: event.to }));
    const res = (await g.gateway.chat(ask())) as GatewayChatResponse;
    expect(res.choices[0]!.message.content).toBe("from backup");
    expect(res.gateway.deployment).toBe("backup/b");
    expect(res.gateway.cascade!.accepted).toBe(false);
    expect(res.gateway.cascade!.tiers.map((tier) => tier.error)).toEqual(["all_failed", "all_failed"]);
    expect(res.gateway.costUsd).toBe(0.0006);
    expect(fallbacks).toEqual([{ from: "answer", to: "spare" }]);

    const stream = (await g.gateway.chat({ ...ask(), stream: true })) as ChatStream;
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("from backup");
    expect(backup.calls).toBe(2);
    await g.gateway.close();
  });

  it("serves a rejected tier's answer before walking fallbacks", async () => {
    const backup = mockProvider({ reply: "from backup", usage });
    const g = cascadeWithFallback(backup, "cheap answer");
    const res = (await g.gateway.chat(ask())) as GatewayChatResponse;
    expect(res.choices[0]!.message.content).toBe("cheap answer");
    expect(backup.calls).toBe(0);
    await g.gateway.close();
  });

  it("refuses a cascade without accept, naming the field", () => {
    expect(() =>
      createGateway({ providers: { p: mockProvider() }, models: { answer: { strategy: "cascade", deployments: ["p/a", "p/b"] } } }),
    ).toThrow(ConfigError);
    try {
      createGateway({ providers: { p: mockProvider() }, models: { answer: { strategy: "cascade", deployments: ["p/a"], accept: "yes" as never } } });
    } catch (error) {
      expect(JSON.stringify((error as ConfigError).issues)).toContain("models.answer.accept");
    }
  });
});

const failing = () => mockProvider({ fail: { status: 503, times: Infinity } });

/** Two tiers that fail outright (the first unless `cheapReply` is given) and a fallback route `spare`. */
function cascadeWithFallback(backup: ReturnType<typeof mockProvider>, cheapReply?: string) {
  return {
    gateway: createGateway({
      providers: { cheap: cheapReply ? mockProvider({ reply: cheapReply, usage }) : failing(), top: failing(), backup },
      retry: { retries: 0 },
      models: {
        answer: {
          strategy: "cascade",
          deployments: [
            { provider: "cheap", model: "c", price: cheapPrice },
            { provider: "top", model: "t", price: topPrice },
          ],
          accept: () => false,
          fallbacks: ["spare"],
        },
        spare: { deployments: [{ provider: "backup", model: "b", price: { input: 3, output: 3 } }] },
      },
    }),
  };
}
