import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A fake Anthropic Messages API on 127.0.0.1 that speaks the real wire format: `POST /v1/messages`
 * answering a `Message` JSON body or, with `stream: true`, the SSE event sequence
 * (message_start, content_block_start, ping, content_block_delta, content_block_stop,
 * message_delta, message_stop), and errors as `{ type: "error", error: { type, message } }`.
 * Scripted per request with `enqueue`, else `setDefault`.
 */

export type FakeAnthropicBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id?: string; name: string; input: Record<string, unknown> }
  /** Extended thinking: streamed as thinking_delta then signature_delta (default signature `sig_fake`). */
  | { type: "thinking"; thinking: string; signature?: string }
  /** Thinking Anthropic's safety systems encrypted: sent whole in content_block_start. */
  | { type: "redacted_thinking"; data: string };

export interface FakeAnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  /** The writes split by TTL, as the API reports them beside `cache_creation_input_tokens`; sent only when set. */
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

export interface FakeAnthropicReply {
  kind: "reply";
  /** Defaults to one text block, "Hello from fake Anthropic". */
  content?: FakeAnthropicBlock[];
  /** Defaults to `tool_use` when a tool_use block is present, else `end_turn`. */
  stopReason?: string;
  usage?: FakeAnthropicUsage;
  id?: string;
  model?: string;
  headers?: Record<string, string>;
  /** Streaming: characters per text or JSON delta (default 4). */
  chunkSize?: number;
  /** Streaming: destroy the socket after writing this many events. */
  dropAfterEvents?: number;
  /** Streaming: after this many events, write an `error` event and end the response. */
  errorAfterEvents?: { after: number; type: string; message: string };
  /** Streaming: stop writing after this many events and keep the response open. */
  hangAfterEvents?: number;
}

export interface FakeAnthropicFailure {
  kind: "fail";
  status: number;
  /** Anthropic's error type: `overloaded_error`, `rate_limit_error`, `invalid_request_error`, ... */
  type: string;
  message?: string;
  headers?: Record<string, string>;
}

/** Never answers; the response stays open until the client gives up or the fake closes. */
export interface FakeAnthropicHang {
  kind: "hang";
}

/** Answers exactly this, whatever the request: for payloads the real API might send one day. */
export interface FakeAnthropicRaw {
  kind: "raw";
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** A request body as the fake received it (the fields tests read, and anything else). */
export interface AnthropicWireBody {
  model: string;
  max_tokens: number;
  messages: unknown[];
  stream?: boolean;
  [field: string]: unknown;
}

export type FakeAnthropicBehaviour =
  | FakeAnthropicReply
  | FakeAnthropicFailure
  | FakeAnthropicHang
  | FakeAnthropicRaw
  | ((body: AnthropicWireBody) => FakeAnthropicBehaviour);

export interface RecordedAnthropicRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: AnthropicWireBody;
  /** True once the client closed the connection before the response was complete. */
  closedByClient: boolean;
}

export interface FakeAnthropic {
  /** Base URL for the SDK's `baseURL` (the SDK appends `/v1/messages`). */
  url: string;
  requests: RecordedAnthropicRequest[];
  /** Scripts the next request (first in, first out). */
  enqueue(...behaviours: FakeAnthropicBehaviour[]): void;
  /** What a request gets when the queue is empty. */
  setDefault(behaviour: FakeAnthropicBehaviour): void;
  close(): Promise<void>;
}

const DEFAULT_REPLY: FakeAnthropicReply = { kind: "reply" };
/** A function behaviour may return another function; this many is plenty. */
const MAX_BEHAVIOUR_DEPTH = 8;

export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const requests: RecordedAnthropicRequest[] = [];
  const queue: FakeAnthropicBehaviour[] = [];
  let fallback: FakeAnthropicBehaviour = DEFAULT_REPLY;
  let sequence = 0;

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) writeError(response, 500, "api_error", `fake failed: ${String(error)}`);
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = await readBody(request);
    const path = (request.url ?? "").split("?")[0] ?? "";
    if (request.method !== "POST" || path !== "/v1/messages") {
      writeError(response, 404, "not_found_error", `No route for ${request.method} ${path}`);
      return;
    }
    let body: AnthropicWireBody;
    try {
      body = JSON.parse(raw) as AnthropicWireBody;
    } catch {
      writeError(response, 400, "invalid_request_error", "Request body is not valid JSON");
      return;
    }
    const record: RecordedAnthropicRequest = {
      method: request.method,
      path,
      headers: request.headers,
      body,
      closedByClient: false,
    };
    requests.push(record);
    response.on("close", () => {
      if (!response.writableFinished) record.closedByClient = true;
    });

    let behaviour = queue.shift() ?? fallback;
    for (let depth = 0; typeof behaviour === "function"; depth++) {
      if (depth >= MAX_BEHAVIOUR_DEPTH) throw new Error("behaviour functions nest too deep");
      behaviour = behaviour(body);
    }
    sequence++;
    if (behaviour.kind === "hang") return;
    if (behaviour.kind === "raw") {
      response.writeHead(behaviour.status, { "content-type": "application/json", ...behaviour.headers });
      response.end(behaviour.body);
      return;
    }
    if (behaviour.kind === "fail") {
      writeError(response, behaviour.status, behaviour.type, behaviour.message ?? behaviour.type, behaviour.headers);
      return;
    }
    const message = buildMessage(behaviour, body, sequence);
    if (body.stream) await writeStream(response, behaviour, message);
    else {
      response.writeHead(200, { "content-type": "application/json", "request-id": `req_fake_${sequence}`, ...behaviour.headers });
      response.end(JSON.stringify(message));
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue(...behaviours) {
      queue.push(...behaviours);
    },
    setDefault(behaviour) {
      fallback = behaviour;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function writeError(
  response: ServerResponse,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { "content-type": "application/json", "request-id": "req_fake_error", ...headers });
  response.end(JSON.stringify({ type: "error", error: { type, message }, request_id: "req_fake_error" }));
}

interface WireMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: Array<
    | { type: "text"; text: string; citations: null }
    | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> }
    | { type: "thinking"; thinking: string; signature: string }
    | { type: "redacted_thinking"; data: string }
  >;
  stop_reason: string;
  stop_sequence: null;
  usage: Required<Omit<FakeAnthropicUsage, "cache_creation">> & Pick<FakeAnthropicUsage, "cache_creation"> & { service_tier: string };
}

function buildMessage(reply: FakeAnthropicReply, body: AnthropicWireBody, sequence: number): WireMessage {
  const blocks = reply.content ?? [{ type: "text", text: "Hello from fake Anthropic" }];
  let toolNumber = 0;
  return {
    id: reply.id ?? `msg_fake_${sequence}`,
    type: "message",
    role: "assistant",
    model: reply.model ?? body.model,
    content: blocks.map((block) => {
      if (block.type === "text") return { type: "text", text: block.text, citations: null };
      if (block.type === "thinking") return { type: "thinking", thinking: block.thinking, signature: block.signature ?? "sig_fake" };
      if (block.type === "redacted_thinking") return { type: "redacted_thinking", data: block.data };
      return { type: "tool_use", id: block.id ?? `toolu_fake_${sequence}_${toolNumber++}`, name: block.name, input: block.input };
    }),
    stop_reason: reply.stopReason ?? (blocks.some((block) => block.type === "tool_use") ? "tool_use" : "end_turn"),
    stop_sequence: null,
    usage: {
      input_tokens: reply.usage?.input_tokens ?? 10,
      output_tokens: reply.usage?.output_tokens ?? 5,
      cache_read_input_tokens: reply.usage?.cache_read_input_tokens ?? 0,
      cache_creation_input_tokens: reply.usage?.cache_creation_input_tokens ?? 0,
      ...(reply.usage?.cache_creation ? { cache_creation: reply.usage.cache_creation } : {}),
      service_tier: "standard",
    },
  };
}

function split(text: string, size: number): string[] {
  const parts: string[] = [];
  for (let start = 0; start < text.length; start += size) parts.push(text.slice(start, start + size));
  return parts;
}

/** The events Anthropic streams for `message`, in order. */
function streamEvents(message: WireMessage, chunkSize: number): Array<{ type: string; [field: string]: unknown }> {
  const { usage } = message;
  const events: Array<{ type: string; [field: string]: unknown }> = [
    {
      type: "message_start",
      message: {
        ...message,
        content: [],
        stop_reason: null,
        // As Anthropic does: the input side in full, a token or so of output so far.
        usage: { ...usage, output_tokens: 1 },
      },
    },
  ];
  message.content.forEach((block, index) => {
    if (block.type === "text") {
      events.push({ type: "content_block_start", index, content_block: { type: "text", text: "", citations: null } });
      if (index === 0) events.push({ type: "ping" });
      for (const text of split(block.text, chunkSize)) {
        events.push({ type: "content_block_delta", index, delta: { type: "text_delta", text } });
      }
    } else if (block.type === "thinking") {
      events.push({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } });
      if (index === 0) events.push({ type: "ping" });
      for (const thinking of split(block.thinking, chunkSize)) {
        events.push({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking } });
      }
      events.push({ type: "content_block_delta", index, delta: { type: "signature_delta", signature: block.signature } });
    } else if (block.type === "redacted_thinking") {
      events.push({ type: "content_block_start", index, content_block: { type: "redacted_thinking", data: block.data } });
    } else {
      events.push({ type: "content_block_start", index, content_block: { type: "tool_use", id: block.id, name: block.name, input: {} } });
      if (index === 0) events.push({ type: "ping" });
      events.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: "" } });
      const json = Object.keys(block.input).length === 0 ? "" : JSON.stringify(block.input);
      for (const partial of split(json, chunkSize)) {
        events.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: partial } });
      }
    }
    events.push({ type: "content_block_stop", index });
  });
  events.push({
    type: "message_delta",
    delta: { stop_reason: message.stop_reason, stop_sequence: null },
    // Cumulative counts, as the current API reports them (input repeated, output in full).
    usage: {
      input_tokens: usage.input_tokens,
      cache_creation_input_tokens: usage.cache_creation_input_tokens,
      cache_read_input_tokens: usage.cache_read_input_tokens,
      ...(usage.cache_creation ? { cache_creation: usage.cache_creation } : {}),
      output_tokens: usage.output_tokens,
    },
  });
  events.push({ type: "message_stop" });
  return events;
}

/** Resolves once `text` left for the socket, so a later `destroy()` cannot swallow it. */
function write(response: ServerResponse, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (response.destroyed) resolve();
    else response.write(text, () => resolve());
  });
}

async function writeStream(response: ServerResponse, reply: FakeAnthropicReply, message: WireMessage): Promise<void> {
  response.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "request-id": `req_${message.id}`,
    ...reply.headers,
  });
  const events = streamEvents(message, reply.chunkSize ?? 4);
  for (const [count, event] of events.entries()) {
    if (count === reply.dropAfterEvents) {
      response.destroy();
      return;
    }
    if (count === reply.hangAfterEvents) return;
    if (count === reply.errorAfterEvents?.after) {
      const { type, message: text } = reply.errorAfterEvents;
      response.end(sse("error", { type: "error", error: { type, message: text } }));
      return;
    }
    if (response.destroyed) return; // the client went away
    await write(response, sse(event.type, event));
  }
  response.end();
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
