import type { AdapterContext } from "../core/provider-adapter.js";
import type { AttemptContext } from "../core/attempt-context.js";
import { ProviderError } from "../core/errors.js";
import type { ChatChunk } from "../core/chat-chunk.js";
import { relayStream } from "./stream-relay.js";

interface OpenedStream {
  first: ChatChunk;
  upstream: AsyncIterator<ChatChunk>;
}

/**
 * The innermost step: one call to the adapter. For a stream it waits for the first chunk,
 * so that a failure before it can still be retried or fall back.
 */
export async function forward(attempt: AttemptContext): Promise<void> {
  if (!attempt.call.stream) return forwardChat(attempt);
  const { first, upstream } = await openStream(attempt);
  attempt.chunks = relayStream(first, upstream, {
    provider: attempt.deployment.provider,
    deployment: attempt.deployment.id,
    signal: attempt.signal,
    race: attempt.race,
    aborted: attempt.aborted,
    idleTimeoutMs: attempt.idleTimeoutMs,
    abort: attempt.abort,
    onEnd: attempt.onStreamEnd,
    onAbandoned: (reason) => attempt.call.abandonStream?.(reason),
  });
}

async function forwardChat(attempt: AttemptContext): Promise<void> {
  const { deployment } = attempt;
  const adapterContext: AdapterContext = { model: deployment.model, signal: attempt.signal, timeoutMs: attempt.timeoutMs };
  attempt.response = await attempt.race(deployment.adapter.chat(attempt.call.request, adapterContext));
}

async function openStream(attempt: AttemptContext): Promise<OpenedStream> {
  const { deployment } = attempt;
  const adapterContext: AdapterContext = { model: deployment.model, signal: attempt.signal, timeoutMs: attempt.timeoutMs };
  const upstream = deployment.adapter.stream(attempt.call.request, adapterContext)[Symbol.asyncIterator]();
  let first: IteratorResult<ChatChunk>;
  try {
    first = await attempt.race(upstream.next());
  } catch (error) {
    void upstream.return?.()?.catch(() => {});
    throw error;
  }
  if (first.done) {
    throw new ProviderError(`Stream from ${deployment.id} ended before its first chunk`, {
      provider: deployment.provider,
      deployment: deployment.id,
      retryable: true,
      type: "stream_empty",
    });
  }
  return { first: first.value, upstream };
}
