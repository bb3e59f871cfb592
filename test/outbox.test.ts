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

  it("a synchronous delivery that falls short or throws keeps the rest, in order, for the retry", async () => {
    vi.useFakeTimers();
    const delivered: number[] = [];
    const answers: (number | "throw")[] = [1, "throw", 0];
    const outbox = new Outbox<number>({
      deliver: (items) => {
        const answer = answers.shift() ?? items.length;
        if (answer === "throw") throw new Error("store down");
        delivered.push(...items.slice(0, answer));
        return answer;
      },
      maxPending: 100,
      minRetryMs: 10,
      maxRetryMs: 100,
      batchSize: 10,
    });
    outbox.push(1);
    outbox.push(2);
    outbox.push(3);
    await Promise.resolve();
    expect(delivered).toEqual([1]);
    expect(outbox.size).toBe(2);
    outbox.push(4);
    await vi.advanceTimersByTimeAsync(10); // throws
    await vi.advanceTimersByTimeAsync(20); // delivers none
    expect(delivered).toEqual([1]);
    await vi.advanceTimersByTimeAsync(40);
    expect(delivered).toEqual([1, 2, 3, 4]);
    expect(outbox.size).toBe(0);
    outbox.push(5);
    await outbox.flush();
    expect(delivered).toEqual([1, 2, 3, 4, 5]);
  });

  it("waits for an asynchronous delivery before the next, and flush() waits for it", async () => {
    const delivered: number[][] = [];
    let release!: () => void;
    const outbox = new Outbox<number>({
      deliver: async (items) => {
        await new Promise<void>((resolve) => (release = resolve));
        delivered.push([...items]);
        return items.length;
      },
      maxPending: 100,
      minRetryMs: 10,
      maxRetryMs: 100,
      batchSize: 10,
    });
    outbox.push(1);
    await Promise.resolve();
    outbox.push(2);
    const flushed = outbox.flush();
    await Promise.resolve();
    expect(delivered).toEqual([]);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await flushed;
    expect(delivered).toEqual([[1], [2]]);
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
