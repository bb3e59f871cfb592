/**
 * JSON with object keys sorted at every depth, so two requests that differ only in key order
 * (e.g. a tool's JSON schema written `{b, a}` vs `{a, b}`) serialize, and so hash, the same.
 * `undefined` members are dropped as `JSON.stringify` drops them; strings are escaped by
 * `JSON.stringify` itself (native, and the only part that must be exactly JSON).
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "object":
      if (value === null) return "null";
      if (Array.isArray(value)) return canonicalArray(value);
      return canonicalObject(value as Record<string, unknown>);
    default:
      // undefined, functions, symbols, bigints: absent from the request's JSON form.
      return "null";
  }
}

function canonicalArray(values: readonly unknown[]): string {
  let out = "[";
  for (let index = 0; index < values.length; index++) {
    if (index > 0) out += ",";
    out += canonicalJson(values[index]);
  }
  return out + "]";
}

function canonicalObject(object: Record<string, unknown>): string {
  const keys = Object.keys(object).sort();
  let out = "{";
  let first = true;
  for (const key of keys) {
    const member = object[key];
    if (member === undefined) continue;
    out += first ? "" : ",";
    first = false;
    out += JSON.stringify(key) + ":" + canonicalJson(member);
  }
  return out + "}";
}
