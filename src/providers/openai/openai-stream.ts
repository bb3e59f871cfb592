import { randomUUID } from "node:crypto";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { Stream } from "openai/streaming";
import type { ChatChunk } from "../../core/chat-chunk.js";
import type { GatewayError } from "../../core/errors.js";
import { fromOpenAIChunk } from "./from-openai-response.js";

/** A stream of nothing but empty chunks this long is a broken server, not a slow answer. */
const MAX_EMPTY_CHUNKS_IN_A_ROW = 10_000;

export interface OpenAIStreamOptions {
  /** Starts the request; the signal aborts it, whether it is still connecting or streaming. */
  open(signal: AbortSignal): Promise<Stream<ChatCompletionChunk>>;
  /** The caller's signal (`ctx.signal`). */
  signal: AbortSignal;
  /** Reported as `model` when a chunk lacks one. */
  model: string;
  provider: string;
  /** Classifies what the SDK throws; `signal` is passed so an abort reads as one. */
  toError(error: unknown, signal: AbortSignal): GatewayError;
}

/**
 * OpenAI chunks as the gateway's `ChatChunk`s. Written as an iterator rather than an async
 * generator so that `return()` aborts the upstream request at once, even while a `next()`
 * is waiting on the network (a generator would queue the `return()` behind it).
 *
 * The SDK ends a stream silently when its request is aborted; this iterator turns that into
 * an error when the caller's signal caused it, so a cut stream never looks complete.
 */
export class OpenAIChunkStream implements AsyncIterableIterator<ChatChunk> {
  private readonly controller = new AbortController();
  private readonly onCallerAbort = (): void => this.controller.abort(this.options.signal.reason);
  private opening: Promise<Stream<ChatCompletionChunk>> | undefined;
  private upstream: Stream<ChatCompletionChunk> | undefined;
  private iterator: AsyncIterator<ChatCompletionChunk> | undefined;
  private finished = false;
  /** Names tool calls sent without an id when the chunks carry no id either. */
  private readonly idSeed = randomUUID();
  /**
   * Usage a vendor put on a chunk with choices (Groq, DeepSeek, Mistral, Perplexity put it on
   * the finish chunk), held back and sent at the end as its own `choices: []` chunk, the shape
   * OpenAI streams and the gateway's contract promises. A later usage-only chunk replaces it.
   */
  private heldUsage: ChatChunk | undefined;

  constructor(private readonly options: OpenAIStreamOptions) {
    if (options.signal.aborted) this.controller.abort(options.signal.reason);
    else options.signal.addEventListener("abort", this.onCallerAbort, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ChatChunk>> {
    // The upstream ended while usage was held: that usage chunk was the last to send.
    if (this.finished && this.heldUsage) {
      const usage = this.heldUsage;
      this.heldUsage = undefined;
      return { done: false, value: usage };
    }
    for (let empty = 0; empty < MAX_EMPTY_CHUNKS_IN_A_ROW; empty++) {
      if (this.finished) return { done: true, value: undefined };
      let result: IteratorResult<ChatCompletionChunk>;
      try {
        const iterator = this.iterator ?? (await this.start());
        result = await iterator.next();
      } catch (error) {
        if (this.finished) return { done: true, value: undefined }; // return() raced us: not an error
        this.finish();
        throw this.options.toError(error, this.options.signal);
      }
      if (this.finished) return { done: true, value: undefined };
      if (result.done) {
        this.finish(true);
        if (this.options.signal.aborted) throw this.options.toError(undefined, this.options.signal);
        const usage = this.heldUsage;
        this.heldUsage = undefined;
        return usage ? { done: false, value: usage } : { done: true, value: undefined };
      }
      let chunk: ChatChunk | undefined;
      try {
        chunk = fromOpenAIChunk(result.value, this.options.model, this.options.provider, this.idSeed);
      } catch (error) {
        this.finish();
        throw error;
      }
      if (chunk) return { done: false, value: this.holdUsage(chunk) };
    }
    this.finish();
    throw this.options.toError(new SyntaxError(`${MAX_EMPTY_CHUNKS_IN_A_ROW} empty chunks in a row`), this.options.signal);
  }

  /**
   * A chunk with choices and usage loses its usage, kept for the end; a usage-only chunk (OpenAI's
   * own) goes out as it is and supersedes what was held.
   */
  private holdUsage(chunk: ChatChunk): ChatChunk {
    if (!chunk.usage) return chunk;
    if (chunk.choices.length === 0) {
      this.heldUsage = undefined;
      return chunk;
    }
    const { usage, ...rest } = chunk;
    this.heldUsage = {
      id: chunk.id,
      object: "chat.completion.chunk",
      created: chunk.created,
      model: chunk.model,
      choices: [],
      usage,
      ...(chunk.system_fingerprint !== undefined ? { system_fingerprint: chunk.system_fingerprint } : {}),
    };
    return rest;
  }

  /** The consumer stopped early: abort the upstream request now. */
  async return(): Promise<IteratorResult<ChatChunk>> {
    this.heldUsage = undefined;
    this.finish();
    return { done: true, value: undefined };
  }

  private async start(): Promise<AsyncIterator<ChatCompletionChunk>> {
    this.opening ??= this.options.open(this.controller.signal);
    const upstream = await this.opening;
    this.upstream = upstream;
    // A return() while connecting left nothing to abort yet: abort what just arrived.
    if (this.finished) upstream.controller.abort();
    this.iterator = upstream[Symbol.asyncIterator]();
    return this.iterator;
  }

  /**
   * Idempotent: detaches from the caller's signal and aborts the request unless it already
   * ended. `complete`: the SDK read the body to its end, so there is nothing left to cut and its
   * iterator already released the body reader. Skipping the aborts then is not only tidier: an
   * `abort()` without a reason builds a `DOMException` (a stack trace) here and a second one in
   * the SDK's listener, measured ~15 µs hot and 60-90 µs of CPU per stream in situ.
   */
  private finish(complete = false): void {
    if (this.finished) return;
    this.finished = true;
    this.options.signal.removeEventListener("abort", this.onCallerAbort);
    if (complete) return;
    // Aborting a request that already completed is a no-op; one still open is cut here.
    this.controller.abort();
    this.upstream?.controller.abort();
    // Lets the SDK's own iterator run its cleanup (it releases the body reader).
    void this.iterator?.return?.()?.catch(() => {});
  }
}
