import type { AdapterContext } from "../core/provider-adapter.js";
import type { AttemptContext } from "../core/attempt-context.js";
import { InvalidRequestError, ProviderError } from "../core/errors.js";
import type { EmbedContext } from "../core/provider-adapter.js";
import { embeddingUsageResponse, type EmbeddingCall } from "../core/embedding-request.js";
import { readEmbedding } from "./read-embedding.js";
import type { ChatChunk } from "../core/chat-chunk.js";
import { relayStream } from "./stream-relay.js";

interface OpenedStream {
  /** The chunks read so far: role-only ones, then the one that committed the stream. */
  opening: ChatChunk[];
  upstream: AsyncIterator<ChatChunk>;
}

/**
 * Chunks held back before a stream commits. A server that sends this many without content is
 * alive and busy (a reasoning model streams its thinking first, in fields the OpenAI shape
 * does not carry yet): the stream is then handed to the caller as it is, not failed.
 */
const MAX_CHUNKS_BEFORE_COMMIT = 64;

/**
 * The innermost step: one call to the adapter. For a stream it reads until the first chunk
 * that carries something (content, a tool call, a refusal, a finish reason, usage), not a
 * role-only one: providers report overload as an error event right after their opening
 * frame (Anthropic after `message_start`, OpenAI-compatible servers after the role chunk), and
 * until something was said the failure can still be retried or fall back.
 */
export function forward(attempt: AttemptContext): Promise<void> {
  if (attempt.call.embedding) return forwardEmbed(attempt, attempt.call.embedding);
  if (!attempt.call.stream) return forwardChat(attempt);
  return forwardStream(attempt);
}

async function forwardStream(attempt: AttemptContext): Promise<void> {
  const { opening, upstream } = await openStream(attempt);
  attempt.chunks = relayStream(opening, upstream, {
    provider: attempt.deployment.provider,
    deployment: attempt.deployment.id,
    signal: attempt.signal,
    aborted: attempt.aborted,
    idleTimeoutMs: attempt.idleTimeoutMs,
    // The attempt's methods, called on it: they are not bound.
    abort: (reason) => attempt.abort(reason),
    onEnd: (error) => attempt.onStreamEnd(error),
    onAbandoned: (reason) => attempt.call.abandonStream?.(reason),
  });
}

/**
 * What the adapter sees; `signal` is read through, so the attempt builds its controller only if
 * asked. An own enumerable getter (not a class's prototype getter), so an adapter that spreads
 * its context (`{ ...context }`) still passes the signal on.
 */
function adapterContextOf(attempt: AttemptContext): AdapterContext {
  return {
    model: attempt.deployment.model,
    get signal() {
      return attempt.signal;
    },
    timeoutMs: attempt.timeoutMs,
  };
}

async function forwardChat(attempt: AttemptContext): Promise<void> {
  attempt.response = await attempt.race(attempt.deployment.adapter.chat(attempt.call.request, adapterContextOf(attempt)));
}

/**
 * One embeddings request. A provider without an embeddings API refuses the call as a request it
 * cannot serve (nothing sent), so the router tries the route's next deployment.
 */
async function forwardEmbed(attempt: AttemptContext, call: EmbeddingCall): Promise<void> {
  const { deployment } = attempt;
  const adapter = deployment.adapter;
  if (!adapter.embed) {
    throw new InvalidRequestError(
      [{ path: "model", message: `${deployment.provider} cannot serve embeddings (deployment ${deployment.id} has no embeddings API)` }],
      "Invalid embeddings request:",
    );
  }
  const context: EmbedContext = { model: deployment.model, signal: attempt.signal, timeoutMs: attempt.timeoutMs };
  if (call.request.dimensions !== undefined) context.dimensions = call.request.dimensions;
  const returned = await attempt.race(adapter.embed([...call.inputs], context));
  const result = readEmbedding(returned, call, deployment);
  attempt.embeddings = result;
  attempt.response = embeddingUsageResponse(result, Math.floor(Date.now() / 1000));
}

async function openStream(attempt: AttemptContext): Promise<OpenedStream> {
  const { deployment } = attempt;
  const upstream = deployment.adapter.stream(attempt.call.request, adapterContextOf(attempt))[Symbol.asyncIterator]();
  const opening: ChatChunk[] = [];
  try {
    for (;;) {
      const next = await attempt.race(upstream.next());
      if (next.done) break;
      opening.push(next.value);
      if (commits(next.value) || opening.length >= MAX_CHUNKS_BEFORE_COMMIT) return { opening, upstream };
    }
  } catch (error) {
    void upstream.return?.()?.catch(() => {});
    throw error;
  }
  void upstream.return?.()?.catch(() => {});
  throw new ProviderError(`Stream from ${deployment.id} ended before its first content`, {
    provider: deployment.provider,
    deployment: deployment.id,
    retryable: true,
    type: "stream_empty",
  });
}

/** Whether a chunk says anything the caller must see: then the stream is theirs, no retry. */
function commits(chunk: ChatChunk): boolean {
  if (chunk.usage) return true;
  for (const choice of chunk.choices) {
    if (choice.finish_reason) return true;
    const { content, tool_calls: toolCalls, refusal } = choice.delta;
    if ((content !== undefined && content !== null && content !== "") || (toolCalls && toolCalls.length > 0)) return true;
    if (refusal !== undefined && refusal !== null && refusal !== "") return true;
  }
  return false;
}
