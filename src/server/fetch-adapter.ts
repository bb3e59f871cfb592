import { AbortError } from "../index.js";
import { HttpError, isStreamReply, type IncomingCall } from "./call.js";
import type { Dispatch } from "./dispatch.js";
import { errorReply } from "./error-reply.js";
import type { InFlight } from "./in-flight.js";
import type { NodeLimits } from "./node-adapter.js";

const encoder = new TextEncoder();

/**
 * `handler.fetch(request)`: the web-standard face (Hono, Next.js route handlers, Bun, Deno).
 * The request's own signal (the client went away) aborts the call; so does cancelling the
 * response stream.
 */
export function createFetchHandler(dispatch: Dispatch, inFlight: InFlight, limits: NodeLimits) {
  return async function fetch(request: Request): Promise<Response> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(new AbortError("The client closed the connection"));
    if (request.signal.aborted) onAbort();
    else request.signal.addEventListener("abort", onAbort, { once: true });
    const endCall = inFlight.begin(controller);
    const end = (): void => {
      request.signal.removeEventListener("abort", onAbort);
      endCall();
    };
    const url = new URL(request.url);
    if (request.url.length > limits.maxUrlLength) {
      end();
      return toResponse(errorReply(new HttpError(414, "request_invalid", `The URL is longer than ${limits.maxUrlLength} characters`)));
    }
    const call: IncomingCall = {
      method: request.method,
      path: url.pathname,
      query: url.search.slice(1),
      signal: controller.signal,
      header: (name) => request.headers.get(name) ?? undefined,
      readBody: () => readBody(request, controller.signal, limits),
    };
    let reply;
    try {
      reply = await dispatch(call);
    } catch (error) {
      end();
      throw error;
    }
    if (!isStreamReply(reply)) {
      end();
      return toResponse(reply);
    }
    const iterator = reply.stream[Symbol.asyncIterator]();
    const body = new ReadableStream<Uint8Array>({
      async pull(stream) {
        try {
          const next = await iterator.next();
          if (next.done) {
            stream.close();
            end();
          } else stream.enqueue(encoder.encode(next.value));
        } catch (error) {
          end();
          stream.error(error);
        }
      },
      async cancel() {
        controller.abort(new AbortError("The client closed the connection"));
        try {
          await reply.cancel();
          await iterator.return?.();
        } finally {
          end();
        }
      },
    });
    return new Response(body, { status: reply.status, headers: reply.headers });
  };
}

function toResponse(reply: { status: number; headers: Record<string, string>; body: string }): Response {
  return new Response(reply.body, { status: reply.status, headers: reply.headers });
}

async function readBody(request: Request, signal: AbortSignal, limits: NodeLimits): Promise<string> {
  const declared = Number(request.headers.get("content-length"));
  if (declared > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes);
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new HttpError(408, "request_timeout", `The request body did not arrive within ${limits.bodyTimeoutMs} ms`)),
      limits.bodyTimeoutMs,
    );
  });
  const aborted = new Promise<never>((_, reject) => {
    signal.addEventListener("abort", () => reject(new AbortError("The client closed the connection")), { once: true });
  });
  aborted.catch(() => {});
  timeout.catch(() => {});
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), timeout, aborted]);
      if (done) break;
      bytes += value.byteLength;
      if (bytes > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes);
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function tooLarge(max: number): HttpError {
  return new HttpError(413, "request_too_large", `The request body is larger than ${max} bytes`);
}
