import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { AbortError, createGateway, GatewayClosedError, TimeoutError, type ChatStream } from "../src/index.js";
import { mockProvider } from "../src/testing.js";

const ask = { model: "m", messages: [{ role: "user" as const, content: "hi" }] };
const listeners = (signal: AbortSignal): number => getEventListeners(signal, "abort").length;

describe("a call's link to its caller's signal", () => {
  it("a long-lived signal reused for many calls (plain, failed, streamed, hedged) keeps no listener after them", async () => {
    const gateway = createGateway({
      providers: { p: mockProvider({ reply: "ok" }), slow: mockProvider({ reply: "slow", latencyMs: 40 }) },
      models: { m: "p/x", broken: "p/missing", hedged: { deployments: ["slow/s", "p/x"], hedge: { afterMs: 1, budgetPercent: 100 } } },
    });
    const signal = new AbortController().signal;
    for (let call = 0; call < 20; call++) await gateway.chat(ask, { signal });
    await Promise.all(Array.from({ length: 20 }, () => gateway.chat(ask, { signal })));
    await gateway.chat({ ...ask, model: "hedged" }, { signal });
    const stream = (await gateway.chat({ ...ask, stream: true }, { signal })) as ChatStream;
    // A stream keeps its link until it settles: an abort must still reach it.
    expect(listeners(signal)).toBeGreaterThan(0);
    for await (const _chunk of stream) void _chunk;
    await stream.finalResponse();
    await expect(gateway.chat({ ...ask, model: "nope" }, { signal })).rejects.toThrow();
    expect(listeners(signal)).toBe(0);
    await gateway.close();
  });

  it("the caller's abort rejects the call in flight with AbortError, or with the caller's GatewayError reason", async () => {
    const gateway = createGateway({ providers: { p: mockProvider({ latencyMs: 60_000 }) }, models: { m: "p/x" } });
    const caller = new AbortController();
    const pending = gateway.chat(ask, { signal: caller.signal });
    setTimeout(() => caller.abort(), 5);
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    expect(listeners(caller.signal)).toBe(0);
    const typed = new AbortController();
    const reason = new TimeoutError(7);
    const second = gateway.chat(ask, { signal: typed.signal });
    setTimeout(() => typed.abort(reason), 5);
    await expect(second).rejects.toBe(reason);
    await gateway.close();
  });

  it("close() aborts a call in flight that carries a caller's signal, and leaves no listener on that signal", async () => {
    const gateway = createGateway({ providers: { p: mockProvider({ latencyMs: 60_000 }) }, models: { m: "p/x" } });
    const signal = new AbortController().signal;
    const pending = gateway.chat(ask, { signal });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await gateway.close();
    await expect(pending).rejects.toBeInstanceOf(GatewayClosedError);
    expect(listeners(signal)).toBe(0);
  });
});
