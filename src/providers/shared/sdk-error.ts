/**
 * `instanceof`, or the same class name up the prototype chain: a `client` built from another
 * copy of the SDK (the ESM and CJS builds of a dual package, a nested install) throws classes
 * the adapter did not import, and a plain `instanceof` would miss them.
 */
export function isSdkError<T extends abstract new (...args: never[]) => Error>(error: unknown, type: T): error is InstanceType<T> {
  if (error instanceof type) return true;
  if (!(error instanceof Error)) return false;
  let prototype: unknown = Object.getPrototypeOf(error);
  for (let depth = 0; depth < 8 && typeof prototype === "object" && prototype !== null; depth++) {
    if ((prototype.constructor as { name?: unknown } | undefined)?.name === type.name) return true;
    prototype = Object.getPrototypeOf(prototype);
  }
  return false;
}
