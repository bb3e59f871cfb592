/**
 * Answers as OpenAI-compatible vendors send them, written from each vendor's API reference
 * (texts and counts invented). Each builder reproduces one documented departure from OpenAI's
 * chat-completions shape; docs/adapters.md lists them per vendor.
 */

const created = 1_767_000_000;

function chunk(id: string, model: string, choices: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, object: "chat.completion.chunk", created, model, choices, ...extra };
}

/** Mistral (magistral): `content` is an array of typed chunks, thinking first. */
export function mistralThinkingJson(): Record<string, unknown> {
  return {
    id: "cmpl-mistral-1",
    object: "chat.completion",
    created,
    model: "magistral-small-2509",
    usage: { prompt_tokens: 9, total_tokens: 40, completion_tokens: 31 },
    choices: [
      {
        index: 0,
        finish_reason: "stop",
        message: {
          role: "assistant",
          tool_calls: null,
          content: [
            { type: "thinking", thinking: [{ type: "text", text: "Three times three " }, { type: "text", text: "is nine." }] },
            { type: "text", text: "3 × 3 " },
            { type: "reference", reference_ids: [1] },
            { type: "text", text: "= 9" },
          ],
        },
      },
    ],
  };
}

/** Mistral streaming: thinking and text as chunk arrays; usage on the finish chunk, no separate usage chunk. */
export function mistralThinkingEvents(): unknown[] {
  const id = "cmpl-mistral-2";
  const model = "magistral-small-2509";
  return [
    chunk(id, model, [{ index: 0, delta: { role: "assistant", content: [{ type: "thinking", thinking: [{ type: "text", text: "Three times " }] }] }, finish_reason: null }]),
    chunk(id, model, [{ index: 0, delta: { content: [{ type: "thinking", thinking: [{ type: "text", text: "three is nine." }] }] }, finish_reason: null }]),
    chunk(id, model, [{ index: 0, delta: { content: [{ type: "text", text: "3 × 3 = 9" }] }, finish_reason: null }]),
    chunk(id, model, [{ index: 0, delta: { content: "" }, finish_reason: "stop" }], {
      usage: { prompt_tokens: 9, total_tokens: 40, completion_tokens: 31 },
    }),
  ];
}

/**
 * xAI (grok reasoning models): `reasoning_content` beside the answer, and usage that counts
 * reasoning in `total_tokens` and `completion_tokens_details.reasoning_tokens` but not in
 * `completion_tokens` (xAI bills it as output).
 */
export const XAI_USAGE = {
  prompt_tokens: 20,
  completion_tokens: 3,
  total_tokens: 523,
  prompt_tokens_details: { text_tokens: 20, audio_tokens: 0, image_tokens: 0, cached_tokens: 8 },
  completion_tokens_details: { reasoning_tokens: 500, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  num_sources_used: 0,
};

export function xaiReasoningJson(): Record<string, unknown> {
  return {
    id: "xai-resp-1",
    object: "chat.completion",
    created,
    model: "grok-3-mini",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: "Blue.", reasoning_content: "The user wants one colour. Blue.", refusal: null },
        finish_reason: "stop",
      },
    ],
    usage: XAI_USAGE,
    system_fingerprint: "fp_grok_fake",
  };
}

export function xaiReasoningEvents(): unknown[] {
  const id = "xai-resp-2";
  const model = "grok-3-mini";
  return [
    chunk(id, model, [{ index: 0, delta: { role: "assistant", reasoning_content: "The user wants " } }]),
    chunk(id, model, [{ index: 0, delta: { reasoning_content: "one colour." } }]),
    chunk(id, model, [{ index: 0, delta: { content: "Blue." } }]),
    chunk(id, model, [{ index: 0, delta: {}, finish_reason: "stop" }]),
    chunk(id, model, [], { usage: XAI_USAGE }),
  ];
}

/** Groq: reasoning in `delta.reasoning`, usage (with timings) on the finish chunk, plus `x_groq`. */
export function groqReasoningEvents(): unknown[] {
  const id = "chatcmpl-groq-1";
  const model = "qwen/qwen3-32b";
  return [
    chunk(id, model, [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }], { x_groq: { id: "req_fake" } }),
    chunk(id, model, [{ index: 0, delta: { reasoning: "Short " }, logprobs: null, finish_reason: null }]),
    chunk(id, model, [{ index: 0, delta: { reasoning: "answer." }, logprobs: null, finish_reason: null }]),
    chunk(id, model, [{ index: 0, delta: { content: "Yes." }, logprobs: null, finish_reason: null }]),
    chunk(id, model, [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }], {
      usage: { queue_time: 0.01, prompt_tokens: 14, prompt_time: 0.001, completion_tokens: 30, completion_time: 0.1, total_tokens: 44, total_time: 0.101, completion_tokens_details: { reasoning_tokens: 25 } },
      x_groq: { id: "req_fake", usage: { prompt_tokens: 14, completion_tokens: 30, total_tokens: 44 } },
    }),
  ];
}

/** DeepSeek (deepseek-reasoner): `reasoning_content` deltas; usage on the finish chunk with its cache-hit counts. */
export function deepseekReasonerEvents(): unknown[] {
  const id = "ds-fake-1";
  const model = "deepseek-reasoner";
  return [
    chunk(id, model, [{ index: 0, delta: { role: "assistant", content: null, reasoning_content: "" }, logprobs: null, finish_reason: null }]),
    chunk(id, model, [{ index: 0, delta: { content: null, reasoning_content: "Add them." }, logprobs: null, finish_reason: null }]),
    chunk(id, model, [{ index: 0, delta: { content: "5", reasoning_content: null }, logprobs: null, finish_reason: null }]),
    chunk(id, model, [{ index: 0, delta: { content: "" }, logprobs: null, finish_reason: "stop" }], {
      usage: {
        prompt_tokens: 64,
        completion_tokens: 12,
        total_tokens: 76,
        prompt_tokens_details: { cached_tokens: 64 },
        completion_tokens_details: { reasoning_tokens: 10 },
        prompt_cache_hit_tokens: 64,
        prompt_cache_miss_tokens: 0,
      },
    }),
  ];
}

/** Gemini's OpenAI endpoint: tool calls with `id: ""`, whole in one delta; reasoning outside completion. */
export function geminiOpenAIToolCallJson(): Record<string, unknown> {
  return {
    id: "gem-openai-1",
    object: "chat.completion",
    created,
    model: "gemini-2.5-flash",
    choices: [
      {
        index: 0,
        finish_reason: "tool_calls",
        message: {
          role: "assistant",
          tool_calls: [
            { id: "", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
            { id: "", type: "function", function: { name: "weather", arguments: '{"city":"Bergen"}' } },
          ],
        },
      },
    ],
    usage: { prompt_tokens: 50, completion_tokens: 20, total_tokens: 150, completion_tokens_details: { reasoning_tokens: 80 } },
  };
}

export function geminiOpenAIToolCallEvents(): unknown[] {
  const id = "gem-openai-2";
  const model = "gemini-2.5-flash";
  return [
    chunk(id, model, [
      {
        index: 0,
        delta: {
          role: "assistant",
          tool_calls: [
            { index: 0, id: "", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
            { index: 1, id: "", type: "function", function: { name: "weather", arguments: '{"city":"Bergen"}' } },
          ],
        },
        finish_reason: "tool_calls",
      },
    ]),
    chunk(id, model, [], { usage: { prompt_tokens: 50, completion_tokens: 20, total_tokens: 150, completion_tokens_details: { reasoning_tokens: 80 } } }),
  ];
}

/** An answer from a server that sends no usage at all (a bare vLLM or Ollama stream without `include_usage` honoured). */
export function noUsageEvents(): unknown[] {
  const id = "vllm-1";
  const model = "llama";
  return [
    chunk(id, model, [{ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: null }]),
    chunk(id, model, [{ index: 0, delta: {}, finish_reason: "stop" }]),
  ];
}

const logprobs = {
  content: [
    { token: "Hi", logprob: -0.01, bytes: [72, 105], top_logprobs: [{ token: "Hi", logprob: -0.01, bytes: [72, 105] }] },
    { token: "!", logprob: -0.2, bytes: [33], top_logprobs: [] },
  ],
  refusal: null,
};

/** OpenAI itself, every optional response field set (audio, annotations, logprobs, service tier, every usage detail). */
export function openaiFullJson(): Record<string, unknown> {
  return {
    id: "chatcmpl-full",
    object: "chat.completion",
    created,
    model: "gpt-4o-audio-preview",
    service_tier: "default",
    system_fingerprint: "fp_full",
    choices: [
      {
        index: 0,
        finish_reason: "stop",
        logprobs,
        message: {
          role: "assistant",
          content: "Hi!",
          refusal: null,
          annotations: [
            { type: "url_citation", url_citation: { start_index: 0, end_index: 3, url: "https://example.com/", title: "Example" } },
          ],
          audio: { id: "audio_1", data: "UklGRg==", expires_at: created + 3600, transcript: "Hi!" },
        },
      },
    ],
    usage: {
      prompt_tokens: 1_000,
      completion_tokens: 300,
      total_tokens: 1_300,
      prompt_tokens_details: { cached_tokens: 200, cache_write_tokens: 100, audio_tokens: 50 },
      completion_tokens_details: { reasoning_tokens: 40, audio_tokens: 60, accepted_prediction_tokens: 5, rejected_prediction_tokens: 7 },
    },
  };
}

export function openaiFullEvents(): unknown[] {
  const id = "chatcmpl-full-stream";
  const model = "gpt-4o-audio-preview";
  const extra = { service_tier: "default", system_fingerprint: "fp_full" };
  return [
    chunk(id, model, [{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }], extra),
    chunk(id, model, [{ index: 0, delta: { content: "Hi" }, logprobs: { content: [logprobs.content[0]], refusal: null }, finish_reason: null }], extra),
    chunk(id, model, [{ index: 0, delta: { content: "!" }, logprobs: { content: [logprobs.content[1]], refusal: null }, finish_reason: null }], extra),
    chunk(id, model, [{ index: 0, delta: { audio: { id: "audio_1", transcript: "Hi", data: "UklG" } }, finish_reason: null }], extra),
    chunk(id, model, [{ index: 0, delta: { audio: { transcript: "!", data: "Rg==", expires_at: created + 3600 } }, finish_reason: null }], extra),
    chunk(id, model, [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }], extra),
    chunk(id, model, [], { ...extra, usage: (openaiFullJson().usage as Record<string, unknown>) }),
  ];
}

/**
 * Moonshot (Kimi, automatic context caching): cache reads as `usage.cached_tokens` at the top
 * level of usage, counted inside `prompt_tokens`, on the finish chunk (as Moonshot streams usage).
 */
export const MOONSHOT_USAGE = { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110, cached_tokens: 80 };

export function moonshotCachedJson(): Record<string, unknown> {
  return {
    id: "chatcmpl-moonshot-1",
    object: "chat.completion",
    created,
    model: "kimi-k2.6",
    choices: [{ index: 0, message: { role: "assistant", content: "Hello, world!" }, finish_reason: "stop" }],
    usage: MOONSHOT_USAGE,
  };
}

export function moonshotCachedEvents(): unknown[] {
  const id = "chatcmpl-moonshot-2";
  const model = "kimi-k2.6";
  return [
    chunk(id, model, [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }], { usage: null }),
    chunk(id, model, [{ index: 0, delta: { content: "Hello" }, finish_reason: null }], { usage: null }),
    chunk(id, model, [{ index: 0, delta: { content: ", world!" }, finish_reason: null }], { usage: null }),
    chunk(id, model, [{ index: 0, delta: {}, finish_reason: "stop" }], { usage: MOONSHOT_USAGE }),
  ];
}

/**
 * Perplexity (sonar): the sources the answer's `[n]` markers point at, as top-level `citations`
 * (URLs) and `search_results` (`title`, `url`, `date`, ...) beside `choices`. Streamed, every chunk
 * repeats both lists and the usage so far, and the last chunk's `object` is
 * `chat.completion.done`.
 */
export const PERPLEXITY_CITATIONS = ["https://example.org/everest", "https://example.com/k2"];
export const PERPLEXITY_SEARCH_RESULTS = [
  { title: "Mount Everest", url: "https://example.org/everest", date: "2025-05-29", last_updated: "2025-06-01", snippet: "8,849 m" },
  { title: "K2", url: "https://example.com/k2", date: null },
];

export function perplexityJson(): Record<string, unknown> {
  return {
    id: "pplx-1",
    model: "sonar",
    created,
    usage: { prompt_tokens: 10, completion_tokens: 12, total_tokens: 22, search_context_size: "low", citation_tokens: 300, num_search_queries: 1 },
    citations: PERPLEXITY_CITATIONS,
    search_results: PERPLEXITY_SEARCH_RESULTS,
    object: "chat.completion",
    choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "Everest is the highest.[1] K2 is second.[2]" } }],
  };
}

export function perplexityEvents(): unknown[] {
  const id = "pplx-2";
  const model = "sonar";
  const sources = (completion: number): Record<string, unknown> => ({
    usage: { prompt_tokens: 10, completion_tokens: completion, total_tokens: 10 + completion },
    citations: PERPLEXITY_CITATIONS,
    search_results: PERPLEXITY_SEARCH_RESULTS,
  });
  return [
    chunk(id, model, [{ index: 0, delta: { role: "assistant", content: "Everest is the highest." } }], sources(5)),
    chunk(id, model, [{ index: 0, delta: { role: "assistant", content: "[1]" } }], sources(7)),
    { ...chunk(id, model, [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: "stop" }], sources(7)), object: "chat.completion.done" },
  ];
}
