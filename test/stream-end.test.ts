import { describe, expect, it } from "vitest";
import { EndOnceStream, type StreamEnd } from "../src/core/stream-end.js";

class Recorder extends EndOnceStream<number> {
  readonly items: number[] = [];
  readonly ends: StreamEnd[] = [];
  protected override onItem(item: number): void {
    this.items.push(item);
  }
  protected override onEnd(end: StreamEnd): void {
    this.ends.push(end);
  }
}

async function* numbers(count: number, failAt?: number): AsyncGenerator<number> {
  for (let i = 0; i < count; i++) {
    if (i === failAt) throw new Error("cut");
    yield i;
  }
}

describe("EndOnceStream", () => {
  it("ends once when read to the end, and stays done", async () => {
    const stream = new Recorder(numbers(3));
    const seen: number[] = [];
    for await (const item of stream) seen.push(item);
    expect(seen).toEqual([0, 1, 2]);
    expect(stream.items).toEqual([0, 1, 2]);
    expect(stream.ends).toEqual([{ kind: "done" }]);
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
    await stream.return();
    expect(stream.ends).toHaveLength(1);
  });

  it("ends once as failed, with the error, and rethrows it", async () => {
    const stream = new Recorder(numbers(3, 1));
    await stream.next();
    await expect(stream.next()).rejects.toThrow("cut");
    expect(stream.ends).toEqual([{ kind: "failed", error: new Error("cut") }]);
    await stream.return();
    expect(stream.ends).toHaveLength(1);
  });

  it("ends as abandoned when returned before the first next()", async () => {
    let closed = false;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: 1 }),
        return: async () => {
          closed = true;
          return { done: true, value: undefined };
        },
      }),
    };
    const stream = new Recorder(source);
    await stream.return();
    expect(closed).toBe(true);
    expect(stream.ends).toEqual([{ kind: "abandoned" }]);
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
  });
});
