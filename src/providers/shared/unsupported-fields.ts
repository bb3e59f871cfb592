import type { ChatRequest } from "../../core/chat-request.js";
import type { Issue } from "../../core/errors.js";

/** A field a provider cannot express, unless its value asks for nothing (OpenAI's default). */
export interface FieldRule {
  readonly field: string;
  /** True for a value that asks for nothing, so it passes (clients often send `logprobs: false`). */
  readonly harmless?: (value: unknown) => boolean;
  readonly why: string;
}

/** What one provider refuses, walked once over a request before anything is translated. */
export interface UnsupportedRules {
  readonly provider: string;
  /** Top-level request fields. */
  readonly fields: readonly FieldRule[];
  /** Fields of any message. */
  readonly messageFields: readonly FieldRule[];
  /** Message roles the provider has no turn for, with why. */
  readonly roles: Readonly<Record<string, string>>;
  /** Content part types the provider cannot read, with why. */
  readonly partTypes: Readonly<Record<string, string>>;
  /** Fields of any content part. */
  readonly partFields: readonly FieldRule[];
  /** Fields of any tool beside `type` and `function`. */
  readonly toolFields: readonly FieldRule[];
  /** Tool types the provider cannot declare (`custom`), with why. */
  readonly toolTypes: Readonly<Record<string, string>>;
  /** Kinds of assistant `tool_calls` the provider cannot replay (`custom`), with why. */
  readonly toolCallTypes: Readonly<Record<string, string>>;
  /** Object `tool_choice` types the provider cannot express (`custom`), with why. */
  readonly toolChoiceTypes: Readonly<Record<string, string>>;
}

/**
 * Every place the request asks for something the provider cannot serve, each naming the field
 * and the provider, so the router can try a deployment that can and the caller learns what to drop.
 */
export function unsupportedIssues(request: ChatRequest, rules: UnsupportedRules): Issue[] {
  const issues: Issue[] = [];
  check(request as unknown as Record<string, unknown>, "", rules.fields, rules.provider, issues);
  request.messages.forEach((message, index) => {
    const path = `messages[${index}]`;
    const roleWhy = rules.roles[message.role];
    if (roleWhy !== undefined) {
      issues.push({ path: `${path}.role`, message: `${rules.provider} cannot serve '${message.role}' messages: ${roleWhy}` });
      return;
    }
    check(message as unknown as Record<string, unknown>, `${path}.`, rules.messageFields, rules.provider, issues);
    if (message.role === "assistant") {
      message.tool_calls?.forEach((call, callIndex) => {
        const callWhy = rules.toolCallTypes[call.type];
        if (callWhy !== undefined) {
          issues.push({ path: `${path}.tool_calls[${callIndex}].type`, message: `${rules.provider} cannot serve '${call.type}' tool calls: ${callWhy}` });
        }
      });
    }
    if (!Array.isArray(message.content)) return;
    message.content.forEach((part, partIndex) => {
      const partPath = `${path}.content[${partIndex}]`;
      const partWhy = rules.partTypes[part.type];
      if (partWhy !== undefined) {
        issues.push({ path: `${partPath}.type`, message: `${rules.provider} cannot serve '${part.type}' parts: ${partWhy}` });
        return;
      }
      check(part as unknown as Record<string, unknown>, `${partPath}.`, rules.partFields, rules.provider, issues);
    });
  });
  request.tools?.forEach((tool, index) => {
    const toolWhy = rules.toolTypes[tool.type];
    if (toolWhy !== undefined) {
      issues.push({ path: `tools[${index}].type`, message: `${rules.provider} cannot serve '${tool.type}' tools: ${toolWhy}` });
      return;
    }
    check(tool as unknown as Record<string, unknown>, `tools[${index}].`, rules.toolFields, rules.provider, issues);
  });
  const choice = request.tool_choice;
  if (typeof choice === "object") {
    const choiceWhy = rules.toolChoiceTypes[choice.type];
    if (choiceWhy !== undefined) {
      issues.push({ path: "tool_choice.type", message: `${rules.provider} cannot serve tool_choice '${choice.type}': ${choiceWhy}` });
    }
  }
  return issues;
}

function check(object: Record<string, unknown>, prefix: string, rules: readonly FieldRule[], provider: string, issues: Issue[]): void {
  for (const { field, harmless, why } of rules) {
    const value = object[field];
    if (value === undefined || value === null || harmless?.(value)) continue;
    issues.push({ path: `${prefix}${field}`, message: `${provider} cannot serve ${field}: ${why}` });
  }
}

/** `modalities` that ask for text only. */
export function textOnly(value: unknown): boolean {
  return Array.isArray(value) && value.every((modality) => modality === "text");
}
