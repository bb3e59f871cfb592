import type { FinishReason } from "../../core/chat-response.js";

/**
 * Anthropic's `stop_reason` in OpenAI's words.
 *
 * | Anthropic | OpenAI |
 * | --- | --- |
 * | `end_turn`, `stop_sequence`, `pause_turn` | `stop` |
 * | `max_tokens`, `model_context_window_exceeded` | `length` |
 * | `tool_use` | `tool_calls` (`stop` when the tool only emulates `response_format`) |
 * | `refusal` | `content_filter` |
 *
 * An unknown reason reads as `stop`: the model did stop, and a new reason must not break callers.
 */
export function mapAnthropicStopReason(
  stopReason: string | null | undefined,
  options: { jsonMode?: boolean } = {},
): FinishReason | null {
  switch (stopReason) {
    case null:
    case undefined:
      return null;
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return options.jsonMode ? "stop" : "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      return "stop";
  }
}
