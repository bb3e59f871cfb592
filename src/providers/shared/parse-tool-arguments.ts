/**
 * An assistant tool call's `arguments` (OpenAI sends a JSON string) as the object Anthropic's
 * `tool_use.input` and Gemini's `functionCall.args` require. A blank string reads as `{}`:
 * OpenAI clients send `""` for a function without arguments. Anything but a JSON object
 * (invalid JSON, an array, a number, null) is `undefined`; the caller reports it in its words.
 */
export function parseToolArguments(source: string): Record<string, unknown> | undefined {
  if (source.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch {
    return undefined;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
