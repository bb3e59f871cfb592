import { describe, expect, it } from "vitest";
import { createGateway, memorySpendStore, memoryStore, type StateStore } from "../src/index.js";
import { mockProvider } from "../src/testing.js";

// createGateway owns the `store` it is given: features use it, only the gateway closes it,
// and exactly once, however often close() is called and whichever features share the object.

/** A memory store whose close() counts, with the extra faces a store may have (answers, cooldowns, spend). */
function countingStore(faces: { cache?: boolean; cooldowns?: boolean; spend?: boolean } = {}) {
  const inner = memoryStore();
  const answers = new Map<string, string>();
  const spend = memorySpendStore();
  const counts = { close: 0, cacheWrites: 0, spendAppends: 0 };
  const store: StateStore & Record<string, unknown> = {
    consumeTokens: (draws, now) => inner.consumeTokens(draws, now),
    peekTokens: (draws, now) => inner.peekTokens(draws, now),
    refundTokens: (draws, now) => inner.refundTokens(draws, now),
    reserveBudget: (reservation, counters, now) => inner.reserveBudget(reservation, counters, now),
    settleBudget: (id, counters, actual, now) => inner.settleBudget(id, counters, actual, now),
    async close() {
      counts.close++;
      await inner.close();
    },
  };
  if (faces.cache) {
    Object.assign(store, {
      get: async (key: string) => answers.get(key),
      getEntry: async (key: string) => (answers.has(key) ? { value: answers.get(key)!, ttlMs: 60_000 } : undefined),
      set: async (key: string, value: string) => {
        counts.cacheWrites++;
        answers.set(key, value);
      },
      delete: async (key: string) => void answers.delete(key),
    });
  }
  if (faces.cooldowns) {
    Object.assign(store, { shareCooldowns: () => ({ publish: () => {}, leave: async () => {} }) });
  }
  if (faces.spend) {
    Object.assign(store, {
      append: (records: Parameters<typeof spend.append>[0]) => {
        counts.spendAppends += records.length;
        return spend.append(records);
      },
      report: (query: Parameters<typeof spend.report>[0]) => spend.report(query),
    });
  }
  return { store, counts };
}

const hello = { model: "fast", messages: [{ role: "user" as const, content: "hi" }] };

describe("createGateway owns its store", () => {
  it("closes the store once, however many times close() is called", async () => {
    const { store, counts } = countingStore();
    const gateway = createGateway({ providers: { p: mockProvider() }, models: { fast: "p/x" }, keys: { app: { rpm: 60 } }, store });
    await gateway.chat(hello, { key: "app" });
    expect(counts.close).toBe(0);
    await gateway.close();
    await gateway.close();
    expect(counts.close).toBe(1);
  });

  it("closes it once when close() is called twice at the same time", async () => {
    const { store, counts } = countingStore();
    const gateway = createGateway({ providers: { p: mockProvider() }, models: { fast: "p/x" }, store });
    await Promise.all([gateway.close(), gateway.close()]);
    await gateway.close();
    expect(counts.close).toBe(1);
  });

  it("closes it once when cache, limits, cooldown sharing and spend all use the same object", async () => {
    const { store, counts } = countingStore({ cache: true, cooldowns: true, spend: true });
    const gateway = createGateway({
      providers: { p: mockProvider() },
      models: { fast: "p/x" },
      prices: { x: { input: 1, output: 1 } },
      keys: { app: { rpm: 60, budget: { usd: 10, period: "day" } } },
      cache: {},
      spend: { store: store as never },
      store,
    });
    await gateway.chat(hello, { key: "app" });
    await gateway.chat(hello, { key: "app" });
    // Each face was used, so each feature really holds the object.
    expect(counts.cacheWrites).toBeGreaterThan(0);
    await gateway.close();
    expect(counts.spendAppends).toBeGreaterThan(0);
    await gateway.close();
    expect(counts.close).toBe(1);
  });
});
