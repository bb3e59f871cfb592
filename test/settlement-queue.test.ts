import { describe, expect, it } from "vitest";
import { SettlementQueue } from "../src/stores/redis/settlement-queue.js";
import type { BudgetCounter } from "../src/stores/store.js";

const counter = (key: string): BudgetCounter => ({ key, limitUsd: 1, expiresAt: Number.POSITIVE_INFINITY });

/** Drains the queue as Redis would apply it: each id once per counter, summing nanodollars. */
function applyAll(queue: SettlementQueue): Map<string, number> {
  const applied = new Map<string, Set<string>>();
  const spent = new Map<string, number>();
  for (let batch = queue.next(Date.now()); batch; batch = queue.next(Date.now())) {
    const seen = applied.get(batch.counter.key) ?? new Set<string>();
    applied.set(batch.counter.key, seen);
    for (const [id, nano] of batch.pairs) {
      if (seen.has(id)) continue;
      seen.add(id);
      spent.set(batch.counter.key, (spent.get(batch.counter.key) ?? 0) + Number(nano));
    }
    queue.delivered(batch);
  }
  return spent;
}

describe("SettlementQueue", () => {
  it("keeps one entry per (call, counter), batched per counter", () => {
    const queue = new SettlementQueue(100, () => undefined);
    for (let index = 0; index < 10; index++) queue.add(`r${index}`, [counter("a"), counter("b")], "100");
    expect(queue.counts).toEqual({ pending: 20, folded: 0 });
    const batch = queue.next(Date.now())!;
    expect(batch.pairs).toHaveLength(10);
    expect(Object.fromEntries(applyAll(queue))).toEqual({ a: 1_000, b: 1_000 });
    expect(queue.isEmpty).toBe(true);
  });

  it("past its bound folds costs into one total per counter: none lost, each fold told and counted", () => {
    const folds: string[] = [];
    const queue = new SettlementQueue(5, (key) => folds.push(key));
    for (let index = 0; index < 12; index++) queue.add(`r${index}`, [counter("a")], "7");
    expect(folds).toEqual(Array.from({ length: 7 }, () => "a"));
    expect(queue.counts).toEqual({ pending: 6, folded: 7 });
    expect(applyAll(queue).get("a")).toBe(12 * 7);
    expect(queue.counts.pending).toBe(0);
  });

  it("delivers a folded total under its own id, and what folds afterwards under a new one", () => {
    const queue = new SettlementQueue(1, () => undefined);
    queue.add("kept", [counter("a")], "1");
    queue.add("folded-1", [counter("a")], "10");
    const first = queue.next(Date.now())!;
    // More folds while the first batch is in flight: they must not ride on its (now used) id.
    queue.add("folded-2", [counter("a")], "100");
    queue.delivered(first);
    const second = queue.next(Date.now())!;
    const firstIds = new Set(first.pairs.map(([id]) => id));
    expect(second.pairs.some(([id]) => firstIds.has(id))).toBe(false);
    expect(second.pairs.reduce((sum, [, nano]) => sum + Number(nano), 0)).toBe(100);
  });

  it("forgets a counter past its expiry (Redis forgot it too)", () => {
    const queue = new SettlementQueue(10, () => undefined);
    queue.add("r", [{ key: "old", limitUsd: 1, expiresAt: Date.now() - 1 }], "5");
    expect(queue.next(Date.now())).toBeUndefined();
    expect(queue.counts.pending).toBe(0);
  });
});
