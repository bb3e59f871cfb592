import { describe, expect, it } from "vitest";
import { HealthTracker } from "../src/routing/health.js";

/** A tracker on a hand-moved clock and no jitter, so lengths read exactly. */
function tracker() {
  let now = 1_000_000;
  const health = new HealthTracker({ failures: 3, windowMs: 60_000, durationMs: 30_000, maxDurationMs: 300_000 }, () => now, () => 0.5);
  return { health, advance: (ms: number) => (now += ms) };
}

describe("HealthTracker: outlier detection", () => {
  it("a burst of in-flight failures is one ejection, not one per failure", () => {
    const { health } = tracker();
    const tickets = Array.from({ length: 20 }, () => health.begin("d"));
    const ejections = tickets.map((ticket) => health.failure("d", ticket)).filter((ms) => ms !== undefined);
    expect(ejections).toEqual([30_000]);
    expect(health.report([{ id: "d", provider: "p", model: "m" } as never])[0]).toMatchObject({ ejections: 1, coolingForMs: 30_000 });
  });

  it("failures of attempts begun during the cooldown neither extend nor repeat it; a success ends it", () => {
    const { health, advance } = tracker();
    for (let i = 0; i < 3; i++) health.failure("d", health.begin("d"));
    advance(1_000);
    for (let i = 0; i < 5; i++) expect(health.failure("d", health.begin("d"))).toBeUndefined();
    expect(health.unavailableForMs("d")).toBe(29_000);
    health.success("d", 10, health.begin("d"));
    expect(health.unavailableForMs("d")).toBe(0);
  });

  it("grows with ejections in a row, and a success resets the growth", () => {
    const { health, advance } = tracker();
    for (let i = 0; i < 3; i++) health.failure("d", health.begin("d"));
    advance(30_000);
    const probe = health.begin("d");
    expect(probe.probe).toBe(true);
    expect(health.failure("d", probe)).toBe(60_000);
    advance(60_000);
    health.success("d", 10, health.begin("d"));
    for (let i = 0; i < 2; i++) expect(health.failure("d", health.begin("d"))).toBeUndefined();
    expect(health.failure("d", health.begin("d"))).toBe(30_000);
  });

  it("a Retry-After cools without counting as an ejection, and a success does not cut it short", () => {
    const { health } = tracker();
    health.coolFor("d", 1_000);
    health.success("d", 10, health.begin("d"));
    expect(health.unavailableForMs("d")).toBe(1_000);
    expect(health.report([{ id: "d", provider: "p", model: "m" } as never])[0]?.ejections).toBe(0);
  });

  it("one early probe at a time", () => {
    const { health } = tracker();
    const release = health.claimEarlyProbe("d");
    expect(release).toBeTypeOf("function");
    expect(health.claimEarlyProbe("d")).toBeUndefined();
    release!();
    expect(health.claimEarlyProbe("d")).toBeTypeOf("function");
  });
});
