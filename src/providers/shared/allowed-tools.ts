import type { ChatRequest } from "../../core/chat-request.js";
import type { Issue } from "../../core/errors.js";

/**
 * OpenAI's `tool_choice: { type: "allowed_tools", allowed_tools: { mode, tools } }` for a provider
 * without it: the model may call only the listed tools, which is exactly what declaring only those
 * tools asks (OpenAI keeps the full list to keep its prompt cache; the answer is the same). So the
 * request's `tools` shrink to the allowed ones and `tool_choice` becomes the mode (`auto` or
 * `required`). Each entry must name a function declared in `tools`; anything else is an issue
 * naming the entry and the provider. A request without `allowed_tools` comes back as it is.
 */
export function narrowToAllowedTools(request: ChatRequest, provider: string): { request: ChatRequest; issues: Issue[] } {
  const choice = request.tool_choice;
  if (typeof choice !== "object" || choice.type !== "allowed_tools") return { request, issues: [] };
  const issues: Issue[] = [];
  const declared = new Set(request.tools?.flatMap((tool) => (tool.type === "function" ? [tool.function.name] : [])));
  const allowed = new Set<string>();
  choice.allowed_tools.tools.forEach((entry, index) => {
    const name = functionName(entry);
    if (name !== undefined && declared.has(name)) {
      allowed.add(name);
      return;
    }
    issues.push({
      path: `tool_choice.allowed_tools.tools[${index}]`,
      message:
        name === undefined
          ? `${provider} can narrow to function tools only: expected { type: "function", function: { name } }`
          : `${provider} can narrow only to functions declared in tools, and '${name.slice(0, 64)}' is not one`,
    });
  });
  const tools = request.tools?.filter((tool) => tool.type === "function" && allowed.has(tool.function.name));
  return { request: { ...request, tools, tool_choice: choice.allowed_tools.mode }, issues };
}

function functionName(entry: Record<string, unknown>): string | undefined {
  if (entry.type !== "function") return undefined;
  const fn = entry.function;
  if (typeof fn !== "object" || fn === null) return undefined;
  const name = (fn as { name?: unknown }).name;
  return typeof name === "string" ? name : undefined;
}
