/** Calls until the first rejection (at most `bound` calls); returns how many were served. */
export async function serveUntilRejected(call: () => Promise<unknown>, bound: number): Promise<{ served: number; error: unknown }> {
  for (let served = 0; served < bound; served++) {
    try {
      await call();
    } catch (error) {
      return { served, error };
    }
  }
  return { served: bound, error: undefined };
}
