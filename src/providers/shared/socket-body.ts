import type { IncomingMessage } from "node:http";
import type { Readable, Transform } from "node:stream";
import type { AbortLink } from "./abort-link.js";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";

/** How many chunks wait for their reader (before one reads, or in the web stream) before the socket is paused. */
const QUEUED_CHUNKS = 4;
/** What `fetch` says when a body is read twice. */
const UNUSABLE = "Body is unusable: Body has already been read";

/** Where the chunks of a body go once someone reads it. */
interface Sink {
  chunk(chunk: Buffer): void;
  end(): void;
  error(error: unknown): void;
}

/** How a body ended: to its end, or with this error. */
type Outcome = { ended: true } | { ended: false; error: unknown };

/**
 * A response body on the socket, read one of two ways: all at once into a buffer (`readAll`,
 * what `json()`/`text()` need: no web stream, no promise per chunk) or chunk by chunk as a
 * web stream (`stream`, what an SSE consumer needs: each chunk is handed on as it arrives,
 * nothing is buffered to the end). Only one reader gets the bytes: whichever reads first.
 *
 * Until someone reads, up to `QUEUED_CHUNKS` chunks are kept and the socket is then paused,
 * as the web stream `fetch` returns would queue them: a short body nobody reads still ends
 * and its socket goes back to the pool.
 *
 * From the moment the headers arrive it behaves as undici's body does: aborting `signal`
 * destroys the socket and fails the read with the signal's reason; a socket error or a
 * connection closed before the end fails it with `TypeError("terminated", { cause })`. An
 * error before anyone reads is kept for the reader (an unheard "error" would crash).
 */
export class SocketBody {
  private readonly source: Readable;
  /** Chunks that arrived before anyone read. */
  private pending: Buffer[] = [];
  private sink: Sink | undefined;
  private outcome: Outcome | undefined;
  /** Who took the bytes: the buffered reader or the web stream. */
  private claimedBy: "buffer" | "stream" | undefined;
  private readonly onAbort = (): void => this.settle({ ended: false, error: abortReason(this.abort!.signal) }, true);

  constructor(
    private readonly response: IncomingMessage,
    contentEncoding: string | null,
    /** The request's abort listener, which the body takes over (and releases when it settles). */
    private readonly abort: AbortLink | undefined,
  ) {
    const decoder = decoderFor(contentEncoding);
    this.source = decoder ? response.pipe(decoder) : response;
    if (decoder) response.on("error", (error) => decoder.destroy(error));
    this.source.on("data", (chunk: Buffer) => {
      // A decoder may still hold decoded bytes after a failure destroyed the socket.
      if (this.outcome && !this.outcome.ended) return;
      if (this.sink) return this.sink.chunk(chunk);
      this.pending.push(chunk);
      if (this.pending.length >= QUEUED_CHUNKS) this.source.pause();
    });
    this.source.once("end", () => this.settle({ ended: true }, false));
    this.source.on("error", (error) => this.settle({ ended: false, error: new TypeError("terminated", { cause: error }) }, true));
    // A socket closed before the end without an error event (seen on some Node versions).
    response.once("close", () => {
      if (!response.complete) this.settle({ ended: false, error: new TypeError("terminated", { cause: new Error("other side closed") }) }, true);
    });
    if (abort?.signal.aborted) this.onAbort();
    else abort?.to(this.onAbort);
  }

  /** True while nobody has read the body (nor cancelled its stream). */
  get unread(): boolean {
    return this.claimedBy === undefined;
  }

  /** The whole body (decoded), without going through a web stream. */
  readAll(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      this.read("buffer", {
        chunk: (chunk) => chunks.push(chunk),
        end: () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)),
        error: reject,
      });
    });
  }

  /**
   * The body as a web stream that takes the bytes on its first read (a high-water mark of 0:
   * making it, as an SDK may do for every response, does not take them from `readAll`), then
   * queues at most `QUEUED_CHUNKS` chunks ahead of its reader.
   */
  stream(): ReadableStream<Uint8Array> {
    let started = false;
    return new ReadableStream<Uint8Array>(
      {
        pull: (controller) => {
          if (started) {
            this.source.resume();
            return;
          }
          started = true;
          if (this.claimedBy === "buffer") {
            controller.error(new TypeError(UNUSABLE));
            return;
          }
          this.read("stream", {
            chunk: (chunk) => {
              controller.enqueue(chunk);
              if ((controller.desiredSize ?? 0) <= -QUEUED_CHUNKS) this.source.pause();
            },
            end: () => controller.close(),
            error: (error) => controller.error(error),
          });
        },
        cancel: () => {
          // `json()` and the like have the bytes (fetch's body is locked then and refuses to be
          // cancelled): dropping their sink and cutting the socket would leave them pending forever.
          if (this.claimedBy === "buffer") throw new TypeError(UNUSABLE);
          this.claimedBy ??= "stream";
          this.sink = undefined;
          this.settle({ ended: false, error: undefined }, true);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Hands the reader what came before it, then what comes next. */
  private read(by: "buffer" | "stream", sink: Sink): void {
    this.claimedBy = by;
    const pending = this.pending;
    this.pending = [];
    if (this.outcome && !this.outcome.ended) return deliver(sink, this.outcome);
    for (const chunk of pending) sink.chunk(chunk);
    if (this.outcome) return deliver(sink, this.outcome);
    this.sink = sink;
    this.source.resume();
  }

  /** The first outcome wins; a failure destroys the socket (an end has handed it back to the pool). */
  private settle(outcome: Outcome, destroy: boolean): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.abort?.release();
    if (destroy) {
      this.pending = [];
      this.response.destroy();
      if (this.source !== this.response) this.source.destroy();
    }
    if (this.sink) deliver(this.sink, outcome);
  }
}

function deliver(sink: Sink, outcome: Outcome): void {
  if (outcome.ended) sink.end();
  else sink.error(outcome.error);
}

function decoderFor(encoding: string | null): Transform | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return createGunzip();
    case "deflate":
      return createInflate();
    case "br":
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

/** What `fetch` rejects with on abort: the signal's reason, else a DOMException named AbortError. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}
