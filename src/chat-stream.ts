import type { ChatChunk } from "./contract/chat-chunk.js";
import type { GatewayChatResponse } from "./contract/chat-response.js";
import { ChunkAccumulator } from "./contract/chunk-accumulator.js";

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
  private readonly accumulator = new ChunkAccumulator();
  private iterating = false;
  private done: Promise<GatewayChatResponse>;
  private resolveDone!: (response: GatewayChatResponse) => void;
  private rejectDone!: (error: unknown) => void;

  /** @internal */
  constructor(
    private readonly source: AsyncIterator<ChatChunk>,
    private readonly gatewayInfo: () => GatewayChatResponse["gateway"],
  ) {
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
        this.accumulator.add(result.value);
        yield result.value;
      }
      completed = true;
      this.resolveDone({ ...this.accumulator.toResponse(), gateway: this.gatewayInfo() });
    } catch (error) {
      this.rejectDone(error);
      throw error;
    } finally {
      if (!completed) {
        await this.source.return?.();
        this.rejectDone(new Error("The stream was not read to its end"));
      }
    }
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

  /** Stops the stream and aborts the provider request; safe to call at any time. */
  async abort(): Promise<void> {
    await this.source.return?.();
    this.rejectDone(new Error("The stream was aborted"));
  }
}
