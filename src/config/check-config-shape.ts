import type { Issue } from "../core/errors.js";
import { isPlainObject } from "../core/json-check.js";

/** Sections keyed by names the config chooses: a `__proto__` name there would vanish silently. */
const NAMED_SECTIONS = ["providers", "models", "prices", "keys"] as const;

/** The only top-level field that holds an instance rather than plain settings. */
const INSTANCE_SECTIONS = new Set(["store"]);

/**
 * What the config schema cannot see, checked on the raw config before it is parsed:
 * - a section given as a `Date`, `RegExp`, `Map` or other instance (zod reads those as an
 *   empty object, so the section's settings would silently be defaults);
 * - a `__proto__` entry under a named section or in a key or route entry (zod drops such keys:
 *   a provider, route or key would silently go missing).
 */
export function checkConfigShape(config: unknown): Issue[] {
  if (!isPlainObject(config)) return []; // the schema says what was expected
  const issues: Issue[] = [];
  for (const [section, value] of Object.entries(config)) {
    if (INSTANCE_SECTIONS.has(section)) continue;
    checkPlain(value, section, issues);
  }
  for (const section of NAMED_SECTIONS) {
    const entries = config[section];
    if (!isPlainObject(entries)) continue;
    if (Object.hasOwn(entries, "__proto__")) {
      issues.push({ path: `${section}.__proto__`, message: "'__proto__' cannot be a name: JavaScript objects drop it" });
    }
    if (section === "providers") continue; // adapters are instances
    for (const [name, entry] of Object.entries(entries)) checkPlain(entry, `${section}.${name}`, issues);
  }
  return issues;
}

function checkPlain(value: unknown, path: string, issues: Issue[]): void {
  if (typeof value !== "object" || value === null || Array.isArray(value) || isPlainObject(value)) return;
  const kind = (value as { constructor?: { name?: unknown } }).constructor?.name;
  issues.push({ path, message: `expected a plain object of settings, got ${typeof kind === "string" && kind !== "" ? `a ${kind}` : "an instance"}` });
}
