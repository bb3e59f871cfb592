/**
 * What the routes see of an HTTP request and hand back, independent of node:http or the
 * fetch API: both adapters translate to and from these, so every route is written once.
 */
export interface IncomingCall {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** The query string, without `?` (`""` when none). */
  readonly query: string;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  /** The whole body as text; rejects with `HttpError` 413 past the limit or 408 past the body timeout. */
  readBody(): Promise<string>;
  /** Aborts when the client goes away (or the server cuts the call while draining). */
  readonly signal: AbortSignal;
}

export type Headers = Record<string, string>;

export interface JsonReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

export interface StreamReply {
  readonly status: number;
  readonly headers: Headers;
  /** Text pieces written as they come; returning early (client gone) must release the source. */
  readonly stream: AsyncIterable<string>;
  /**
   * Stops the source when the client is gone before or while `stream` is read: returning a
   * generator that never started runs none of its cleanup, so the source is told directly.
   */
  readonly cancel: () => Promise<void>;
}

export type Reply = JsonReply | StreamReply;

export function isStreamReply(reply: Reply): reply is StreamReply {
  return "stream" in reply;
}

/** An HTTP-level refusal raised before the gateway is asked (body too large, bad JSON, ...). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: string = "invalid_request_error",
    readonly param: string | null = null,
  ) {
    super(message);
  }
}
