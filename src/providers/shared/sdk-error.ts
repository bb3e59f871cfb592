/**
 * `instanceof` cannot be trusted across copies of an SDK: a `client` built from the SDK's ESM
 * build throws classes other than those of the CommonJS build modelgate loads (load-peer.ts),
 * and a nested install has its own. So an SDK error is recognised by its class name anywhere
 * up its prototype chain. The type parameter is the SDK class, for narrowing.
 */
export function isSdkError<T extends Error>(error: unknown, className: string): error is T {
  if (!(error instanceof Error)) return false;
  let prototype: unknown = Object.getPrototypeOf(error);
  for (let depth = 0; depth < 8 && typeof prototype === "object" && prototype !== null; depth++) {
    if ((prototype as { constructor?: { name?: unknown } }).constructor?.name === className) return true;
    prototype = Object.getPrototypeOf(prototype);
  }
  return false;
}
