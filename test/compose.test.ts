import { describe, expect, it } from "vitest";
import { compose, type Middleware } from "../src/core/compose.js";

interface Trace {
  steps: string[];
}

const named =
  (name: string): Middleware<Trace> =>
  async (ctx, next) => {
    ctx.steps.push(`${name}:before`);
    await next();
    ctx.steps.push(`${name}:after`);
  };

describe("compose", () => {
  it("runs middleware as an onion in registration order, the handler in the middle", async () => {
    const run = compose<Trace>([named("a"), named("b")], async (ctx) => {
      ctx.steps.push("handler");
    });
    const ctx: Trace = { steps: [] };
    await run(ctx);
    expect(ctx.steps).toEqual(["a:before", "b:before", "handler", "b:after", "a:after"]);
  });

  it("rejects a second next() in one middleware and never runs the rest twice", async () => {
    let handlerRuns = 0;
    const twice: Middleware<Trace> = async (_ctx, next) => {
      await next();
      await next();
    };
    const run = compose<Trace>([named("outer"), twice, named("inner")], async () => {
      handlerRuns++;
    });
    const ctx: Trace = { steps: [] };
    await expect(run(ctx)).rejects.toThrow(/next\(\) called more than once in middleware #1/);
    expect(handlerRuns).toBe(1);
    expect(ctx.steps.filter((step) => step === "inner:before")).toHaveLength(1);
  });

  it("propagates a handler's error out through every middleware, which may see it", async () => {
    const seen: unknown[] = [];
    const watcher: Middleware<Trace> = async (_ctx, next) => {
      try {
        await next();
      } catch (error) {
        seen.push(error);
        throw error;
      }
    };
    const failure = new Error("upstream down");
    const run = compose<Trace>([watcher, named("inner")], async () => {
      throw failure;
    });
    const ctx: Trace = { steps: [] };
    await expect(run(ctx)).rejects.toBe(failure);
    expect(seen).toEqual([failure]);
    // The inner middleware's code after next() did not run: the error unwound it.
    expect(ctx.steps).toEqual(["inner:before"]);
  });

  it("lets an outer middleware recover from an inner failure", async () => {
    const recover: Middleware<Trace> = async (ctx, next) => {
      await next().catch(() => ctx.steps.push("recovered"));
    };
    const run = compose<Trace>([recover], async () => {
      throw new Error("boom");
    });
    const ctx: Trace = { steps: [] };
    await run(ctx);
    expect(ctx.steps).toEqual(["recovered"]);
  });

  it("turns a middleware that throws synchronously into a rejection", async () => {
    const sync = ((): never => {
      throw new Error("sync");
    }) as unknown as Middleware<Trace>;
    const run = compose<Trace>([sync], async () => {});
    const result = run({ steps: [] });
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toThrow("sync");
  });

  it("lets a middleware short-circuit: without next() the handler does not run", async () => {
    let handlerRuns = 0;
    const run = compose<Trace>([async () => {}], async () => {
      handlerRuns++;
    });
    await run({ steps: [] });
    expect(handlerRuns).toBe(0);
  });

  it("keeps each run's next() count apart", async () => {
    const run = compose<Trace>([named("a")], async () => {});
    await run({ steps: [] });
    await expect(run({ steps: [] })).resolves.toBeUndefined();
  });
});
