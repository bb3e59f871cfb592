/** A step around the rest of the pipeline: do work, `await next()`, do work after. */
export type Middleware<Context> = (ctx: Context, next: () => Promise<void>) => Promise<void>;

/**
 * Composes middleware into one onion (after Hono's `compose`), once, at `createGateway`.
 * The terminal `handler` runs after the last middleware. Calling `next()` twice in one
 * middleware is a bug that would run the rest of the pipeline twice, so it throws.
 */
export function compose<Context>(
  middleware: readonly Middleware<Context>[],
  handler: (ctx: Context) => Promise<void>,
): (ctx: Context) => Promise<void> {
  const chain = [...middleware];
  return function run(ctx) {
    let lastIndex = -1;
    const dispatch = (index: number): Promise<void> => {
      if (index <= lastIndex) {
        return Promise.reject(new Error(`next() called more than once in middleware #${index - 1}`));
      }
      lastIndex = index;
      const step = chain[index];
      if (step === undefined) return handler(ctx);
      try {
        return step(ctx, () => dispatch(index + 1));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    return dispatch(0);
  };
}
