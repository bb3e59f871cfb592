/**
 * Checks that a caller's value is JSON before anything serializes it: no cycles, bounded
 * depth, only JSON types. `JSON.stringify` would otherwise throw a raw TypeError (a cycle, a
 * BigInt) or RangeError (too deep) somewhere downstream, after validation passed, and on some
 * paths the failure would count against a deployment's health.
 */

/** Deepest nesting accepted in a JSON schema: real ones stay under 20 levels. */
export const MAX_JSON_DEPTH = 64;

export interface JsonProblem {
  /** Where, relative to the value checked. */
  path: (string | number)[];
  message: string;
}

/** The first problem found in `value`, or undefined when it is plain JSON. */
export function jsonProblem(value: unknown, maxDepth: number = MAX_JSON_DEPTH): JsonProblem | undefined {
  const ancestors = new Set<object>();
  const path: (string | number)[] = [];

  const visit = (node: unknown, depth: number): string | undefined => {
    switch (typeof node) {
      case "string":
      case "boolean":
        return undefined;
      case "number":
        return Number.isFinite(node) ? undefined : "expected a finite number (JSON has no NaN or Infinity)";
      case "object":
        break;
      default:
        return `expected JSON, got a ${typeof node}`;
    }
    if (node === null) return undefined;
    if (depth > maxDepth) return `nests deeper than ${maxDepth} levels`;
    if (ancestors.has(node)) return "is circular (refers to an object that contains it)";
    const isArray = Array.isArray(node);
    if (!isArray && !isPlainObject(node)) return `expected a plain JSON object, got ${node.constructor?.name ?? "an object"}`;
    ancestors.add(node);
    try {
      if (isArray) {
        for (let index = 0; index < node.length; index++) {
          path.push(index);
          const problem = visit(node[index], depth + 1);
          if (problem) return problem;
          path.pop();
        }
      } else {
        for (const key of Object.keys(node)) {
          path.push(key);
          const problem = visit((node as Record<string, unknown>)[key], depth + 1);
          if (problem) return problem;
          path.pop();
        }
      }
    } finally {
      ancestors.delete(node);
    }
    return undefined;
  };

  const message = visit(value, 0);
  return message === undefined ? undefined : { path, message };
}

/** An object literal, `JSON.parse` output or `Object.create(null)`: not a Date, Map, RegExp or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
