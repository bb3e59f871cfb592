import { describe, expect, it, vi } from "vitest";
import { ConfigError, createGateway, type ChatStream, type GatewayChatResponse } from "../src/index.js";
import type { HedgeEvent } from "../src/core/events.js";
import type { HedgePolicy } from "../src/core/cascade-types.js";
import { mockProvider } from "../src/testing.js";

const ask = { model: "fast-answer", messages: [{ role: "user" as const, content: "hi" }] };

function slowAndFast(hedge: HedgePolicy | undefined, slowMs = 5_000) {
  // The slow one answers far later than the hedge delay; latencies only order the two, no
  // assertion depends on how fast the machine is.
  const slow = mockProvider({ reply: "slow", latencyMs: slowMs });
  const fast = mockProvider({ reply: "fast" });
  const gateway = createGateway({
    providers: { slow, fast },
    timeoutMs: 20_000,
    models: { "fast-answer": { deployments: ["slow/s", "fast/f"], ...(hedge ? { hedge } : {}) } },
  });
  return { gateway, slow, fast };
}

describe("hedged requests", () => {
  it("starts a second attempt on the next deployment; the fast one answers and the slow one is aborted", async () => {
    const { gateway, slow, fast } = slowAndFast({ afterMs: 10, budgetPercent: 100 });
    const hedges: HedgeEvent[] = [];
    gateway.on("hedge", (event) => hedges.push(event));
    for (let call = 0; call < 5; call++) {
      const res = (await gateway.chat(ask)) as GatewayChatResponse;
      expect(res.choices[0]!.message.content).toBe("fast");
      expect(res.gateway.deployment).toBe("fast/f");
    }
    expect([slow.calls, fast.calls]).toEqual([5, 5]);
    expect(gateway.stats().hedge).toEqual({ "fast-answer": { calls: 5, hedged: 5, hedgeWon: 5, overBudget: 0 } });
    expect(hedges[0]).toMatchObject({ primary: "slow/s", hedge: "fast/f", winner: "fast/f" });
    // The aborted slow attempts did not count against the slow deployment's health. The loser
    // is cut, not awaited, by the call: its attempt unwinds (in-flight released) just after.
    await vi.waitFor(() => expect(gateway.health().find((d) => d.deployment === "slow/s")).toMatchObject({ coolingForMs: 0, ejections: 0, inFlight: 0 }), {
      timeout: 10_000,
    });
    await gateway.close();
  });

  it("keeps hedges within the budget: at most 10% of the route's calls (at least one)", async () => {
    const { gateway, slow, fast } = slowAndFast({ afterMs: 0 }, 50);
    // afterMs 0: every call wants a hedge, only the budget decides.
    const results = [];
    for (let call = 0; call < 20; call++) results.push(((await gateway.chat(ask)) as GatewayChatResponse).gateway.deployment);
    const stats = gateway.stats().hedge!["fast-answer"]!;
    expect(stats.calls).toBe(20);
    expect(stats.hedged).toBe(2);
    expect(stats.hedged + stats.overBudget).toBe(20);
    // 20 calls cost 22 requests: 10% extra.
    expect(slow.calls + fast.calls).toBe(22);
    expect(results.filter((d) => d === "slow/s").length).toBeGreaterThanOrEqual(18);
    await gateway.close();
  });

  it("without a hedge the slow deployment serves every call", async () => {
    const slow = mockProvider({ reply: "slow", latencyMs: 30 });
    const fast = mockProvider({ reply: "fast" });
    const gateway = createGateway({ providers: { slow, fast }, models: { "fast-answer": { deployments: ["slow/s", "fast/f"] } } });
    const res = (await gateway.chat(ask)) as GatewayChatResponse;
    expect(res.gateway.deployment).toBe("slow/s");
    expect(fast.calls).toBe(0);
    expect(gateway.stats().hedge).toBeUndefined();
    await gateway.close();
  });

  it("hedges a stream that has not sent its first chunk", async () => {
    const { gateway, slow, fast } = slowAndFast({ afterMs: 10, budgetPercent: 100 });
    const stream = (await gateway.chat({ ...ask, stream: true })) as ChatStream;
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("fast");
    expect([slow.calls, fast.calls]).toEqual([1, 1]);
    await gateway.close();
  });

  it("refuses a bad hedge, naming the field", () => {
    try {
      createGateway({ providers: { p: mockProvider() }, models: { a: { deployments: ["p/a", "p/b"], hedge: { afterMs: -1 } } } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect(JSON.stringify((error as ConfigError).issues)).toContain("models.a.hedge");
    }
  });
});

describe("hedge delay", () => {
  it("uses the fixed wait, or the route's percentile once 20 calls are measured", async () => {
    const { hedgeDelay } = await import("../src/routing/hedge.js");
    expect(hedgeDelay({ afterMs: 250 }, [])).toBe(250);
    const latencies = Array.from({ length: 19 }, (_, i) => i + 1);
    expect(hedgeDelay({ afterPercentile: 95 }, latencies)).toBeUndefined();
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(hedgeDelay({ afterPercentile: 95 }, hundred)).toBe(96);
  });
});
