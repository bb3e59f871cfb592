import type { ChatChunk } from "../core/chat-chunk.js";
import type { Usage } from "../core/chat-response.js";
import { EndOnceStream, type StreamEnd } from "../core/stream-end.js";

/**
 * Passes a stream through and calls `onEnd` once with the usage it reported (the last `usage`
 * seen, if any) when it ends, fails or is abandoned: for settling a deployment's TPM reservation
 * at the attempt level, where the call-level settlement does not reach.
 */
export function watchStreamUsage(
  chunks: AsyncIterable<ChatChunk>,
  onEnd: (usage: Usage | undefined) => void,
): AsyncIterableIterator<ChatChunk> {
  return new UsageWatch(chunks, onEnd);
}

class UsageWatch extends EndOnceStream<ChatChunk> {
  private usage: Usage | undefined;

  constructor(
    chunks: AsyncIterable<ChatChunk>,
    private readonly report: (usage: Usage | undefined) => void,
  ) {
    super(chunks);
  }

  protected override onItem(chunk: ChatChunk): void {
    if (chunk.usage) this.usage = chunk.usage;
  }

  protected override onEnd(_end: StreamEnd): void {
    this.report(this.usage);
  }
}
