import { z } from "zod";
import type { AcceptCheck } from "../core/cascade-types.js";
import { answerText, NOT_JSON, parseJson } from "./text-checks.js";

/**
 * Accepts an answer whose text is JSON matching a JSON Schema. The schema is compiled once, with
 * zod's JSON Schema import (zod is already a dependency: no second validator to load).
 */
export function matchesJsonSchema(schema: Record<string, unknown> | boolean): AcceptCheck {
  const validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  return (response) => {
    const value = parseJson(answerText(response));
    return value !== NOT_JSON && validator.safeParse(value).success;
  };
}
