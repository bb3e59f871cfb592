import type { ChatChunk } from "./chat-chunk.js";
import type { ChatResponse } from "./chat-response.js";
import type { Deployment, Route } from "./route.js";
import type { GatewayError } from "./errors.js";
import type { CallContext } from "./call-context.js";
import type { EmbeddingResult } from "./embedding-request.js";

/**
 * One try at one deployment. The router runs each attempt through the attempt pipeline
 * (per-attempt spans, deployment limits) around the forward step that calls the adapter.
 */
export interface AttemptContext {
  readonly call: CallContext;
  /** The route this deployment was picked from: the requested one or a fallback. */
  readonly route: Route;
  readonly deployment: Deployment;
  /** 1-based try number on this deployment. */
  readonly attempt: number;
  /** Aborts on caller abort, this attempt's timeout, the call's deadline or gateway close. */
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** Longest silence between two chunks of a stream. */
  readonly idleTimeoutMs: number;
  /** Aborts this attempt's upstream request. */
  readonly abort: (reason: GatewayError) => void;
  /** Settles with `work`, or rejects as soon as this attempt is aborted (timeout, caller, close). */
  readonly race: <T>(work: Promise<T>) => Promise<T>;
  /** Rejects with the reason when this attempt is aborted; never resolves. */
  readonly aborted: Promise<never>;
  /** Runs once when this attempt's stream is over (ended, failed or abandoned). */
  readonly onStreamEnd: (error: GatewayError | undefined) => void;
  /** Set by forward on success without streaming. */
  response?: ChatResponse;
  /** Set by forward when an embeddings call succeeded (`response` then carries its usage). */
  embeddings?: EmbeddingResult;
  /** Set by forward on success with streaming: the first chunk has arrived. */
  chunks?: AsyncIterable<ChatChunk>;
}
