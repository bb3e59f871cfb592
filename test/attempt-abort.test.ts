import { describe, expect, it } from "vitest";
import { AttemptAbort } from "../src/routing/attempt-abort.js";
import { TimeoutError } from "../src/core/errors.js";

describe("AttemptAbort builds its signal only when read", () => {
  it("a signal first read after the abort is already aborted, with the attempt's reason", () => {
    const abort = new AttemptAbort();
    const reason = new TimeoutError(5);
    abort.abort(reason);
    expect(abort.abortedWith).toBe(reason);
    expect(abort.signal.aborted).toBe(true);
    expect(abort.signal.reason).toBe(reason);
  });

  it("a signal read before the abort aborts with it, once; race rejects with the first reason", async () => {
    const abort = new AttemptAbort();
    const signal = abort.signal;
    let fired = 0;
    signal.addEventListener("abort", () => fired++);
    const pending = abort.race(new Promise<never>(() => {}));
    const first = new TimeoutError(5);
    abort.abort(first);
    abort.abort(new TimeoutError(9));
    expect(fired).toBe(1);
    expect(signal.reason).toBe(first);
    await expect(pending).rejects.toBe(first);
    await expect(abort.race(Promise.resolve(1))).rejects.toBe(first);
    expect(abort.signal).toBe(signal);
  });

  it("every race in flight rejects on abort, the first and the ones after it; `aborted` read late is rejected too", async () => {
    const abort = new AttemptAbort();
    const first = abort.race(new Promise<never>(() => {}));
    const second = abort.race(new Promise<never>(() => {}));
    const settled = await abort.race(Promise.resolve("third"));
    expect(settled).toBe("third");
    const reason = new TimeoutError(5);
    abort.abort(reason);
    await expect(first).rejects.toBe(reason);
    await expect(second).rejects.toBe(reason);
    await expect(abort.aborted).rejects.toBe(reason);
  });
});
