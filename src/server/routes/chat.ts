import type { ChatBody, ChatOptions, ChatStream, Gateway, GatewayChatResponse } from "../../index.js";
import type { Headers, IncomingCall, Reply } from "../call.js";
import { streamErrorEvent } from "../error-reply.js";
import { readJsonObject } from "../json-body.js";
import { attribution } from "../attribution.js";
import { gatewayJsonReply } from "./gateway-reply.js";

const SSE_HEADERS: Headers = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};

/** `POST /v1/chat/completions`: OpenAI's request in, OpenAI's JSON or SSE out. */
export async function chatCompletions(gateway: Gateway, call: IncomingCall, key: string | undefined, headers: Headers): Promise<Reply> {
  const body = await readJsonObject(call);
  // Filled in place, not `{ ...attribution(call, body), signal }`: on Node 20's V8 a property
  // added to a spread copy takes a slow path (~2 µs apiece).
  const options: ChatOptions = attribution(call, body);
  options.signal = call.signal;
  if (key !== undefined) options.key = key;
  const result = await gateway.chat(body as unknown as ChatBody, options);
  if (isStream(result)) {
    const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
    // The call resolved after its first chunk, so routing (and any fallback) has picked the
    // deployment: its headers go out with the stream's. The cost is known only at the end.
    const info = result.gateway;
    return {
      status: 200,
      headers: { ...headers, ...SSE_HEADERS, "x-modelgate-deployment": info.deployment, "x-modelgate-cache": info.cache },
      stream: toSse(result, includeUsage),
      cancel: () => result.abort(),
    };
  }
  return gatewayJsonReply(headers, result);
}

/**
 * The stream's cost, as an SSE comment (a line starting with `:`, which the SSE spec tells
 * every client to ignore) just before `data: [DONE]`: the chunks stay exactly OpenAI's, and a
 * client that wants the cost reads the comment. JSON responses carry the same in headers.
 */
function costComment(info: ChatStream["gateway"]): string {
  return `: modelgate ${JSON.stringify({ costUsd: info.costUsd, savedUsd: info.savedUsd, deployment: info.deployment, cache: info.cache })}\n\n`;
}

/**
 * Chunks as OpenAI frames them: `data: <json>\n\n` each, then `data: [DONE]\n\n`. The gateway
 * always ends with a usage chunk (no choices); it is passed on only when the client asked
 * with `stream_options.include_usage`, as OpenAI does. The cost follows as an SSE comment
 * (see `costComment`). An error after the first chunk ends the
 * stream with OpenAI's in-stream error event and no `[DONE]`, which the SDKs raise.
 */
async function* toSse(stream: ChatStream, includeUsage: boolean): AsyncGenerator<string, void, undefined> {
  try {
    for await (const chunk of stream) {
      if (chunk.choices.length === 0 && !includeUsage) continue;
      if (!includeUsage && chunk.usage != null) {
        const { usage: _usage, ...rest } = chunk;
        yield `data: ${JSON.stringify(rest)}\n\n`;
        continue;
      }
      yield `data: ${JSON.stringify(chunk)}\n\n`;
    }
  } catch (error) {
    yield streamErrorEvent(error);
    return;
  }
  // Read to its end, so the response is complete and costed (settled before this resolves).
  yield costComment((await stream.finalResponse()).gateway);
  yield "data: [DONE]\n\n";
}

function isStream(result: GatewayChatResponse | ChatStream): result is ChatStream {
  return Symbol.asyncIterator in result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
