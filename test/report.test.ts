import { describe, expect, it, vi } from "vitest";
import type { CallContext, CallTrace } from "../src/core/call-context.js";
import { GatewayEvents, type GatewayEventMap } from "../src/core/events.js";
import { announce, report } from "../src/core/report.js";

// The one reporting channel: a payload is built only when someone reads it, listeners and the
// call's trace get the same one, and the trace only hears the moments it records.

const identity = { model: "m", key: undefined, user: undefined, tags: [], stream: false };
const retry = (): GatewayEventMap["retry"] => ({ ...identity, deployment: "d", attempt: 1, delayMs: 5, error: undefined as never });
const hedge = (): GatewayEventMap["hedge"] => ({ ...identity, route: "r", primary: "a", hedge: "b", winner: "b" });

function call(trace?: CallTrace): CallContext {
  return { trace } as unknown as CallContext;
}

describe("report", () => {
  it("builds nothing when nobody listens and there is no trace", () => {
    const build = vi.fn(retry);
    report(new GatewayEvents(), call(), "retry", build);
    expect(build).not.toHaveBeenCalled();
  });

  it("builds once, and hands the same payload to the listener and the trace", () => {
    const events = new GatewayEvents();
    const heard: unknown[] = [];
    events.on("retry", (event) => heard.push(event));
    const traced: unknown[] = [];
    const build = vi.fn(retry);
    report(events, call({ event: (_name, payload) => traced.push(payload) }), "retry", build);
    expect(build).toHaveBeenCalledTimes(1);
    expect(heard).toHaveLength(1);
    expect(traced).toEqual(heard);
    expect(traced[0]).toBe(heard[0]);
  });

  it("feeds the trace even with no listener, for the moments it records", () => {
    const traced: string[] = [];
    report(new GatewayEvents(), call({ event: (name) => traced.push(name) }), "retry", retry);
    expect(traced).toEqual(["retry"]);
  });

  it("keeps the trace out of events it does not record, and builds nothing for a trace alone", () => {
    const event = vi.fn();
    const build = vi.fn(hedge);
    report(new GatewayEvents(), call({ event }), "hedge", build);
    expect(build).not.toHaveBeenCalled();

    const events = new GatewayEvents();
    const heard = vi.fn();
    events.on("hedge", heard);
    report(events, call({ event }), "hedge", build);
    expect(heard).toHaveBeenCalledTimes(1);
    expect(event).not.toHaveBeenCalled();
  });
});

describe("announce", () => {
  it("builds only when someone listens", () => {
    const events = new GatewayEvents();
    const build = vi.fn(hedge);
    announce(events, "hedge", build);
    expect(build).not.toHaveBeenCalled();
    const heard = vi.fn();
    events.on("hedge", heard);
    announce(events, "hedge", build);
    expect(build).toHaveBeenCalledTimes(1);
    expect(heard).toHaveBeenCalledWith(build.mock.results[0]!.value);
  });
});
