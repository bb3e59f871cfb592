import { describe, expect, it } from "vitest";
import { backoffDelay } from "../src/routing/backoff.js";

const ALMOST_ONE = 1 - Number.EPSILON;

describe("backoffDelay", () => {
  it("never goes below half its ceiling (no immediate retry), even when the random draw is 0", () => {
    expect(backoffDelay(1, 100, 4_000, () => 0)).toBe(50);
    expect(backoffDelay(2, 100, 4_000, () => 0)).toBe(100);
    expect(backoffDelay(3, 100, 4_000, () => 0)).toBe(200);
  });

  it("doubles its ceiling per retry and never exceeds maxDelayMs", () => {
    expect(backoffDelay(1, 100, 4_000, () => ALMOST_ONE)).toBe(100);
    expect(backoffDelay(2, 100, 4_000, () => ALMOST_ONE)).toBe(200);
    expect(backoffDelay(6, 100, 4_000, () => ALMOST_ONE)).toBe(3_200);
    expect(backoffDelay(7, 100, 4_000, () => ALMOST_ONE)).toBe(4_000);
    expect(backoffDelay(40, 100, 4_000, () => ALMOST_ONE)).toBe(4_000);
    expect(backoffDelay(40, 100, 4_000, () => 0)).toBe(2_000);
  });

  it("spreads delays over [ceiling / 2, ceiling] with the random draw", () => {
    for (let retry = 1; retry <= 8; retry++) {
      const ceiling = Math.min(4_000, 100 * 2 ** (retry - 1));
      for (const draw of [0, 0.1, 0.25, 0.5, 0.75, 0.9, ALMOST_ONE]) {
        const delay = backoffDelay(retry, 100, 4_000, () => draw);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
        expect(delay).toBe(Math.round(ceiling / 2 + draw * (ceiling / 2)));
      }
    }
  });

  it("is zero only when the configured delays are zero", () => {
    expect(backoffDelay(3, 0, 0, () => 0.5)).toBe(0);
  });
});
