import type { ChatChunk } from "../contract/chat-chunk.js";
import { GatewayError, ProviderError, TimeoutError } from "../errors.js";
import { abortReason } from "./abortable.js";

export interface RelayOptions {
  provider: string;
  deployment: string;
  signal: AbortSignal;
  /** Races a read against the attempt's abort. */
  race: <T>(work: Promise<T>) => Promise<T>;
  /** Longest silence between chunks; past it the stream fails with a TimeoutError. */
  idleTimeoutMs: number;
  /** Aborts the upstream request (attempt controller). */
  abort(reason: GatewayError): void;
  /** Called exactly once when the stream is over: ended, failed or abandoned. */
  onEnd(error: GatewayError | undefined): void;
}

/**
 * Delivers a provider stream after its first chunk: enforces the idle timeout, turns a stream
 * that stops without a finish reason (connection cut, no `[DONE]`) into an error from the
 * iterator rather than a clean but truncated end, and aborts the upstream request when the
 * consumer stops early.
 */
export function relayStream(
  first: ChatChunk,
  upstream: AsyncIterator<ChatChunk>,
  options: RelayOptions,
): AsyncIterableIterator<ChatChunk> {
  let pendingFirst: ChatChunk | undefined = first;
  let finished = false;
  let sawFinish = hasFinishReason(first);
  const idle = setTimeout(() => options.abort(new TimeoutError(options.idleTimeoutMs, "Stream idle")), options.idleTimeoutMs);

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

  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next(): Promise<IteratorResult<ChatChunk>> {
      if (pendingFirst) {
        const chunk = pendingFirst;
        pendingFirst = undefined;
        return { done: false, value: chunk };
      }
      if (finished) return { done: true, value: undefined };
      let result: IteratorResult<ChatChunk>;
      try {
        result = await options.race(upstream.next());
      } catch (error) {
        return fail(error);
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
