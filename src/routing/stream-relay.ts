import type { ChatChunk } from "../core/chat-chunk.js";
import { GatewayError, ProviderError, TimeoutError } from "../core/errors.js";
import { abortReason } from "../core/abortable.js";

export interface RelayOptions {
  provider: string;
  deployment: string;
  signal: AbortSignal;
  /** Races a read against the attempt's abort. */
  race: <T>(work: Promise<T>) => Promise<T>;
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
  const pending = [...opening];
  let finished = false;
  let reading = false;
  let abandonedBy: GatewayError | undefined;
  let sawFinish = pending.some(hasFinishReason);
  // One timer for both silences: the provider's while we wait on it, the consumer's otherwise.
  const idle = setTimeout(
    () => options.abort(new TimeoutError(options.idleTimeoutMs, reading ? "Stream idle" : "Stream not read")),
    options.idleTimeoutMs,
  );

  const end = (error: GatewayError | undefined): void => {
    if (finished) return;
    finished = true;
    clearTimeout(idle);
    options.onEnd(error);
  };
  const fail = (error: unknown): never => {
    const failure = toStreamError(error, options);
    end(failure);
    throw failure;
  };

  options.aborted.catch((reason: GatewayError) => {
    // While a read is pending it fails through the race; otherwise nobody would notice.
    if (reading || finished) return;
    abandonedBy = reason;
    end(undefined);
    void upstream.return?.()?.catch(() => {});
    options.onAbandoned(reason);
  });

  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next(): Promise<IteratorResult<ChatChunk>> {
      if (abandonedBy) throw abandonedBy;
      const held = pending.shift();
      if (held) {
        idle.refresh();
        return { done: false, value: held };
      }
      if (finished) return { done: true, value: undefined };
      let result: IteratorResult<ChatChunk>;
      reading = true;
      idle.refresh();
      try {
        result = await options.race(upstream.next());
      } catch (error) {
        return fail(error);
      } finally {
        reading = false;
      }
      if (result.done) {
        if (!sawFinish) {
          return fail(
            new ProviderError(`Stream from ${options.deployment} ended before a finish reason: the response is truncated`, {
              provider: options.provider,
              deployment: options.deployment,
              retryable: true,
              type: "stream_truncated",
            }),
          );
        }
        end(undefined);
        return result;
      }
      idle.refresh();
      if (hasFinishReason(result.value)) sawFinish = true;
      return result;
    },
    async return(): Promise<IteratorResult<ChatChunk>> {
      if (!finished) {
        end(undefined);
        options.abort(new GatewayAbandoned());
        await upstream.return?.().catch(() => {});
      }
      return { done: true, value: undefined };
    },
  };
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
