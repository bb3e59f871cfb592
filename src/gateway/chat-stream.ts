import type { ChatChunk } from "../core/chat-chunk.js";
import type { GatewayChatResponse } from "../core/chat-response.js";
import { ChunkAccumulator } from "../core/chunk-accumulator.js";
import { AbortError, type GatewayError } from "../core/errors.js";

/** After a `break` that follows the finish reason, how long to wait for the usage chunk. */
const USAGE_GRACE_MS = 250;
/** ... and at most how many chunks to read for it. */
const USAGE_GRACE_CHUNKS = 8;

/**
 * What `gateway.chat({ ..., stream: true })` resolves to: OpenAI-shaped chunks, then a final
 * chunk with `usage` and no choices. Iterate it once; `break` aborts the provider request.
 *
 * @example
 * const stream = await gateway.chat({ model: "smart", messages, stream: true });
 * for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? "");
 * const final = await stream.finalResponse();
 */
export class ChatStream implements AsyncIterable<ChatChunk> {
  private readonly accumulator: ChunkAccumulator;
  /** False when the accumulator is the call's settlement tap's, which adds every chunk itself. */
  private readonly ownsAccumulator: boolean;
  private iterating = false;
  private abandonedBy: GatewayError | undefined;
  private readonly done: Promise<GatewayChatResponse>;
  private resolveDone!: (response: GatewayChatResponse) => void;
  private rejectDone!: (error: unknown) => void;

  /** @internal */
  constructor(
    private readonly source: AsyncIterator<ChatChunk>,
    private readonly gatewayInfo: () => GatewayChatResponse["gateway"],
    /** The accumulator of the tap `source` is, if it is one: every chunk read is already in it. */
    shared?: ChunkAccumulator,
  ) {
    this.accumulator = shared ?? new ChunkAccumulator();
    this.ownsAccumulator = shared === undefined;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // finalResponse() may never be asked for; its rejection must not become unhandled.
    this.done.catch(() => {});
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ChatChunk, void, undefined> {
    if (this.iterating) throw new Error("A ChatStream can be iterated only once");
    this.iterating = true;
    let completed = false;
    try {
      for (;;) {
        const result = await this.source.next();
        if (result.done) break;
        if (this.ownsAccumulator) this.accumulator.add(result.value);
        yield result.value;
      }
      // A stream stopped while nobody read it ends here without its end: say why.
      if (this.abandonedBy) throw this.abandonedBy;
      completed = true;
      this.complete();
    } catch (error) {
      this.rejectDone(error);
      throw error;
    } finally {
      if (!completed && !this.abandonedBy) {
        // A `break` right after the finish reason is the common way to stop reading; the usage
        // chunk is still on its way, and without it the answer could be neither costed nor cached.
        if (this.accumulator.finished && (await this.readToEnd())) this.complete();
        else {
          await this.source.return?.();
          this.rejectDone(new Error("The stream was not read to its end"));
        }
      }
    }
  }

  /**
   * What the gateway did so far, like `res.gateway`: the deployment, route and cache outcome
   * are known once `gateway.chat()` resolved (a stream resolves after its first chunk, so after
   * any fallback); `costUsd` and `latencyMs` are final once the stream is over
   * (`finalResponse()`), 0 and the time so far before.
   */
  get gateway(): GatewayChatResponse["gateway"] {
    return this.gatewayInfo();
  }

  /**
   * The whole answer with usage and `.gateway`, once the stream is over. Reads the rest of
   * the stream (discarding chunks) when nobody iterates it.
   */
  async finalResponse(): Promise<GatewayChatResponse> {
    if (!this.iterating) {
      for await (const _chunk of this) {
        // drained into the accumulator
      }
    }
    return this.done;
  }

  /**
   * Stops the stream and aborts the provider request; safe to call at any time. Every
   * reservation the call held is released and what was delivered is recorded.
   */
  async abort(reason: GatewayError = new AbortError("The stream was aborted")): Promise<void> {
    this.abandonedBy ??= reason;
    await this.source.return?.();
    this.rejectDone(reason);
  }

  private complete(): void {
    this.resolveDone({ ...this.accumulator.toResponse(), gateway: this.gatewayInfo() });
  }

  /** Reads what is left after the finish reason, bounded in chunks and time; true if it ended. */
  private async readToEnd(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), USAGE_GRACE_MS);
    });
    try {
      for (let count = 0; count < USAGE_GRACE_CHUNKS; count++) {
        const result = await Promise.race([this.source.next(), timeout]);
        if (result === "timeout") return false;
        if (result.done) return true;
        if (this.ownsAccumulator) this.accumulator.add(result.value);
      }
      return false;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
