import type { ChatRequest } from "../core/chat-request.js";
import type { ChatChunk } from "../core/chat-chunk.js";
import type { ChatResponse, FinishReason, Usage } from "../core/chat-response.js";
import { ProviderError, isRetryableStatus } from "../core/errors.js";
import type { AdapterContext, ProviderAdapter } from "../core/provider-adapter.js";
import { estimatePromptTokens } from "../core/token-estimate.js";
import { sleep } from "../core/abortable.js";

/** How many requests a mock remembers; `calls` keeps counting past it. */
const MAX_RECORDED_REQUESTS = 1_000;

/** A scripted failure: `{ status: 503, times: 2 }` fails the next two calls with a 503. */
export interface MockFailure {
  /** HTTP status to fail with; undefined means a connection error. */
  status?: number;
  /** How many calls in a row fail this way (default 1; `Infinity` for an outage). */
  times?: number;
  retryAfterMs?: number;
  /** The provider's error type, e.g. `insufficient_quota`. */
  type?: string;
  message?: string;
  /** For streams: fail after delivering this many chunks instead of before the first. */
  afterChunks?: number;
}

/** What a mock answers: text, or tool calls, with an optional finish reason. */
export interface MockReply {
  content?: string | null;
  toolCalls?: { name: string; arguments: string }[];
  finishReason?: FinishReason;
}

export interface MockProviderOptions {
  /** Provider name reported in telemetry (default `mock`). */
  name?: string;
  /** Fixed text, or a function of the request (deterministic by default: echoes the last user message). */
  reply?: string | MockReply | ((request: ChatRequest, ctx: AdapterContext) => string | MockReply);
  /** Failures to script, consumed in order before replies succeed. */
  fail?: MockFailure | MockFailure[];
  /** Delay before answering (and before the first chunk), in ms; honours abort. */
  latencyMs?: number;
  /** Delay between stream chunks, in ms. */
  chunkDelayMs?: number;
  /** Usage to report; default counts about 4 characters per token. */
  usage?: Partial<Usage> | ((request: ChatRequest, reply: MockReply) => Usage);
  /** Vector for a text, for `embed`; default a deterministic 64-d hash embedding. */
  embedding?: (text: string) => number[];
}

/** A mock provider with a record of what it was asked. */
export interface MockProvider extends ProviderAdapter {
  /** Calls made (chat, stream and embed), including failed ones. */
  readonly calls: number;
  /** The requests received (the latest 1,000), with the provider-side model each was sent for. */
  readonly requests: readonly { request: ChatRequest; model: string; stream: boolean }[];
  /** Adds failures to the script at run time (e.g. to start an outage mid-test). */
  failNext(failure: MockFailure): void;
  /** Clears scripted failures and recorded requests. */
  reset(): void;
}

/**
 * A deterministic adapter for unit tests of code that uses modelgate: no network, scripted
 * failures, usage that adds up.
 *
 * @example
 * const flaky = mockProvider({ reply: "ok", fail: { status: 503, times: 2 } });
 * const gateway = createGateway({ providers: { flaky }, models: { m: "flaky/any" } });
 * await gateway.chat({ model: "m", messages }); // two 503s retried, then "ok"
 */
export function mockProvider(options: MockProviderOptions = {}): MockProvider {
  const name = options.name ?? "mock";
  const script: Required<Pick<MockFailure, "times">>[] & MockFailure[] = [];
  const requests: { request: ChatRequest; model: string; stream: boolean }[] = [];
  let calls = 0;
  const enqueue = (failure: MockFailure): void => {
    script.push({ ...failure, times: failure.times ?? 1 });
  };
  for (const failure of [options.fail ?? []].flat()) enqueue(failure);

  const nextFailure = (): MockFailure | undefined => {
    const head = script[0];
    if (!head) return undefined;
    head.times--;
    if (head.times <= 0) script.shift();
    return head;
  };

  const toError = (failure: MockFailure): ProviderError =>
    new ProviderError(failure.message ?? `${name} ${failure.status ?? "connection error"}: scripted failure`, {
      provider: name,
      status: failure.status,
      retryable: failure.type === "insufficient_quota" ? false : isRetryableStatus(failure.status),
      retryAfterMs: failure.retryAfterMs,
      type: failure.type,
    });

  const replyFor = (request: ChatRequest, ctx: AdapterContext): MockReply => {
    const reply = typeof options.reply === "function" ? options.reply(request, ctx) : options.reply;
    if (typeof reply === "string") return { content: reply };
    if (reply) return reply;
    return { content: `echo: ${lastUserText(request)}` };
  };

  const usageFor = (request: ChatRequest, reply: MockReply): Usage => {
    if (typeof options.usage === "function") return options.usage(request, reply);
    const prompt = options.usage?.prompt_tokens ?? estimatePromptTokens(request);
    const outputText = (reply.content ?? "") + (reply.toolCalls ?? []).map((call) => call.name + call.arguments).join("");
    const completion = options.usage?.completion_tokens ?? Math.max(1, Math.ceil(outputText.length / 4));
    return { ...options.usage, prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  };

  const begin = async (request: ChatRequest, ctx: AdapterContext, stream: boolean): Promise<MockFailure | undefined> => {
    calls++;
    // Bounded: a long test or a load loop must not keep every request it ever made.
    if (requests.length >= MAX_RECORDED_REQUESTS) requests.shift();
    requests.push({ request, model: ctx.model, stream });
    const failure = nextFailure();
    if (options.latencyMs) await sleep(options.latencyMs, ctx.signal);
    if (failure && !(stream && failure.afterChunks !== undefined)) throw toError(failure);
    return failure;
  };

  const adapter: MockProvider = {
    name,
    get calls() {
      return calls;
    },
    get requests() {
      return requests;
    },
    failNext: enqueue,
    reset() {
      script.length = 0;
      requests.length = 0;
      calls = 0;
    },
    async chat(request, ctx) {
      await begin(request, ctx, false);
      const reply = replyFor(request, ctx);
      return toResponse(reply, usageFor(request, reply), ctx.model, requestId(calls));
    },
    async *stream(request, ctx) {
      const failure = await begin(request, ctx, true);
      const reply = replyFor(request, ctx);
      const chunks = toChunks(reply, usageFor(request, reply), ctx.model, requestId(calls));
      let sent = 0;
      for (const chunk of chunks) {
        if (failure?.afterChunks !== undefined && sent >= failure.afterChunks) throw toError(failure);
        if (sent > 0 && options.chunkDelayMs) await sleep(options.chunkDelayMs, ctx.signal);
        ctx.signal.throwIfAborted();
        yield chunk;
        sent++;
      }
    },
    async embed(input, ctx) {
      calls++;
      ctx.signal.throwIfAborted();
      return input.map(options.embedding ?? hashEmbedding);
    },
  };
  return adapter;
}

function requestId(n: number): string {
  return `mock-${n}`;
}

function lastUserText(request: ChatRequest): string {
  for (let index = request.messages.length - 1; index >= 0; index--) {
    const message = request.messages[index]!;
    if (message.role !== "user") continue;
    if (typeof message.content === "string") return message.content;
    return message.content.map((part) => (part.type === "text" ? part.text : "[image]")).join(" ");
  }
  return "";
}

function toResponse(reply: MockReply, usage: Usage, model: string, id: string): ChatResponse {
  const toolCalls = (reply.toolCalls ?? []).map((call, index) => ({
    id: `call_${index}`,
    type: "function" as const,
    function: { name: call.name, arguments: call.arguments },
  }));
  return {
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: reply.content ?? null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
        finish_reason: reply.finishReason ?? (toolCalls.length ? "tool_calls" : "stop"),
        logprobs: null,
      },
    ],
    usage,
  };
}

function toChunks(reply: MockReply, usage: Usage, model: string, id: string): ChatChunk[] {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: ChatChunk["choices"], extra: Partial<ChatChunk> = {}): ChatChunk => ({
    id, object: "chat.completion.chunk", created, model, choices, ...extra,
  });
  const chunks: ChatChunk[] = [chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }])];
  // Word-sized pieces, whitespace kept, so the assembled text equals the reply exactly.
  for (const piece of (reply.content ?? "").match(/\S+\s*|\s+/g) ?? []) {
    chunks.push(chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]));
  }
  (reply.toolCalls ?? []).forEach((call, index) => {
    chunks.push(chunk([{ index: 0, delta: { tool_calls: [{ index, id: `call_${index}`, type: "function", function: { name: call.name, arguments: "" } }] }, finish_reason: null }]));
    chunks.push(chunk([{ index: 0, delta: { tool_calls: [{ index, function: { arguments: call.arguments } }] }, finish_reason: null }]));
  });
  const finish = reply.finishReason ?? (reply.toolCalls?.length ? "tool_calls" : "stop");
  chunks.push(chunk([{ index: 0, delta: {}, finish_reason: finish }]));
  chunks.push(chunk([], { usage }));
  return chunks;
}

/** Deterministic unit vector from character trigrams: similar texts get similar vectors. */
function hashEmbedding(text: string): number[] {
  const vector = new Array<number>(64).fill(0);
  const normalized = ` ${text.toLowerCase()} `;
  for (let index = 0; index + 3 <= normalized.length; index++) {
    let hash = 2166136261;
    for (let offset = 0; offset < 3; offset++) hash = Math.imul(hash ^ normalized.charCodeAt(index + offset), 16777619);
    vector[(hash >>> 0) % 64]! += 1;
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((value) => value / norm);
}
