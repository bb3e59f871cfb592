import { afterAll, describe, expect, it } from "vitest";
import { createGateway } from "../src/index.js";
import { createHandler } from "../src/server.js";
import { mockProvider } from "../src/testing.js";

/** `handler.fetch`: the web-standard face (Hono, Next.js, Bun, Deno) over the same routes. */
const provider = mockProvider({ reply: "alpha beta gamma", chunkDelayMs: 5 });
const gateway = createGateway({ providers: { mock: provider }, models: { m: "mock/model" } });
const handler = createHandler(gateway, { auth: { tokens: { "tok-1": "team" } }, maxBodyBytes: 2_048 });
afterAll(async () => {
  await handler.close();
  await gateway.close();
});

const post = (body: unknown, headers: Record<string, string> = { authorization: "Bearer tok-1" }): Request =>
  new Request("http://gateway.local/v1/chat/completions", { method: "POST", headers, body: JSON.stringify(body) });
const messages = [{ role: "user", content: "hello" }];

describe("handler.fetch", () => {
  it("answers JSON with the gateway headers", async () => {
    const response = await handler.fetch(post({ model: "m", messages }));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-modelgate-deployment")).toBe("mock/model");
    expect(((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe("alpha beta gamma");
  });

  it("streams SSE ending in [DONE]", async () => {
    const response = await handler.fetch(post({ model: "m", messages, stream: true }));
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await response.text();
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(text).toContain('"content":"gamma"');
    expect(handler.inFlight).toBe(0);
  });

  it("cancelling the response body stops the stream and releases the call", async () => {
    const slow = mockProvider({ reply: "a b c d e f g h", chunkDelayMs: 10_000 });
    const slowGateway = createGateway({ providers: { slow }, models: { s: "slow/x" } });
    const slowHandler = createHandler(slowGateway);
    const response = await slowHandler.fetch(post({ model: "s", messages, stream: true }, {}));
    const reader = response.body!.getReader();
    await reader.read();
    expect(slowHandler.inFlight).toBe(1);
    await reader.cancel();
    expect(slowHandler.inFlight).toBe(0);
    await slowHandler.close();
    await slowGateway.close();
  });

  it("while draining: /readyz is 503 and new calls are refused with 503", async () => {
    const draining = createHandler(gateway);
    expect((await draining.fetch(new Request("http://gateway.local/readyz"))).status).toBe(200);
    await draining.drain(1_000);
    expect((await draining.fetch(new Request("http://gateway.local/readyz"))).status).toBe(503);
    const refused = await draining.fetch(post({ model: "m", messages }, {}));
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("gateway_closed");
    await draining.close();
  });

  it("401 without a token, 413 past the body limit", async () => {
    expect((await handler.fetch(post({ model: "m", messages }, {}))).status).toBe(401);
    const big = await handler.fetch(post({ model: "m", messages: [{ role: "user", content: "x".repeat(4_000) }] }));
    expect(big.status).toBe(413);
  });
});
