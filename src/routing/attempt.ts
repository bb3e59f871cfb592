import type { AttemptContext } from "../core/attempt-context.js";
import type { CallContext } from "../core/call-context.js";
import type { ChatChunk } from "../core/chat-chunk.js";
import type { ChatResponse } from "../core/chat-response.js";
import type { EmbeddingResult } from "../core/embedding-request.js";
import { abortReason } from "../core/abortable.js";
import { deadlineExceeded } from "../core/deadline.js";
import { TimeoutError } from "../core/errors.js";
import type { GatewayError } from "../core/errors.js";
import type { CooldownEvent } from "../core/events.js";
import type { Deployment, Route } from "../core/route.js";
import { AttemptAbort } from "./attempt-abort.js";
import { isRetryable } from "./decide.js";
import type { AttemptTicket, HealthTracker } from "./health.js";

/** What every attempt of one router shares: built once, not per attempt. */
export interface AttemptHost {
  readonly health: HealthTracker;
  /** Attempts in flight, so the gateway's `close()` can abort them without a listener per call. */
  readonly live: Set<AttemptAbort>;
  readonly reportCooldown: (ctx: CallContext, cooldown: CooldownEvent) => void;
}

/**
 * One try at one deployment, as the attempt pipeline sees it, with its own bookkeeping: its
 * timer, its caller-abort listener, its place in `live` and its health ticket. A class, not an
 * object literal of closures: on the hot path each closure (and the context they share) was a
 * per-attempt allocation; here `abort`, `race`, `signal` and `onStreamEnd` are methods.
 * Callers must call them on the attempt (`attempt.race(work)`), not detach them.
 */
export class Attempt extends AttemptAbort implements AttemptContext {
  response?: ChatResponse;
  embeddings?: EmbeddingResult;
  chunks?: AsyncIterable<ChatChunk>;
  /** A stream's time to its first chunk: its latency sample if it ends well. */
  firstChunkMs = 0;
  readonly ticket: AttemptTicket;
  private readonly timer: ReturnType<typeof setTimeout>;
  /** Only a caller's own signal needs a listener; gateway close reaches attempts through `live`. */
  private readonly callerSignal: AbortSignal | undefined;
  private released = false;

  constructor(
    private readonly host: AttemptHost,
    readonly call: CallContext,
    readonly route: Route,
    readonly deployment: Deployment,
    readonly attempt: number,
    readonly timeoutMs: number,
    /** The attempt's own timeout; `timeoutMs` is less when the call's deadline comes first. */
    readonly perAttemptMs: number,
    readonly idleTimeoutMs: number,
  ) {
    super();
    // The callback is shared and takes the attempt as an argument: no closure per attempt.
    this.timer = setTimeout(timeOut, timeoutMs, this);
    this.callerSignal = call.options.signal ? call.signal : undefined;
    // The attempt is its own listener (`handleEvent`), so no closure per attempt either.
    if (this.callerSignal) this.callerSignal.addEventListener("abort", this, { once: true });
    host.live.add(this);
    this.ticket = host.health.begin(deployment.id);
  }

  /** The caller's signal aborted: abort this attempt with its reason. */
  handleEvent(): void {
    this.abort(abortReason(this.call.signal));
  }

  /** The attempt is streaming: its timer gives way to the stream's idle timer. */
  stopTimer(): void {
    clearTimeout(this.timer);
  }

  /** Ends the attempt's bookkeeping, once: timer, listener, `live`, health ticket. */
  release(): void {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener("abort", this);
    this.host.live.delete(this);
    this.host.health.end(this.deployment.id, this.ticket);
  }

  onStreamEnd(error: GatewayError | undefined): void {
    // A stream counts for its deployment only once it is over: one that is cut midway is
    // a failure like any other, or a deployment that cuts every stream would stay healthy.
    const { health, reportCooldown } = this.host;
    const id = this.deployment.id;
    if (error === undefined) health.success(id, this.firstChunkMs, this.ticket);
    else if (isRetryable(error)) {
      const cooledFor = health.failure(id, this.ticket);
      if (cooledFor !== undefined) {
        reportCooldown(this.call, { deployment: id, durationMs: cooledFor, reason: this.ticket.probe ? "probe-failed" : "failures" });
      }
    }
    this.release();
  }
}

/**
 * The attempt's timer fired. Its error is built only now: an Error captures a stack trace,
 * which cost more than the rest of the router put together.
 */
function timeOut(attempt: Attempt): void {
  attempt.abort(attempt.timeoutMs < attempt.perAttemptMs ? deadlineExceeded(attempt.call) : new TimeoutError(attempt.perAttemptMs));
}
