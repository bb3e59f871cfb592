import type { ChatChunk } from "./chat-chunk.js";
import type { ChatResponse } from "./chat-response.js";
import { ChunkAccumulator } from "./chunk-accumulator.js";
import { EndOnceStream, type StreamEnd } from "./stream-end.js";

/** How a call ended, for middleware that act at the end (budgets, spend, cache, spans). */
export interface Settlement {
  /** The full answer: the response, or a stream's chunks assembled. Absent when nothing arrived. */
  response?: ChatResponse;
  /** Set when the call or its stream failed. */
  error?: unknown;
  /** A stream the consumer stopped early: `response` holds what was delivered. */
  abandoned: boolean;
}

type OnSettled = (settlement: Settlement) => void;

/**
 * The part of a call's context settlement reads and owns (a `CallContext` is one). Named here so
 * this file needs nothing from call-context.ts, which names `SettlementTap`.
 */
export interface SettlementHost {
  response?: ChatResponse;
  chunks?: AsyncIterable<ChatChunk>;
  settlement?: SettlementTap;
}

/**
 * Runs `onSettled` once when the call is over: at once for a plain response; for a stream,
 * when it ends, fails or is abandoned by the consumer. Call it after `await next()` resolved;
 * errors thrown by `next()` are the caller's to handle.
 *
 * A stream is tapped once per call, however many middleware wait on its end: the first call
 * wraps `ctx.chunks` in a {@link SettlementTap} (one accumulator, one async hop per chunk) and
 * later calls add their callback to it. Callbacks run in registration order, so inner
 * middleware (which register first) settle first, as nested taps used to. A middleware that
 * replaced `ctx.chunks` after a callback was registered gets a fresh tap around its chunks, and
 * the registered callbacks move to it: the tap is always the outermost layer the caller reads.
 */
export function whenSettled(ctx: SettlementHost, onSettled: OnSettled): void {
  const chunks = ctx.chunks;
  if (!chunks) {
    onSettled({ response: ctx.response, abandoned: false });
    return;
  }
  if (chunks instanceof SettlementTap && !chunks.detached) {
    chunks.callbacks.push(onSettled);
    return;
  }
  const tap = new SettlementTap(chunks);
  const previous = ctx.settlement;
  if (previous && previous !== tap) tap.adopt(previous);
  tap.callbacks.push(onSettled);
  ctx.settlement = tap;
  ctx.chunks = tap;
}

/**
 * The stream's assembled chunks so far, when `chunks` is the call's settlement tap (for
 * `ChatStream`, so the answer is assembled once per call); undefined otherwise.
 * @internal
 */
export function settlementAccumulatorOf(chunks: AsyncIterable<ChatChunk>): ChunkAccumulator | undefined {
  return chunks instanceof SettlementTap && !chunks.detached ? chunks.accumulator : undefined;
}

/**
 * The one tap on a call's stream: assembles what passes (for settlement and `ChatStream`) and
 * runs its callbacks once when the stream ends, fails or is abandoned (`EndOnceStream`).
 * @internal
 */
export class SettlementTap extends EndOnceStream<ChatChunk> {
  /** Run once, in order, when the stream ends, fails or is abandoned. */
  callbacks: OnSettled[] = [];
  readonly accumulator = new ChunkAccumulator();
  /** True once its callbacks moved to an outer tap: it only passes chunks through then. */
  detached = false;

  /** Takes over an earlier tap's callbacks (its chunks were replaced or wrapped). */
  adopt(earlier: SettlementTap): void {
    if (earlier.ended) return;
    this.callbacks = earlier.callbacks;
    earlier.callbacks = [];
    earlier.detached = true;
  }

  protected override onItem(chunk: ChatChunk): void {
    this.accumulator.add(chunk);
  }

  protected override onEnd(end: StreamEnd): void {
    if (end.kind === "done") this.settle({ response: this.accumulator.toResponse(), abandoned: false });
    else if (end.kind === "failed") this.settle({ response: this.partial(), error: end.error, abandoned: false });
    else this.settle({ response: this.partial(), abandoned: true });
  }

  private partial(): ChatResponse | undefined {
    return this.accumulator.hasContent ? this.accumulator.toResponse() : undefined;
  }

  /**
   * Runs every callback once. One that throws does not keep the others from running (their
   * reservations must still be released); the first such error is rethrown afterwards.
   */
  private settle(settlement: Settlement): void {
    const callbacks = this.callbacks;
    this.callbacks = [];
    let failed = false;
    let failure: unknown;
    for (const onSettled of callbacks) {
      try {
        onSettled(settlement);
      } catch (error) {
        if (!failed) {
          failed = true;
          failure = error;
        }
      }
    }
    if (failed) throw failure;
  }
}
