import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A fake Gemini API (generativelanguage.googleapis.com) on 127.0.0.1 that speaks its wire format:
 * `POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent?alt=sse` (one
 * `data: <json>\r\n\r\n` event per chunk, as Google sends them), `:embedContent` and
 * `:batchEmbedContents`. It also answers Vertex AI's paths for the same methods,
 * `/v1beta1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent`
 * (the body and answer are the same JSON). Each request takes the next enqueued behaviour, else the default.
 */

export type FakePart = (
  | { text: string; thought?: boolean }
  | { functionCall: { name: string; args?: Record<string, unknown> } }
) & { thoughtSignature?: string };

export interface FakeUsage {
  promptTokenCount: number;
  candidatesTokenCount: number;
  totalTokenCount: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  toolUsePromptTokenCount?: number;
}

/** Google's error body: `{ error: { code, message, status, details } }`. */
export interface FakeGoogleError {
  code: number;
  message: string;
  status: string;
  details?: unknown[];
}

export interface ReplyBehaviour {
  type: "reply";
  /** Text of the answer; as a list, each item is one stream chunk (joined when not streaming). */
  text?: string | string[];
  functionCalls?: { name: string; args?: Record<string, unknown> }[];
  /**
   * With `generationConfig.candidateCount` k, candidate i answers `candidateTexts[i]` (default:
   * `text`); k candidates come back, each with its `index`, as Gemini sends them.
   */
  candidateTexts?: string[];
  /** Raw parts instead of `text` and `functionCalls` (e.g. thought parts). */
  parts?: FakePart[];
  /** `null` leaves it out (a cut-short stream). Default `STOP`. */
  finishReason?: string | null;
  /** `null` leaves it out. */
  usage?: FakeUsage | null;
  /** No candidates, and `promptFeedback.blockReason` set. */
  blockReason?: string;
  modelVersion?: string;
  responseId?: string;
  /** Streaming: after this many chunks, destroy the socket. */
  dropAfterChunks?: number;
  /** Streaming: after this many chunks, keep the response open without writing. */
  hangAfterChunks?: number;
  /** Streaming: after this many chunks, send an `error` chunk and end. */
  errorAfterChunks?: { after: number; error: FakeGoogleError };
  /** Embedding endpoints: the vectors to answer with (default: derived from each text). */
  embeddings?: number[][];
}

export type GeminiBehaviour =
  | ReplyBehaviour
  | { type: "fail"; status: number; message?: string; googleStatus?: string; details?: unknown[] }
  | { type: "hang" }
  | { type: "drop" };

export interface RecordedRequest {
  method: string;
  /** Path with query, e.g. `/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse`. */
  path: string;
  /** The model segment without `models/` (or Vertex's `projects/.../models/`). */
  model: string;
  /** Vertex AI's project and location, when the path was Vertex's. */
  vertex?: { project: string; location: string };
  /** `generateContent`, `streamGenerateContent`, `embedContent`, `batchEmbedContents`. */
  action: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** Settles when the exchange ends: `completed`, or `aborted` when the client went away first. */
  closed: Promise<"completed" | "aborted">;
}

export type GeminiScript = GeminiBehaviour | ((request: RecordedRequest) => GeminiBehaviour);

export interface FakeGemini {
  /** Base URL to pass as `baseURL` (no version segment; the SDK adds `/v1beta`). */
  url: string;
  requests: RecordedRequest[];
  enqueue(...scripts: GeminiScript[]): void;
  setDefault(script: GeminiScript): void;
  close(): Promise<void>;
}

const CANONICAL: Readonly<Record<number, string>> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

const DEFAULT_USAGE: FakeUsage = { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 };
const MAX_BODY_BYTES = 8 * 2 ** 20;

export async function startFakeGemini(): Promise<FakeGemini> {
  const queue: GeminiScript[] = [];
  let fallback: GeminiScript = { type: "reply", text: "Hello from fake Gemini" };
  const requests: RecordedRequest[] = [];

  const server = createServer((request, response) => {
    void handle(request, response).catch(() => response.destroy());
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = await readBody(request);
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const match = /^\/v1(?:beta1?)?\/(.+):(\w+)$/.exec(url.pathname);
    const vertexPath = /^projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/(.+)$/.exec(match?.[1] ?? "");
    let resolveClosed: (value: "completed" | "aborted") => void = () => {};
    const closed = new Promise<"completed" | "aborted">((resolve) => (resolveClosed = resolve));
    response.on("close", () => resolveClosed(response.writableFinished ? "completed" : "aborted"));
    const recorded: RecordedRequest = {
      method: request.method ?? "",
      path: `${url.pathname}${url.search}`,
      model: vertexPath?.[3] ?? (match?.[1] ?? "").replace(/^models\//, ""),
      ...(vertexPath?.[1] !== undefined && vertexPath[2] !== undefined ? { vertex: { project: vertexPath[1], location: vertexPath[2] } } : {}),
      action: match?.[2] ?? "",
      headers: request.headers,
      body: parseJson(raw),
      closed,
    };
    requests.push(recorded);
    if (request.method !== "POST" || match === null) {
      return sendError(response, { code: 404, message: "Not found", status: "NOT_FOUND" });
    }
    const script = queue.shift() ?? fallback;
    const behaviour = typeof script === "function" ? script(recorded) : script;
    switch (behaviour.type) {
      case "hang":
        return;
      case "drop":
        request.socket.destroy();
        return;
      case "fail":
        return sendError(response, {
          code: behaviour.status,
          message: behaviour.message ?? "Fake failure",
          status: behaviour.googleStatus ?? CANONICAL[behaviour.status] ?? "UNKNOWN",
          ...(behaviour.details ? { details: behaviour.details } : {}),
        });
      case "reply":
        return reply(recorded, behaviour, request, response);
    }
  }

  async function reply(recorded: RecordedRequest, behaviour: ReplyBehaviour, request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (recorded.action === "embedContent") {
      const text = textOfContent(recorded.body.content);
      const values = behaviour.embeddings?.[0] ?? vectorFor(text, recorded.body.outputDimensionality);
      return sendJson(response, 200, { embedding: { values } });
    }
    if (recorded.action === "batchEmbedContents") {
      const items = Array.isArray(recorded.body.requests) ? recorded.body.requests : [];
      const embeddings = items.map((item: unknown, index) => ({
        values:
          behaviour.embeddings?.[index] ??
          vectorFor(textOfContent(isRecord(item) ? item.content : undefined), isRecord(item) ? item.outputDimensionality : undefined),
      }));
      return sendJson(response, 200, { embeddings });
    }
    if (recorded.action === "generateContent") return sendJson(response, 200, wholeResponse(behaviour, recorded.model, recorded.body));
    if (recorded.action === "streamGenerateContent") return stream(behaviour, recorded, request, response);
    return sendError(response, { code: 404, message: `Unknown action ${recorded.action}`, status: "NOT_FOUND" });
  }

  async function stream(behaviour: ReplyBehaviour, recorded: RecordedRequest, request: IncomingMessage, response: ServerResponse): Promise<void> {
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const chunks = streamChunks(behaviour, recorded.model, recorded.body);
    for (let index = 0; index < chunks.length; index++) {
      if (behaviour.dropAfterChunks === index) {
        await flush();
        request.socket.destroy();
        return;
      }
      if (behaviour.hangAfterChunks === index) return;
      if (behaviour.errorAfterChunks?.after === index) {
        response.end(`data: ${JSON.stringify({ error: behaviour.errorAfterChunks.error })}\r\n\r\n`);
        return;
      }
      response.write(`data: ${JSON.stringify(chunks[index])}\r\n\r\n`);
      await flush();
    }
    response.end();
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...scripts) => void queue.push(...scripts),
    setDefault: (script) => void (fallback = script),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(raw: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(raw);
    return isRecord(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Lets a write reach the socket before the next one, so chunks arrive as separate reads. */
function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

function sendError(response: ServerResponse, error: FakeGoogleError): void {
  sendJson(response, error.code, { error });
}

function textOfContent(content: unknown): string {
  if (!isRecord(content) || !Array.isArray(content.parts)) return "";
  return content.parts.map((part: unknown) => (isRecord(part) && typeof part.text === "string" ? part.text : "")).join("");
}

/** A deterministic vector per text, so tests can check order. */
/** Three numbers from the text; Gemini's `outputDimensionality` pads or truncates to that length, as the API does. */
function vectorFor(text: string, outputDimensionality?: unknown): number[] {
  let sum = 0;
  for (const char of text) sum += char.codePointAt(0) ?? 0;
  const vector = [text.length, sum % 97, 0.5];
  if (typeof outputDimensionality !== "number" || outputDimensionality <= 0) return vector;
  return Array.from({ length: outputDimensionality }, (_, index) => vector[index] ?? 0.25);
}

function replyParts(behaviour: ReplyBehaviour): FakePart[] {
  if (behaviour.parts) return behaviour.parts;
  const parts: FakePart[] = [];
  const text = Array.isArray(behaviour.text) ? behaviour.text.join("") : behaviour.text;
  if (text !== undefined) parts.push({ text });
  for (const call of behaviour.functionCalls ?? []) parts.push({ functionCall: call });
  return parts;
}

function envelope(behaviour: ReplyBehaviour, model: string): Record<string, unknown> {
  return { modelVersion: behaviour.modelVersion ?? model, responseId: behaviour.responseId ?? "fake-response-1" };
}

function usageOf(behaviour: ReplyBehaviour): FakeUsage | undefined {
  return behaviour.usage === null ? undefined : (behaviour.usage ?? DEFAULT_USAGE);
}

/** What the request's `generationConfig` asked for: candidates, and log probabilities. */
interface Asked {
  candidateCount: number;
  /** `responseLogprobs`: chosen tokens' log probabilities. */
  logprobs: boolean;
  /** `logprobs`: how many top candidates per step. */
  topCount: number;
}

function askedBy(body: Record<string, unknown>): Asked {
  const config = isRecord(body.generationConfig) ? body.generationConfig : {};
  return {
    candidateCount: typeof config.candidateCount === "number" ? config.candidateCount : 1,
    logprobs: config.responseLogprobs === true,
    topCount: typeof config.logprobs === "number" ? config.logprobs : 0,
  };
}

/**
 * `logprobsResult` for `text`, as Gemini shapes it: one step per token (here: a word with its
 * leading space), the chosen token with step k's log probability -(k+1)/10, and with `logprobs`
 * set, that many top candidates per step (the chosen one first, then `alt1`, `alt2`, ...).
 */
function logprobsResultFor(text: string, asked: Asked): Record<string, unknown> {
  const tokens = text.match(/\s*\S+/g) ?? [];
  const chosen = tokens.map((token, step) => ({ token, tokenId: 1000 + step, logProbability: -(step + 1) / 10 }));
  return {
    chosenCandidates: chosen,
    ...(asked.topCount > 0
      ? {
          topCandidates: chosen.map((token) => ({
            candidates: [token, ...Array.from({ length: asked.topCount - 1 }, (_, alt) => ({ token: `alt${alt + 1}`, tokenId: alt + 1, logProbability: token.logProbability - (alt + 1) }))],
          })),
        }
      : {}),
    logProbabilitySum: chosen.reduce((sum, token) => sum + token.logProbability, 0),
  };
}

function candidate(parts: FakePart[], finishReason: string | undefined, index = 0, asked?: Asked): Record<string, unknown> {
  const text = parts.map((part) => ("text" in part && part.thought !== true ? part.text : "")).join("");
  return {
    content: { parts, role: "model" },
    ...(finishReason ? { finishReason } : {}),
    index,
    ...(asked?.logprobs ? { logprobsResult: logprobsResultFor(text, asked) } : {}),
  };
}

function blockedResponse(behaviour: ReplyBehaviour, model: string): Record<string, unknown> {
  const usage = usageOf(behaviour);
  return {
    promptFeedback: { blockReason: behaviour.blockReason, safetyRatings: [] },
    ...(usage ? { usageMetadata: { promptTokenCount: usage.promptTokenCount, totalTokenCount: usage.promptTokenCount } } : {}),
    ...envelope(behaviour, model),
  };
}

function wholeResponse(behaviour: ReplyBehaviour, model: string, body: Record<string, unknown>): Record<string, unknown> {
  if (behaviour.blockReason) return blockedResponse(behaviour, model);
  const finishReason = behaviour.finishReason === null ? undefined : (behaviour.finishReason ?? "STOP");
  const usage = usageOf(behaviour);
  const asked = askedBy(body);
  return {
    candidates: Array.from({ length: asked.candidateCount }, (_, index) => {
      const own = behaviour.candidateTexts?.[index];
      return candidate(own !== undefined ? [{ text: own }] : replyParts(behaviour), finishReason, index, asked);
    }),
    ...(usage ? { usageMetadata: usage } : {}),
    ...envelope(behaviour, model),
  };
}

/**
 * Stream chunks as Gemini sends them: one per text piece, function calls together in one chunk,
 * the finish reason on the last chunk; every chunk carries running `usageMetadata` totals, the
 * last one the final counts.
 */
function streamChunks(behaviour: ReplyBehaviour, model: string, body: Record<string, unknown>): Record<string, unknown>[] {
  const asked = askedBy(body);
  if (behaviour.blockReason) return [blockedResponse(behaviour, model)];
  const pieces: FakePart[][] = [];
  if (behaviour.parts) pieces.push(...behaviour.parts.map((part) => [part]));
  else {
    const texts = behaviour.text === undefined ? [] : Array.isArray(behaviour.text) ? behaviour.text : [behaviour.text];
    pieces.push(...texts.map((text) => [{ text }]));
    if (behaviour.functionCalls?.length) pieces.push(behaviour.functionCalls.map((call) => ({ functionCall: call })));
  }
  if (pieces.length === 0) pieces.push([{ text: "" }]);
  const finishReason = behaviour.finishReason === null ? undefined : (behaviour.finishReason ?? "STOP");
  const usage = usageOf(behaviour);
  return pieces.map((parts, index) => {
    const last = index === pieces.length - 1;
    const running = usage && {
      promptTokenCount: usage.promptTokenCount,
      candidatesTokenCount: index + 1,
      totalTokenCount: usage.promptTokenCount + index + 1,
    };
    return {
      candidates: [candidate(parts, last ? finishReason : undefined, 0, asked)],
      ...(usage ? { usageMetadata: last ? usage : running } : {}),
      ...envelope(behaviour, model),
    };
  });
}
