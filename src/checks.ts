/**
 * `modelgate/checks`: ready-made `accept` checks for cascade routes.
 *
 * @example
 * import { validJson } from "modelgate/checks";
 * models: { answer: { strategy: "cascade", deployments: ["openai/gpt-4o-mini", "openai/gpt-4o"], accept: validJson() } }
 */
export { validJson, matchesRegex, minLength, hasToolCall } from "./checks/text-checks.js";
export { matchesJsonSchema } from "./checks/json-schema-check.js";
export { judge, type JudgeOptions } from "./checks/judge.js";
export type { AcceptCheck, CheckContext } from "./core/cascade-types.js";
