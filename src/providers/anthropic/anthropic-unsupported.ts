import type { ChatRequest } from "../../core/chat-request.js";
import type { Issue } from "../../core/errors.js";
import { textOnly, unsupportedIssues, type UnsupportedRules } from "../../providers/shared/unsupported-fields.js";

/** Free-form (grammar-constrained) tool input has no Anthropic counterpart: its tools take JSON arguments. */
const CUSTOM_TOOLS = "Anthropic tools take JSON arguments, not free-form custom tool input";

const NO_LOGPROBS = "the Messages API returns no log probabilities";

/**
 * What the Messages API cannot express. Accepted and not sent, on purpose, because they do not
 * change the answer: `prompt_cache_key`, `prompt_cache_retention`, `prompt_cache_options` and
 * parts' `prompt_cache_breakpoint` (OpenAI's cache hints; Anthropic caches by `cache_control`),
 * `store: false`, `service_tier` auto/default. `n` > 1 is served by fan-out (the adapter).
 */
export const ANTHROPIC_UNSUPPORTED: UnsupportedRules = {
  provider: "anthropic",
  fields: [
    { field: "seed", why: "Anthropic has no deterministic sampling seed" },
    { field: "presence_penalty", harmless: (value) => value === 0, why: "Anthropic has no presence penalty" },
    { field: "frequency_penalty", harmless: (value) => value === 0, why: "Anthropic has no frequency penalty" },
    { field: "logit_bias", why: "Anthropic has no logit bias" },
    { field: "logprobs", harmless: (value) => value === false, why: NO_LOGPROBS },
    { field: "top_logprobs", harmless: (value) => value === 0, why: NO_LOGPROBS },
    { field: "verbosity", why: "Anthropic has no verbosity control" },
    { field: "metadata", why: "Anthropic metadata only carries a user id (use `user` or `safety_identifier`)" },
    { field: "store", harmless: (value) => value === false, why: "Anthropic does not store completions for later retrieval" },
    {
      field: "service_tier",
      harmless: (value) => value === "auto" || value === "default",
      why: "Anthropic's tiers are not OpenAI's flex, scale or priority",
    },
    { field: "modalities", harmless: textOnly, why: "Anthropic answers in text only" },
    { field: "audio", why: "Anthropic answers in text only" },
    { field: "prediction", why: "Anthropic has no predicted outputs" },
    { field: "web_search_options", why: "Anthropic's web search is a server tool, not mapped from OpenAI's option" },
    { field: "moderation", why: "Anthropic runs no OpenAI moderation policy" },
    { field: "functions", why: "the deprecated functions field is not mapped: use tools" },
    { field: "function_call", why: "the deprecated function_call field is not mapped: use tool_choice" },
    { field: "extra_body", why: "extra_body is passed to OpenAI-compatible servers only" },
  ],
  messageFields: [
    { field: "audio", why: "Anthropic cannot replay an audio answer" },
    { field: "function_call", why: "the deprecated function_call is not mapped: use tool_calls" },
  ],
  roles: { function: "the deprecated function role is not mapped: use tool messages" },
  partTypes: {
    input_audio: "Anthropic reads no audio",
    file: "OpenAI file parts are not mapped to Anthropic documents",
  },
  partFields: [],
  toolFields: [],
  toolTypes: { custom: CUSTOM_TOOLS },
  toolCallTypes: { custom: CUSTOM_TOOLS },
  toolChoiceTypes: { custom: CUSTOM_TOOLS },
};

/** Issues for every field of `request` the Messages API cannot express (empty when it can serve it). */
export function anthropicUnsupported(request: ChatRequest): Issue[] {
  return unsupportedIssues(request, ANTHROPIC_UNSUPPORTED);
}
