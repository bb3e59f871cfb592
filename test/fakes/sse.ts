import type { ServerResponse } from "node:http";

/**
 * A tiny Server-Sent Events writer for the fake provider servers: OpenAI sends bare `data:`
 * lines, Anthropic names each event, Gemini uses `\r\n` separators, so the line ending and
 * the event name are the caller's to choose.
 *
 * @example
 * const sse = startSSE(response);
 * await sse.send({ hello: "world" });
 * await sse.send("[DONE]");
 * sse.end();
 */
export interface SSEWriter {
  /** Writes one event; objects are JSON-encoded, strings sent as they are. Resolves once flushed to the socket. */
  send(data: unknown, event?: string): Promise<void>;
  /** Ends the response cleanly (the client sees the stream end). */
  end(): void;
  /** True once the client went away or `end()` was called: stop writing. */
  readonly closed: boolean;
}

export interface SSEOptions {
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Line ending between fields and events; `"\n"` unless the provider uses `"\r\n"`. */
  newline?: "\n" | "\r\n";
  /** HTTP status; 200 unless a test wants something else. */
  status?: number;
}

/** Sends the SSE response headers and returns a writer for the events. */
export function startSSE(response: ServerResponse, options: SSEOptions = {}): SSEWriter {
  const newline = options.newline ?? "\n";
  let ended = false;
  response.writeHead(options.status ?? 200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
    ...options.headers,
  });
  // Headers go out now, so the client's `create()` resolves before the first event.
  response.flushHeaders();

  return {
    get closed() {
      return ended || response.destroyed || response.writableEnded;
    },
    send(data, event) {
      if (this.closed) return Promise.resolve();
      const payload = typeof data === "string" ? data : JSON.stringify(data);
      const text = `${event === undefined ? "" : `event: ${event}${newline}`}data: ${payload}${newline}${newline}`;
      return new Promise<void>((resolve) => {
        // A write to a socket the client closed fails; the caller learns it from `closed`.
        response.write(text, () => resolve());
      });
    },
    end() {
      if (ended) return;
      ended = true;
      if (!response.destroyed) response.end();
    },
  };
}
