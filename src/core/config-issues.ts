import type { z } from "zod";
import type { Issue } from "./errors.js";
import { echo } from "./echo.js";

/** Segments of a path shown at most: a path through input 10,000 levels deep is not a message. */
const MAX_PATH_SEGMENTS = 24;

/** `["models", "smart", "deployments", 1, "provider"]` -> `models.smart.deployments[1].provider` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  const shown = path.length > MAX_PATH_SEGMENTS ? [...path.slice(0, MAX_PATH_SEGMENTS / 2), "...", ...path.slice(-MAX_PATH_SEGMENTS / 2)] : path;
  for (const part of shown) {
    // Record keys come from the input: cap them like any echoed value.
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? echo(String(part), 60) : `.${echo(String(part), 60)}`;
  }
  return out;
}

/** zod issues rendered for a human: one path, one sentence saying what was expected. */
export function toIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): Issue[] {
  const issues: Issue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // A union lists every branch's failure; the branch that got furthest (an object whose
      // fields were checked, not "expected string") names the real problems: report all of them.
      const depth = (branch: readonly z.core.$ZodIssue[]): number => Math.max(0, ...branch.map((entry) => entry.path.length));
      const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
      if (depth(best) > 0) {
        issues.push(...toIssues({ issues: best } as z.ZodError, [...prefix, ...issue.path]));
        continue;
      }
    }
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        issues.push({ path: formatPath([...prefix, ...issue.path, key]), message: "is not a known field" });
      }
      continue;
    }
    issues.push({ path: formatPath([...prefix, ...issue.path]), message: issue.message });
  }
  return issues;
}
