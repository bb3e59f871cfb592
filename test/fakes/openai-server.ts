import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { startSSE, type SSEWriter } from "./sse.js";

/**
 * A fake OpenAI API on 127.0.0.1 that speaks the real wire format (JSON and SSE), so tests
 * drive the official `openai` SDK end to end. Scriptable per request: a FIFO queue of
 * behaviours, then a default.
 *
 * @example
 * const fake = await startFakeOpenAI();
 * fake.enqueue({ fail: { status: 503, message: "busy" } }, { reply: "Hi!" });
 * const client = new OpenAI({ apiKey: "test", baseURL: fake.url });
 * // ... first call gets a 503, the second "Hi!", later ones the default (an echo)
 * expect(fake.requestCount).toBe(2);
 * await fake.close();
 */
export interface FakeOpenAI {
  /** Base URL including `/v1`, for `new OpenAI({ baseURL })` or `openai({ baseURL })`. */
  readonly url: string;
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[];
  /** How many requests arrived (any path). */
  readonly requestCount: number;
  /** The most recent request, if any. */
  readonly lastRequest: RecordedRequest | undefined;
  /** Queues behaviours for the next requests, one each, in order; when the queue is empty the default applies. */
  enqueue(...scripts: FakeOpenAIScript[]): void;
  /** Replaces the behaviour used when the queue is empty. */
  setDefault(script: FakeOpenAIScript): void;
  /** Empties the queue and the request log; the default stays. */
  reset(): void;
  /**
   * Resolves with the first request whose client closed the connection before the response
   * was complete (an abort, a `break` out of a stream), including one that already did.
   * Rejects after `timeoutMs`.
   */
  waitForClientAbort(timeoutMs?: number): Promise<RecordedRequest>;
  /** Stops the server, cutting open connections (hanging requests included). */
  close(): Promise<void>;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** Lower-cased header names. Includes `authorization`: tests may check what the SDK sent. */
  headers: Record<string, string>;
  /** Parsed JSON body (`{}` when there was none). */
  body: Record<string, unknown>;
  /** True when the client closed the connection before the response was complete. */
  closedEarly: boolean;
}

/**
 * A tool call the fake model makes. `arguments` objects are JSON-encoded. With `custom: true` it
 * is a custom tool call (`{ type: "custom", custom: { name, input } }`), `arguments` its input.
 */
export interface FakeToolCall {
  id?: string;
  name: string;
  arguments?: string | Record<string, unknown>;
  custom?: boolean;
}

/** Token counts to report; unset ones are estimated from the text (about 4 characters a token). */
export interface FakeUsage {
  promptTokens?: number;
  completionTokens?: number;
  cachedTokens?: number;
  reasoningTokens?: number;
}

/** An HTTP error answer. The body is OpenAI's `{ error: { message, type, param, code } }` unless `rawBody` is set. */
export interface FakeFailure {
  status: number;
  message?: string;
  /** Defaults as OpenAI's: `requests` for 429, `server_error` for 5xx, else `invalid_request_error`. */
  type?: string;
  /** Defaults to `rate_limit_exceeded` for 429, else `null`. */
  code?: string | null;
  /** e.g. `{ "retry-after": "2" }` or `{ "retry-after-ms": "150" }`. */
  headers?: Record<string, string>;
  /** Sent instead of the JSON error body (e.g. an HTML page from a proxy). */
  rawBody?: string;
}

/** An `{"error": ...}` event inside a 200 stream, as OpenAI sends when generation fails midway. */
export interface FakeStreamError {
  /** Data chunks sent before the error event; 0 by default. */
  afterChunks?: number;
  message?: string;
  type?: string;
  code?: string | null;
}

/** What the fake does with one request. Every field is optional; `{}` is the default echo reply. */
export interface FakeOpenAIBehaviour {
  /** Assistant text; defaults to `Echo: <last user text>` (or `null` content when `toolCalls` are set). */
  reply?: string;
  toolCalls?: FakeToolCall[];
  /** Makes the model refuse: `content` null, `refusal` set. */
  refusal?: string;
  /** Defaults to `tool_calls` when there are tool calls, else `stop`. Any string, to test unknown reasons. */
  finishReason?: string;
  usage?: FakeUsage;
  /** The `model` field of the answer; defaults to the requested model. */
  model?: string;
  /** Extra response headers (e.g. `x-request-id`). */
  headers?: Record<string, string>;
  /** Waits this long before answering (before the headers). */
  delayMs?: number;
  /** Waits this long between stream chunks. */
  chunkDelayMs?: number;
  /**
   * The first chunk `chunkDelayMs` applies before (default 1: every chunk after the role chunk).
   * 2 sends the role chunk and the first content at once, then pauses.
   */
  chunkDelayFrom?: number;
  /** Characters per content / arguments delta; by default content streams word by word. */
  chunkSize?: number;
  /** Answers with an HTTP error instead. */
  fail?: FakeFailure;
  /** Never answers; the request stays open until the client aborts or the server closes. */
  hang?: boolean;
  /** Streams this many data chunks, then destroys the socket (no clean end). */
  dropAfterChunks?: number;
  /** Ends the stream without `data: [DONE]`. */
  omitDone?: boolean;
  /** Sends no chunk with a `finish_reason`. */
  omitFinishReason?: boolean;
  /** Sends an error event inside the 200 stream, then ends it. */
  streamError?: FakeStreamError;
  /** Replaces the JSON body of a non-streaming chat or embeddings reply entirely (for lenient-parsing tests). */
  rawResponse?: unknown;
}

/** A behaviour, or a function choosing one from the request body. */
export type FakeOpenAIScript =
  | FakeOpenAIBehaviour
  | ((body: Record<string, unknown>, request: RecordedRequest) => FakeOpenAIBehaviour);

export interface FakeOpenAIOptions {
  /** Behaviour when the queue is empty; `{}` (an echo reply) by default. */
  default?: FakeOpenAIScript;
  /** Length of `/v1/embeddings` vectors unless the request sets `dimensions`; 64 by default. */
  embeddingDimensions?: number;
  /** Replaces the built-in embedding (bag of hashed words, unit length). */
  embed?: (text: string) => number[];
}

/** Upper bound on any script-supplied wait, so a typo cannot hold a test run. */
const MAX_WAIT_MS = 60_000;
const MAX_BODY_BYTES = 16 * 2 ** 20;

/** Starts the fake on 127.0.0.1 with an ephemeral port. */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const queue: FakeOpenAIScript[] = [];
  let defaultScript: FakeOpenAIScript = options.default ?? {};
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const abortWaiters = new Set<(request: RecordedRequest) => void>();
  let sequence = 0;

  const wait = (ms: number, response: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      if (ms <= 0 || response.destroyed) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        timers.delete(timer);
        response.off("close", done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(ms, MAX_WAIT_MS));
      timers.add(timer);
      response.once("close", done);
    });

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendError(response, { status: 500, message: `fake server bug: ${String(error)}` });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = await readBody(request);
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    const recorded: RecordedRequest = {
      method: request.method ?? "GET",
      path,
      headers: flattenHeaders(request.headers),
      body: {},
      closedEarly: false,
    };
    requests.push(recorded);
    const number = ++sequence;
    response.on("close", () => {
      if (response.writableFinished) return;
      recorded.closedEarly = true;
      for (const waiter of abortWaiters) waiter(recorded);
    });

    if (raw.length > 0) {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (isRecord(parsed)) recorded.body = parsed;
      } catch {
        return sendError(response, { status: 400, message: "We could not parse the JSON body of your request." });
      }
    }

    const script = queue.shift() ?? defaultScript;
    const behaviour = typeof script === "function" ? script(recorded.body, recorded) : script;

    if (behaviour.delayMs) await wait(behaviour.delayMs, response);
    if (response.destroyed) return;
    if (behaviour.hang) return; // answered by nobody: the client's abort or close() ends it
    if (behaviour.fail) return sendError(response, behaviour.fail);

    if (request.method === "POST" && path === "/v1/chat/completions") {
      return answerChat(recorded.body, behaviour, response, number);
    }
    if (request.method === "POST" && path === "/v1/embeddings") {
      return answerEmbeddings(recorded.body, behaviour, response);
    }
    sendError(response, { status: 404, message: `Unknown request URL: ${request.method} ${path}.`, code: "unknown_url" });
  }

  async function answerChat(
    body: Record<string, unknown>,
    behaviour: FakeOpenAIBehaviour,
    response: ServerResponse,
    number: number,
  ): Promise<void> {
    const completion = buildCompletion(body, behaviour, number);
    if (body.stream !== true) {
      sendJson(response, 200, behaviour.rawResponse ?? completion.json, behaviour.headers);
      return;
    }
    const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
    const chunks = buildChunks(completion, behaviour, includeUsage);
    const sse = startSSE(response, { headers: behaviour.headers });
    await streamChunks(sse, chunks, behaviour, response);
  }

  async function streamChunks(
    sse: SSEWriter,
    chunks: readonly Record<string, unknown>[],
    behaviour: FakeOpenAIBehaviour,
    response: ServerResponse,
  ): Promise<void> {
    for (let sent = 0; sent <= chunks.length; sent++) {
      if (sse.closed) return;
      if (behaviour.dropAfterChunks !== undefined && sent >= behaviour.dropAfterChunks) {
        response.socket?.destroy();
        return;
      }
      const streamError = behaviour.streamError;
      if (streamError && sent >= (streamError.afterChunks ?? 0)) {
        await sse.send({
          error: {
            message: streamError.message ?? "The server had an error while processing your request.",
            type: streamError.type ?? "server_error",
            param: null,
            code: streamError.code ?? null,
          },
        });
        sse.end();
        return;
      }
      const chunk = chunks[sent];
      if (chunk === undefined) break;
      await sse.send(chunk);
      if (behaviour.chunkDelayMs && sent + 1 >= (behaviour.chunkDelayFrom ?? 1)) await wait(behaviour.chunkDelayMs, response);
    }
    if (!behaviour.omitDone) await sse.send("[DONE]");
    sse.end();
  }

  function answerEmbeddings(body: Record<string, unknown>, behaviour: FakeOpenAIBehaviour, response: ServerResponse): void {
    const inputs = typeof body.input === "string" ? [body.input] : Array.isArray(body.input) ? body.input : [];
    const texts = inputs.map((input) => (typeof input === "string" ? input : JSON.stringify(input)));
    const dimensions =
      typeof body.dimensions === "number" && body.dimensions > 0 ? body.dimensions : (options.embeddingDimensions ?? 64);
    const embed = options.embed ?? ((text: string) => hashedWordsVector(text, dimensions));
    const base64 = body.encoding_format === "base64";
    const data = texts.map((text, index) => {
      const vector = embed(text);
      return {
        object: "embedding",
        index,
        embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector,
      };
    });
    const tokens = behaviour.usage?.promptTokens ?? texts.reduce((sum, text) => sum + estimateTokens(text), 0);
    const json = {
      object: "list",
      data,
      model: String(body.model ?? "text-embedding-3-small"),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
    sendJson(response, 200, behaviour.rawResponse ?? json, behaviour.headers);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    get requestCount() {
      return requests.length;
    },
    get lastRequest() {
      return requests[requests.length - 1];
    },
    enqueue(...scripts) {
      queue.push(...scripts);
    },
    setDefault(script) {
      defaultScript = script;
    },
    reset() {
      queue.length = 0;
      requests.length = 0;
    },
    waitForClientAbort(timeoutMs = 5_000) {
      const already = requests.find((request) => request.closedEarly);
      if (already) return Promise.resolve(already);
      return new Promise<RecordedRequest>((resolve, reject) => {
        const timer = setTimeout(() => {
          abortWaiters.delete(waiter);
          reject(new Error(`no client abort within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (request: RecordedRequest): void => {
          clearTimeout(timer);
          abortWaiters.delete(waiter);
          resolve(request);
        };
        abortWaiters.add(waiter);
      });
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

interface BuiltCompletion {
  json: Record<string, unknown>;
  id: string;
  created: number;
  model: string;
  content: string | null;
  refusal: string | null;
  toolCalls: { id: string; name: string; arguments: string; custom: boolean }[];
  finishReason: string;
  usage: Record<string, unknown>;
}

function buildCompletion(body: Record<string, unknown>, behaviour: FakeOpenAIBehaviour, number: number): BuiltCompletion {
  const toolCalls = (behaviour.toolCalls ?? []).map((call, index) => ({
    id: call.id ?? `call_fake_${number}_${index}`,
    name: call.name,
    arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments ?? {}),
    custom: call.custom === true,
  }));
  const refusal = behaviour.refusal ?? null;
  const content =
    refusal !== null ? null : (behaviour.reply ?? (toolCalls.length > 0 ? null : `Echo: ${lastUserText(body.messages)}`));
  const finishReason = behaviour.finishReason ?? (toolCalls.length > 0 ? "tool_calls" : "stop");
  const model = behaviour.model ?? (typeof body.model === "string" ? body.model : "gpt-4o-mini");
  const id = `chatcmpl-fake-${number}`;
  const created = Math.floor(Date.now() / 1000);

  const promptTokens = behaviour.usage?.promptTokens ?? estimateTokens(JSON.stringify(body.messages ?? []));
  const completionText = (content ?? "") + (refusal ?? "") + toolCalls.map((call) => call.name + call.arguments).join("");
  // `n` answers, each billed: OpenAI counts the output of every choice in completion_tokens.
  const choiceCount = typeof body.n === "number" && body.n > 1 ? body.n : 1;
  const completionTokens = behaviour.usage?.completionTokens ?? Math.max(1, estimateTokens(completionText)) * choiceCount;
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: behaviour.usage?.cachedTokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: behaviour.usage?.reasoningTokens ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };

  const message: Record<string, unknown> = { role: "assistant", content, refusal, annotations: [] };
  if (toolCalls.length > 0) {
    message.tool_calls = toolCalls.map((call) =>
      call.custom
        ? { id: call.id, type: "custom", custom: { name: call.name, input: call.arguments } }
        : { id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } },
    );
  }
  const json = {
    id,
    object: "chat.completion",
    created,
    model,
    choices: Array.from({ length: choiceCount }, (_, index) => ({
      index,
      // Later choices say which they are, so a test can tell them apart.
      message: index === 0 || content === null ? message : { ...message, content: `${content} (${index + 1})` },
      logprobs: null,
      finish_reason: behaviour.omitFinishReason ? null : finishReason,
    })),
    usage,
    service_tier: "default",
    system_fingerprint: "fp_fake",
  };
  return { json, id, created, model, content, refusal, toolCalls, finishReason, usage };
}

/** The chunk sequence OpenAI streams: role, content deltas, tool-call deltas, finish, then usage. */
function buildChunks(
  completion: BuiltCompletion,
  behaviour: FakeOpenAIBehaviour,
  includeUsage: boolean,
): Record<string, unknown>[] {
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null): Record<string, unknown> => ({
    id: completion.id,
    object: "chat.completion.chunk",
    created: completion.created,
    model: completion.model,
    service_tier: "default",
    system_fingerprint: "fp_fake",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });

  const chunks = [chunk({ role: "assistant", content: "", refusal: null })];
  for (const piece of split(completion.content ?? "", behaviour.chunkSize)) chunks.push(chunk({ content: piece }));
  for (const piece of split(completion.refusal ?? "", behaviour.chunkSize)) chunks.push(chunk({ refusal: piece }));
  completion.toolCalls.forEach((call, index) => {
    if (call.custom) {
      // A custom tool call streams its name first, then its free-form input in pieces.
      chunks.push(chunk({ tool_calls: [{ index, id: call.id, type: "custom", custom: { name: call.name, input: "" } }] }));
      for (const piece of split(call.arguments, behaviour.chunkSize ?? 8)) {
        chunks.push(chunk({ tool_calls: [{ index, custom: { input: piece } }] }));
      }
      return;
    }
    chunks.push(
      chunk({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] }),
    );
    for (const piece of split(call.arguments, behaviour.chunkSize ?? 8)) {
      chunks.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  if (!behaviour.omitFinishReason) chunks.push(chunk({}, completion.finishReason));
  if (includeUsage) {
    chunks.push({
      id: completion.id,
      object: "chat.completion.chunk",
      created: completion.created,
      model: completion.model,
      service_tier: "default",
      system_fingerprint: "fp_fake",
      choices: [],
      usage: completion.usage,
    });
  }
  return chunks;
}

/** Word by word (keeping the spaces), or fixed-size pieces when `size` is set. */
function split(text: string, size?: number): string[] {
  if (text === "") return [];
  if (size === undefined || size <= 0) return text.match(/\s*\S+\s*/g) ?? [text];
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return "";
  for (let index = messages.length - 1; index >= 0; index--) {
    const message: unknown = messages[index];
    if (!isRecord(message) || message.role !== "user") continue;
    if (typeof message.content === "string") return message.content;
    if (Array.isArray(message.content)) {
      return message.content
        .map((part: unknown) => (isRecord(part) && typeof part.text === "string" ? part.text : ""))
        .filter((text) => text !== "")
        .join(" ");
    }
  }
  return "";
}

/**
 * Deterministic embedding: each lower-cased word hashes to one signed dimension, then the
 * vector is scaled to unit length. Texts sharing words are close, so semantic-cache tests
 * get meaningful similarities; the same text always gives the same vector.
 */
export function hashedWordsVector(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const hash = fnv1a(word);
    const slot = hash % dimensions;
    vector[slot] = (vector[slot] ?? 0) + ((hash >>> 16) & 1 ? 1 : -1);
  }
  const norm = Math.hypot(...vector);
  if (norm === 0) {
    vector[0] = 1;
    return vector;
  }
  return vector.map((value) => value / norm);
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function sendError(response: ServerResponse, failure: FakeFailure): void {
  const headers = { "x-request-id": "req_fake_error", ...failure.headers };
  if (failure.rawBody !== undefined) {
    response.writeHead(failure.status, { "content-type": "text/html", ...headers });
    response.end(failure.rawBody);
    return;
  }
  sendJson(
    response,
    failure.status,
    {
      error: {
        message: failure.message ?? `Fake error ${failure.status}`,
        type: failure.type ?? defaultErrorType(failure.status),
        param: null,
        code: failure.code !== undefined ? failure.code : failure.status === 429 ? "rate_limit_exceeded" : null,
      },
    },
    headers,
  );
}

/** What OpenAI sends: `requests` for a rate limit, `server_error` for 5xx, else `invalid_request_error`. */
function defaultErrorType(status: number): string {
  if (status === 429) return "requests";
  return status >= 500 ? "server_error" : "invalid_request_error";
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    request.on("data", (part: Buffer) => {
      size += part.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("request body too large"));
        request.destroy();
        return;
      }
      parts.push(part);
    });
    request.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    request.on("error", reject);
  });
}

function flattenHeaders(headers: IncomingMessage["headers"]): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
