import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A fake OpenAI-compatible server that answers `/v1/chat/completions` with exactly the body a
 * test gives it: a JSON completion, or SSE `data:` events (objects JSON-encoded, then
 * `data: [DONE]`). Bytes go out in pieces of random length (1 to 97 bytes, seeded, so a failure
 * replays), splitting lines, JSON and UTF-8 sequences as a real network may.
 *
 * @example
 * const fake = await startFakeCompatible();
 * fake.enqueue({ json: { id: "x", choices: [...] } });
 * // openai({ baseURL: fake.url, apiKey: "unused" }) reads it
 */
export interface FakeCompatible {
  readonly url: string;
  /** Request bodies received, oldest first. */
  readonly bodies: Record<string, unknown>[];
  enqueue(...replies: CompatibleReply[]): void;
  close(): Promise<void>;
}

export interface CompatibleReply {
  /** A non-streaming answer. */
  json?: unknown;
  /** Stream events; `[DONE]` is appended unless `omitDone`. */
  events?: unknown[];
  omitDone?: boolean;
  /** Seeds the split points; 1 by default. */
  seed?: number;
}

export async function startFakeCompatible(): Promise<FakeCompatible> {
  const queue: CompatibleReply[] = [];
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on("data", (part: Buffer) => parts.push(part));
    request.on("end", () => {
      bodies.push(JSON.parse(Buffer.concat(parts).toString("utf8") || "{}") as Record<string, unknown>);
      const reply = queue.shift();
      if (!reply) {
        response.writeHead(500, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: { message: "fake: nothing queued", type: "server_error" } }));
        return;
      }
      const stream = reply.events !== undefined;
      const text = stream
        ? [...(reply.events ?? []), ...(reply.omitDone ? [] : ["[DONE]"])]
            .map((event) => `data: ${typeof event === "string" ? event : JSON.stringify(event)}\n\n`)
            .join("")
        : JSON.stringify(reply.json);
      response.writeHead(200, { "content-type": stream ? "text/event-stream" : "application/json" });
      void writeInPieces(response, Buffer.from(text, "utf8"), reply.seed ?? 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    bodies,
    enqueue: (...replies) => queue.push(...replies),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function writeInPieces(response: NodeJS.WritableStream & { destroyed: boolean }, bytes: Buffer, seed: number): Promise<void> {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: deterministic piece lengths for a given seed.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  for (let at = 0; at < bytes.length && !response.destroyed; ) {
    const length = 1 + Math.floor(next() * 97);
    response.write(bytes.subarray(at, at + length));
    at += length;
    await new Promise((resolve) => setImmediate(resolve));
  }
  response.end();
}
