import type { ChatChunk } from "../core/chat-chunk.js";
import { GatewayError, ProviderError, TimeoutError } from "../core/errors.js";
import { abortReason } from "../core/abortable.js";
import { EndOnceStream, type StreamEnd } from "../core/stream-end.js";

export interface RelayOptions {
  provider: string;
  deployment: string;
  signal: AbortSignal;
  /** Rejects when the attempt is aborted (timeout, caller, close). */
  aborted: Promise<never>;
  /** Longest silence between chunks, or between two reads by the consumer. */
  idleTimeoutMs: number;
  /** Aborts the upstream request (attempt controller). */
  abort(reason: GatewayError): void;
  /** Called exactly once when the stream is over: ended, failed or abandoned (`undefined` error). */
  onEnd(error: GatewayError | undefined): void;
  /**
   * Called when the stream is abandoned while nobody is reading it (never read, or the
   * consumer stopped reading): the call must settle now, not at some later read.
   */
  onAbandoned(reason: GatewayError): void;
}

/**
 * Delivers a provider stream after its opening chunks (role-only ones and the first that
 * carries something, read by forward before the stream was committed). It enforces the idle timeout; it turns a
 * stream that stops without a finish reason (connection cut, no `[DONE]`) into an error from
 * the iterator rather than a clean but truncated end; it aborts the upstream request when the
 * consumer stops early; and it settles a stream nobody reads once it is aborted (idle, caller,
 * close), so reservations and in-flight counts never wait for a read that may not come.
 */
export function relayStream(
  opening: readonly ChatChunk[],
  upstream: AsyncIterator<ChatChunk>,
  options: RelayOptions,
): AsyncIterableIterator<ChatChunk> {
  return new StreamRelay(opening, upstream, options);
}

/** `relayStream`'s stream: ends exactly once through `EndOnceStream`, like the call's settlement tap. */
class StreamRelay extends EndOnceStream<ChatChunk> {
  private readonly pending: ChatChunk[];
  private reading = false;
  /** Rejects the read in flight (see `readRaced`). */
  private failRead: ((reason: GatewayError) => void) | undefined;
  /** Why the attempt was aborted, once it was: a read started after that fails at once. */
  private abortedWith: GatewayError | undefined;
  private abandonedBy: GatewayError | undefined;
  private sawFinish: boolean;
  /** One timer for both silences: the provider's while we wait on it, the consumer's otherwise. */
  private readonly idle: ReturnType<typeof setTimeout>;

  constructor(
    opening: readonly ChatChunk[],
    private readonly upstream: AsyncIterator<ChatChunk>,
    private readonly options: RelayOptions,
  ) {
    super({ next: () => this.read() });
    this.pending = [...opening];
    this.sawFinish = this.pending.some(hasFinishReason);
    this.idle = setTimeout(
      () => options.abort(new TimeoutError(options.idleTimeoutMs, this.reading ? "Stream idle" : "Stream not read")),
      options.idleTimeoutMs,
    );
    options.aborted.catch((reason: GatewayError) => {
      this.abortedWith = reason;
      // A pending read fails now, whether or not the adapter honours its signal.
      if (this.failRead) return this.failRead(reason);
      if (this.ended) return;
      this.abandonedBy = reason;
      this.endNow({ kind: "abandoned" });
      void upstream.return?.()?.catch(() => {});
      options.onAbandoned(reason);
    });
  }

  /** The opening chunks held by forward, then the provider's, each read raced against the attempt's abort. */
  private async read(): Promise<IteratorResult<ChatChunk>> {
    const held = this.pending.shift();
    if (held) {
      this.idle.refresh();
      return { done: false, value: held };
    }
    this.reading = true;
    this.idle.refresh();
    let result: IteratorResult<ChatChunk>;
    try {
      result = await this.readRaced();
    } finally {
      this.reading = false;
      this.failRead = undefined;
    }
    // Aborted after the chunk settled the read but before this line: `failRead` came too late
    // and the abort handler took the read for one in flight, so it is failed here, or a
    // consumer that reads no more would leave the stream (and the call) unsettled.
    if (this.abortedWith) throw this.abortedWith;
    if (!result.done) {
      this.idle.refresh();
      if (hasFinishReason(result.value)) this.sawFinish = true;
    }
    return result;
  }

  /**
   * The provider's next chunk, or the attempt's abort if that comes first. Not `options.race`
   * (`Promise.race` with the attempt's `aborted`): each race leaves a reaction on `aborted`,
   * which settles only if the attempt is aborted, so a stream kept one per chunk until its end
   * (measured on Node 20: ~400 bytes per chunk, so a 4,000-chunk answer held ~1.6 MB until it
   * ended). The constructor's one handler on `aborted` fails the pending read through `failRead`
   * instead, and a read that starts after the abort fails at once.
   */
  private readRaced(): Promise<IteratorResult<ChatChunk>> {
    if (this.abortedWith) return Promise.reject(this.abortedWith);
    const pending = this.upstream.next();
    return new Promise((resolve, reject) => {
      this.failRead = reject;
      pending.then(resolve, reject);
    });
  }

  override async next(): Promise<IteratorResult<ChatChunk>> {
    if (this.abandonedBy) throw this.abandonedBy;
    return super.next();
  }

  /** The consumer stopped early: ended first (so the abort below is not taken for an abandonment), then the upstream request aborted. */
  override async return(): Promise<IteratorResult<ChatChunk>> {
    if (!this.ended) {
      this.endNow({ kind: "abandoned" });
      this.options.abort(new GatewayAbandoned());
      await this.upstream.return?.().catch(() => {});
    }
    return { done: true, value: undefined };
  }

  protected override toFailure(error: unknown): GatewayError {
    return toStreamError(error, this.options);
  }

  /** A stream that stops without a finish reason (connection cut, no `[DONE]`) is truncated, not done. */
  protected override failureAtDone(): GatewayError | undefined {
    if (this.sawFinish) return undefined;
    const { provider, deployment } = this.options;
    return new ProviderError(`Stream from ${deployment} ended before a finish reason: the response is truncated`, {
      provider,
      deployment,
      retryable: true,
      type: "stream_truncated",
    });
  }

  protected override onEnd(end: StreamEnd): void {
    clearTimeout(this.idle);
    this.options.onEnd(end.kind === "failed" ? (end.error as GatewayError) : undefined);
  }
}

function hasFinishReason(chunk: ChatChunk): boolean {
  for (const choice of chunk.choices) if (choice.finish_reason) return true;
  return false;
}

function toStreamError(error: unknown, options: RelayOptions): GatewayError {
  if (options.signal.aborted) return abortReason(options.signal);
  if (error instanceof ProviderError) {
    error.deployment = options.deployment;
    return error;
  }
  if (error instanceof GatewayError) return error;
  return new ProviderError(`Stream from ${options.deployment} failed: ${error instanceof Error ? error.message : String(error)}`, {
    provider: options.provider,
    deployment: options.deployment,
    retryable: true,
    cause: error,
  });
}

/** Abort reason when the consumer stops reading: not an error anyone sees. */
class GatewayAbandoned extends GatewayError {
  readonly code = "aborted" as const;
  constructor() {
    super("The consumer stopped reading the stream");
  }
}
