import type { ChatRequest } from "../../core/chat-request.js";
import type { Issue } from "../../core/errors.js";
import { textOnly, unsupportedIssues, type UnsupportedRules } from "../../providers/shared/unsupported-fields.js";

/** Free-form (grammar-constrained) tool input has no Gemini counterpart: its tools take JSON arguments. */
const CUSTOM_TOOLS = "Gemini tools take JSON arguments, not free-form custom tool input";

const CONTEXT_CACHING = "Gemini caches through its separate context-caching API, not per-message breakpoints";

/**
 * What a Gemini `generateContent` call cannot express. Accepted and not sent, on purpose, because
 * they do not change the answer: `user`, `safety_identifier`, `metadata`, `prompt_cache_key`,
 * `prompt_cache_retention`, `prompt_cache_options`, parts' `prompt_cache_breakpoint`,
 * `store: false`, `service_tier` auto/default. `n` is sent as `candidateCount` and `logprobs` /
 * `top_logprobs` as `responseLogprobs` / `logprobs` (to-google-request.ts).
 */
export const GOOGLE_UNSUPPORTED: UnsupportedRules = {
  provider: "google",
  fields: [
    { field: "logit_bias", why: "Gemini has no logit bias" },
    { field: "verbosity", why: "Gemini has no verbosity control" },
    { field: "store", harmless: (value) => value === false, why: "Gemini does not store completions for later retrieval" },
    {
      field: "service_tier",
      harmless: (value) => value === "auto" || value === "default",
      why: "Gemini's tiers are not OpenAI's flex, scale or priority",
    },
    { field: "modalities", harmless: textOnly, why: "audio output is not mapped for Gemini" },
    { field: "audio", why: "audio output is not mapped for Gemini" },
    { field: "prediction", why: "Gemini has no predicted outputs" },
    { field: "web_search_options", why: "Gemini's Google Search grounding is a tool, not mapped from OpenAI's option" },
    { field: "moderation", why: "Gemini runs no OpenAI moderation policy" },
    { field: "functions", why: "the deprecated functions field is not mapped: use tools" },
    { field: "function_call", why: "the deprecated function_call field is not mapped: use tool_choice" },
    { field: "extra_body", why: "extra_body is passed to OpenAI-compatible servers only" },
  ],
  messageFields: [
    { field: "cache_control", why: CONTEXT_CACHING },
    { field: "audio", why: "Gemini cannot replay an OpenAI audio answer" },
    { field: "function_call", why: "the deprecated function_call is not mapped: use tool_calls" },
  ],
  roles: { function: "the deprecated function role is not mapped: use tool messages" },
  partTypes: {
    input_audio: "OpenAI audio parts are not mapped to Gemini inline data yet",
    file: "OpenAI file parts are not mapped to Gemini inline data yet",
  },
  partFields: [{ field: "cache_control", why: CONTEXT_CACHING }],
  toolFields: [{ field: "cache_control", why: CONTEXT_CACHING }],
  toolTypes: { custom: CUSTOM_TOOLS },
  toolCallTypes: { custom: CUSTOM_TOOLS },
  toolChoiceTypes: { custom: CUSTOM_TOOLS },
};

/** Issues for every field of `request` Gemini cannot express (empty when it can serve it). */
export function googleUnsupported(request: ChatRequest): Issue[] {
  return unsupportedIssues(request, GOOGLE_UNSUPPORTED);
}
