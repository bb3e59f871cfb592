import { afterEach, describe, expect, it, vi } from "vitest";
import { Outbox } from "../src/core/outbox.js";

function recordingOutbox(options: { lingerMs?: number; batchSize?: number } = {}) {
  const batches: number[][] = [];
  const outbox = new Outbox<number>({
    deliver: (items) => {
      batches.push([...items]);
      return items.length;
    },
    maxPending: 100,
    minRetryMs: 10,
    maxRetryMs: 100,
    batchSize: options.batchSize ?? 10,
    ...(options.lingerMs === undefined ? {} : { lingerMs: options.lingerMs }),
  });
  return { outbox, batches };
}

describe("Outbox", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("delivers a burst in the next microtask without a linger", async () => {
    const { outbox, batches } = recordingOutbox();
    outbox.push(1);
    outbox.push(2);
    await Promise.resolve();
    await Promise.resolve();
    expect(batches).toEqual([[1, 2]]);
  });

  it("with lingerMs, items pushed apart in time share one delivery", async () => {
    vi.useFakeTimers();
    const { outbox, batches } = recordingOutbox({ lingerMs: 20 });
    outbox.push(1);
    await vi.advanceTimersByTimeAsync(5);
    outbox.push(2);
    await vi.advanceTimersByTimeAsync(5);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(10);
    expect(batches).toEqual([[1, 2]]);
  });

  it("with lingerMs, a full batch goes at once and flush() does not wait", async () => {
    vi.useFakeTimers();
    const { outbox, batches } = recordingOutbox({ lingerMs: 1_000, batchSize: 3 });
    outbox.push(1);
    outbox.push(2);
    outbox.push(3);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[1, 2, 3]]);
    outbox.push(4);
    await outbox.flush();
    expect(batches).toEqual([[1, 2, 3], [4]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("close() delivers what lingers", async () => {
    vi.useFakeTimers();
    const { outbox, batches } = recordingOutbox({ lingerMs: 1_000 });
    outbox.push(7);
    await outbox.close();
    expect(batches).toEqual([[7]]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
