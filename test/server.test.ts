import { getEventListeners } from "node:events";
import { Agent, request as httpRequest } from "node:http";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createGateway, type Gateway, type RequestEvent } from "../src/index.js";
import { openai } from "../src/openai.js";
import { serve, type RunningServer, type ServeOptions } from "../src/server.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";

/**
 * The gateway behind `serve()`, driven by the official `openai` SDK (and raw HTTP where the
 * bytes matter), with the fake OpenAI server as the provider on loopback.
 */
const PROVIDER_SECRET = "sk-provider-SECRET-0123456789";
const TOKEN_A = "mg-test-token-team-a";
const TOKEN_B = "mg-test-token-team-b";

let fake: FakeOpenAI;
let gateway: Gateway | undefined;
let server: RunningServer | undefined;

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  fake.setDefault({});
});
afterEach(async () => {
  await server?.close();
  await gateway?.close();
  server = undefined;
  gateway = undefined;
});

async function start(config: Record<string, unknown> = {}, options: ServeOptions = {}): Promise<RunningServer> {
  gateway = createGateway({
    providers: { openai: openai({ baseURL: fake.url, apiKey: PROVIDER_SECRET }) },
    models: { fast: "openai/gpt-4o-mini", smart: "openai/gpt-4o" },
    retry: { retries: 0 },
    ...config,
  });
  server = await serve(gateway, { port: 0, ...options });
  return server;
}

function client(apiKey = "unused", extra: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${server!.url}/v1`, maxRetries: 0, ...extra });
}

/** A fetch that counts what the SDK sends: how a test sees whether it retried. */
function countingFetch(): { fetch: typeof fetch; count: () => number } {
  let calls = 0;
  return {
    fetch: (input, init) => {
      calls++;
      return fetch(input, init);
    },
    count: () => calls,
  };
}

const messages = [{ role: "user" as const, content: "Hello there" }];

/** POSTs `parts` to /v1/chat/completions over raw HTTP, `gapMs` apart: how a body arrives late or in pieces. */
function rawPost(base: string, headers: Record<string, string>, parts: string[], gapMs = 0): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/v1/chat/completions`, { method: "POST", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (text: string) => (body += text));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    const send = (index: number): void => {
      if (index === parts.length) return void req.end();
      req.write(parts[index]!);
      if (gapMs > 0) setTimeout(() => send(index + 1), gapMs);
      else send(index + 1);
    };
    send(0);
  });
}


describe("POST /v1/chat/completions over the openai SDK", () => {
  it("answers JSON with the gateway's headers and no `.gateway` field in the body", async () => {
    await start();
    fake.enqueue({ reply: "Hi!", usage: { promptTokens: 10, completionTokens: 2 } });
    const { data, response } = await client().chat.completions.create({ model: "fast", messages }).withResponse();
    expect(data.choices[0]?.message.content).toBe("Hi!");
    expect(data.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 2 });
    expect(data).not.toHaveProperty("gateway");
    expect(response.headers.get("x-modelgate-deployment")).toBe("openai/gpt-4o-mini");
    expect(response.headers.get("x-modelgate-cache")).toBe("miss");
    expect(Number(response.headers.get("x-modelgate-cost-usd"))).toBeGreaterThan(0);
    expect(response.headers.get("x-request-id")).toMatch(/^[\w-]{8,}$/);
    expect(fake.lastRequest?.body.model).toBe("gpt-4o-mini");
    expect(fake.lastRequest?.headers.authorization).toBe(`Bearer ${PROVIDER_SECRET}`);
  });

  it("streams through the SDK, usage only when include_usage asks for it", async () => {
    await start();
    fake.setDefault({ reply: "one two three" });
    const plain = await client().chat.completions.create({ model: "fast", messages, stream: true });
    let text = "";
    let usageSeen = false;
    let choiceless = 0;
    for await (const chunk of plain) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usageSeen = true;
      if (chunk.choices.length === 0) choiceless++;
    }
    expect(text).toBe("one two three");
    expect(usageSeen).toBe(false);
    expect(choiceless).toBe(0);

    const withUsage = await client().chat.completions.create({ model: "fast", messages, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of withUsage) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.total_tokens).toBeGreaterThan(0);
  });

  it("frames SSE exactly as OpenAI does: `data: <json>\\n\\n` events ending with `data: [DONE]\\n\\n`", async () => {
    await start();
    fake.setDefault({ reply: "a b" });
    const response = await fetch(`${server!.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fast", messages, stream: true, stream_options: { include_usage: true } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const raw = await response.text();
    const events = raw.split("\n\n");
    expect(events.pop()).toBe("");
    expect(events.at(-1)).toBe("data: [DONE]");
    // The one non-data event: the cost, as an SSE comment right before [DONE].
    expect(events.at(-2)).toMatch(/^: modelgate \{/);
    for (const event of events.slice(0, -2)) {
      expect(event.startsWith("data: ")).toBe(true);
      expect(JSON.parse(event.slice(6))).toMatchObject({ object: "chat.completion.chunk" });
    }
    expect(raw.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("streams with the deployment and cache headers, and the cost in an SSE comment before [DONE] (raw fetch)", async () => {
    // The first deployment fails before any chunk: the headers name the fallback that streamed.
    await start({ models: { fast: { deployments: ["openai/gpt-4o-mini"], fallbacks: ["smart"] }, smart: "openai/gpt-4o" } });
    fake.enqueue({ fail: { status: 500 } });
    fake.setDefault({ reply: "a b", usage: { promptTokens: 10, completionTokens: 2 } });
    const response = await fetch(`${server!.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fast", messages, stream: true }),
    });
    expect(response.headers.get("x-modelgate-deployment")).toBe("openai/gpt-4o");
    expect(response.headers.get("x-modelgate-cache")).toBe("miss");
    expect(response.headers.get("x-request-id")).toMatch(/^[\w-]{8,}$/);
    const raw = await response.text();
    const comment = /^: modelgate (.*)$/m.exec(raw);
    expect(comment).not.toBeNull();
    const info = JSON.parse(comment![1]!) as { costUsd: number; savedUsd: number; deployment: string; cache: string };
    expect(info).toMatchObject({ deployment: "openai/gpt-4o", cache: "miss", savedUsd: 0 });
    // gpt-4o: $2.50 per 1M tokens in, $10 out.
    expect(info.costUsd).toBe(0.000045);
    expect(raw.endsWith(`${comment![0]}\n\ndata: [DONE]\n\n`)).toBe(true);
  });

  it("streams through the openai SDK with the comment in place: chunks parse, headers readable via withResponse()", async () => {
    await start();
    fake.setDefault({ reply: "one two", usage: { promptTokens: 10, completionTokens: 2 } });
    const { data: stream, response } = await client()
      .chat.completions.create({ model: "fast", messages, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect(response.headers.get("x-modelgate-deployment")).toBe("openai/gpt-4o-mini");
    expect(response.headers.get("x-modelgate-cache")).toBe("miss");
    let text = "";
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe("one two");
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 2 });
  });

  it("passes tools and tool calls both ways, JSON and streamed", async () => {
    await start();
    const tools = [{ type: "function" as const, function: { name: "weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
    fake.enqueue({ toolCalls: [{ id: "call_1", name: "weather", arguments: { city: "Paris" } }] });
    const res = await client().chat.completions.create({ model: "fast", messages, tools });
    expect(res.choices[0]?.finish_reason).toBe("tool_calls");
    expect(res.choices[0]?.message.tool_calls?.[0]).toMatchObject({ id: "call_1", function: { name: "weather", arguments: '{"city":"Paris"}' } });
    expect(fake.lastRequest?.body.tools).toEqual(tools);

    fake.enqueue({ toolCalls: [{ id: "call_2", name: "weather", arguments: { city: "Rome" } }] });
    const stream = client().chat.completions.stream({ model: "fast", messages, tools });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.tool_calls?.[0]).toMatchObject({ id: "call_2", function: { name: "weather", arguments: '{"city":"Rome"}' } });
  });

  it("takes the end user from the body or x-modelgate-user, and tags from x-modelgate-tags", async () => {
    await start();
    const seen: RequestEvent[] = [];
    gateway!.on("request", (event) => seen.push(event));
    await client().chat.completions.create({ model: "fast", messages, user: "u-body" });
    await client("unused", { defaultHeaders: { "x-modelgate-user": "u-header", "x-modelgate-tags": "checkout, beta ,," } }).chat.completions.create({
      model: "fast",
      messages,
    });
    expect(seen.map((event) => event.user)).toEqual(["u-body", "u-header"]);
    expect(seen[1]?.tags).toEqual(["checkout", "beta"]);
  });
});

describe("errors in OpenAI's shape, with statuses the SDKs handle right", () => {
  it("400 request_invalid naming the path; nothing sent upstream", async () => {
    await start();
    const error = await client()
      .chat.completions.create({ model: "fast", messages: [{ role: "user", content: "x" }], temperature: 7 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("request_invalid");
    expect((error as Error).message).toContain("temperature");
    expect((error as InstanceType<typeof OpenAI.APIError>).param).toBe("temperature");
    expect(fake.requestCount).toBe(0);

    const notJson = await fetch(`${server!.url}/v1/chat/completions`, { method: "POST", body: "{nope" });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: { message: expect.stringContaining("not valid JSON"), type: "invalid_request_error", code: "request_invalid", param: null } });
  });

  it("401 for a missing or unknown token; the token never appears in the answer", async () => {
    await start({ keys: { "team-a": {} } }, { auth: { tokens: { [TOKEN_A]: "team-a" } } });
    const wrong = "mg-wrong-token-0123456789";
    const error = await client(wrong).chat.completions.create({ model: "fast", messages }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(JSON.stringify((error as InstanceType<typeof OpenAI.APIError>).error)).not.toContain(wrong);
    const missing = await fetch(`${server!.url}/v1/models`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { type: string } }).error.type).toBe("authentication_error");
    const ok = await client(TOKEN_A).chat.completions.create({ model: "fast", messages });
    expect(ok.choices[0]?.message.content).toContain("Hello there");
    expect(fake.requestCount).toBe(1);
  });

  it("maps tokens to keys (static and verify), 403 model_not_allowed, and /v1/models lists what the key may use", async () => {
    await start(
      { keys: { "team-a": { models: ["fast"] }, "team-b": {} } },
      { auth: { tokens: { [TOKEN_A]: "team-a" }, verify: async (token) => (token === TOKEN_B ? "team-b" : undefined) }, models: (key) => (key === "team-a" ? ["fast"] : ["fast", "smart"]) },
    );
    const error = await client(TOKEN_A).chat.completions.create({ model: "smart", messages }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("model_not_allowed");
    expect((await client(TOKEN_B).chat.completions.create({ model: "smart", messages })).choices).toHaveLength(1);
    const listA = [];
    for await (const model of client(TOKEN_A).models.list()) listA.push(model.id);
    expect(listA).toEqual(["fast"]);
    const listB = [];
    for await (const model of client(TOKEN_B).models.list()) listB.push(model.id);
    expect(listB).toEqual(["fast", "smart"]);
  });

  it("429 rate_limited carries Retry-After (seconds) and retry-after-ms", async () => {
    await start({ keys: { "team-a": { rpm: 1 } } }, { auth: { tokens: { [TOKEN_A]: "team-a" } } });
    await client(TOKEN_A).chat.completions.create({ model: "fast", messages });
    const response = await fetch(`${server!.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN_A}` },
      body: JSON.stringify({ model: "fast", messages }),
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(response.headers.get("retry-after-ms"))).toBeGreaterThan(0);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
  });

  it("budget_exceeded is a 402, which the SDK does not retry", async () => {
    await start({ keys: { "team-a": { budget: { usd: 0.0000001, period: "day" } } } }, { auth: { tokens: { [TOKEN_A]: "team-a" } } });
    const counter = countingFetch();
    const error = await client(TOKEN_A, { maxRetries: 3, fetch: counter.fetch })
      .chat.completions.create({ model: "fast", messages })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("budget_exceeded");
    expect(counter.count()).toBe(1);
    expect(fake.requestCount).toBe(0);
  });

  it("502 when the provider failed, with no provider secret, stack or path in the body", async () => {
    await start();
    fake.setDefault({ fail: { status: 500, message: "upstream exploded" } });
    const response = await fetch(`${server!.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: "fast", messages }) });
    expect(response.status).toBe(502);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: "all_failed", type: "server_error" } });
    expect(text).not.toContain(PROVIDER_SECRET);
    expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/);
  });

  it("504 when every attempt timed out", async () => {
    await start({ timeoutMs: 100 });
    fake.setDefault({ delayMs: 2_000 });
    const response = await fetch(`${server!.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: "fast", messages }) });
    expect(response.status).toBe(504);
  });

  it("an error after the first chunk ends the stream with OpenAI's error event, which the SDK raises", async () => {
    await start();
    fake.setDefault({ reply: "one two three four", streamError: { afterChunks: 2, message: "overloaded midway" } });
    const stream = await client().chat.completions.create({ model: "fast", messages, stream: true });
    const read = async (): Promise<void> => {
      for await (const _chunk of stream) {
        // reading until the error
      }
    };
    await expect(read()).rejects.toBeInstanceOf(OpenAI.APIError);
  });

  it("404 and 405 in the same shape", async () => {
    await start();
    const missing = await fetch(`${server!.url}/v1/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("not_found");
    const wrongMethod = await fetch(`${server!.url}/v1/chat/completions`);
    expect(wrongMethod.status).toBe(405);
  });
});

describe("limits and safety", () => {
  it("413 past the body limit, before reading it all; nothing sent upstream", async () => {
    await start({}, { maxBodyBytes: 1_024 });
    const big = JSON.stringify({ model: "fast", messages: [{ role: "user", content: "x".repeat(4_096) }] });
    const response = await fetch(`${server!.url}/v1/chat/completions`, { method: "POST", body: big });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("request_too_large");
    expect(fake.requestCount).toBe(0);
  });

  it("413 for a chunked body (no content-length) past the limit, whether sent at once or in pieces", async () => {
    await start({}, { maxBodyBytes: 1_024 });
    const big = JSON.stringify({ model: "fast", messages: [{ role: "user", content: "x".repeat(4_096) }] });
    const whole = await rawPost(server!.url, { "transfer-encoding": "chunked" }, [big]);
    expect(whole.status).toBe(413);
    expect(whole.body).toContain("request_too_large");
    // In pieces: the limit is counted as they come, not only against a declared length.
    const pieces = await rawPost(server!.url, { "transfer-encoding": "chunked" }, [big.slice(0, 100), big.slice(100)], 100);
    expect(pieces.status).toBe(413);
    expect(fake.requestCount).toBe(0);
  });

  it("reads a body that arrives after the headers, and one sent with them, the same way", async () => {
    await start();
    const body = JSON.stringify({ model: "fast", messages });
    const late = await rawPost(server!.url, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }, [body.slice(0, 10), body.slice(10)], 100);
    expect(late.status).toBe(200);
    const together = await rawPost(server!.url, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }, [body]);
    expect(together.status).toBe(200);
    expect(JSON.parse(late.body).choices[0].message.content).toBe(JSON.parse(together.body).choices[0].message.content);
    expect(fake.requests.map((request) => request.body.messages)).toEqual([messages, messages]);
  });

  it("414 past the URL limit and 431 past the header limit", async () => {
    await start({}, { maxUrlLength: 100, maxHeaderBytes: 2_048 });
    expect((await fetch(`${server!.url}/v1/models?${"q".repeat(200)}`)).status).toBe(414);
    expect((await rawStatus(server!.url, "/healthz", { "x-big": "y".repeat(4_096) })).status).toBe(431);
  });

  it("408 when the body does not arrive in time (slow loris)", async () => {
    await start({}, { bodyTimeoutMs: 200 });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server!.url}/v1/chat/completions`, { method: "POST", headers: { "content-length": "1000" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.write("{");
    });
    expect(status).toBe(408);
  });

  it("a client that disconnects mid-stream aborts the provider request at once and releases the call", async () => {
    // The provider pauses 30 s after its first content: only the client's disconnect can end the call in time.
    await start({ streamIdleTimeoutMs: 60_000 });
    fake.setDefault({ reply: "first second third", chunkDelayMs: 30_000, chunkDelayFrom: 2 });
    const firstChunk = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${server!.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        res.once("data", (data: Buffer) => {
          resolve(data.toString("utf8"));
          req.destroy();
        });
      });
      req.on("error", () => {});
      req.on("error", reject);
      req.end(JSON.stringify({ model: "fast", messages, stream: true }));
    });
    expect(firstChunk.startsWith("data: ")).toBe(true);
    const aborted = await fake.waitForClientAbort(10_000);
    expect(aborted.path).toBe("/v1/chat/completions");
    await expect.poll(() => server!.handler.inFlight, { timeout: 10_000 }).toBe(0);
  });

  it("a client that disconnects during a JSON call aborts the provider request at once and releases the call", async () => {
    await start();
    fake.setDefault({ hang: true });
    const req = httpRequest(`${server!.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" } });
    req.on("error", () => {});
    req.end(JSON.stringify({ model: "fast", messages }));
    await expect.poll(() => fake.requests.length, { timeout: 10_000 }).toBe(1);
    req.destroy();
    const aborted = await fake.waitForClientAbort(10_000);
    expect(aborted.path).toBe("/v1/chat/completions");
    await expect.poll(() => server!.handler.inFlight, { timeout: 10_000 }).toBe(0);
  });

  it("calls on one keep-alive connection share its abort signal and leave no listener on it, whatever their outcome", async () => {
    await start({}, { auth: { tokens: { [TOKEN_A]: "team-a" } } });
    const signals: AbortSignal[] = [];
    const chat = gateway!.chat.bind(gateway);
    (gateway as { chat: Gateway["chat"] }).chat = ((body, options) => {
      if (options?.signal) signals.push(options.signal);
      return chat(body, options);
    }) as Gateway["chat"];
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (body: unknown, token = TOKEN_A): Promise<number> =>
      new Promise((resolve, reject) => {
        const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
        const req = httpRequest(`${server!.url}/v1/chat/completions`, { method: "POST", agent, headers }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end(JSON.stringify(body));
      });
    expect(await post({ model: "fast", messages })).toBe(200);
    expect(await post({ model: "fast", messages: "not a list" })).toBe(400);
    expect(await post({ model: "fast", messages }, "wrong-token")).toBe(401);
    fake.setDefault({ fail: { status: 500, message: "upstream broke" } });
    expect(await post({ model: "fast", messages })).toBe(502);
    fake.setDefault({});
    expect(await post({ model: "fast", messages })).toBe(200);
    expect(signals.length).toBe(4);
    expect(new Set(signals).size).toBe(1);
    const signal = signals[0]!;
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
    expect(signal.aborted).toBe(false);
    // The connection closing is what aborts it.
    agent.destroy();
    await expect.poll(() => signal.aborted, { timeout: 5_000 }).toBe(true);
  });

  it("refuses a non-loopback host without auth unless allowUnauthenticated", async () => {
    gateway = createGateway({ providers: { openai: openai({ baseURL: fake.url, apiKey: PROVIDER_SECRET }) } });
    await expect(serve(gateway, { port: 0, host: "0.0.0.0" })).rejects.toThrow(/without auth/);
    server = await serve(gateway, { port: 0, host: "0.0.0.0", allowUnauthenticated: true });
    expect(server.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
  });
});

describe("probes and metrics", () => {
  it("/healthz, /readyz and /metrics (admin token) in Prometheus text", async () => {
    await start({}, { adminToken: "admin-secret" });
    await client().chat.completions.create({ model: "fast", messages });
    expect((await fetch(`${server!.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server!.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${server!.url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${server!.url}/metrics`, { headers: { authorization: "Bearer admin-secret" } });
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/^modelgate_responses_total\{model="fast",key="",provider="openai",deployment="openai\/gpt-4o-mini",cache="miss"\} 1$/m);
    expect(text).toMatch(/^modelgate_tokens_total\{model="fast",key="",direction="input"\} \d+$/m);
    expect(text).toContain('modelgate_http_requests_total{route="/v1/chat/completions",status="200"} 1');
    expect(text).not.toContain(PROVIDER_SECRET);
    // Counters are summed beside the hot path and copied in at each scrape: a second call and
    // a second scrape count each answer once, not once per scrape.
    await client().chat.completions.create({ model: "fast", messages: [{ role: "user", content: "again" }] });
    const again = await (await fetch(`${server!.url}/metrics`, { headers: { authorization: "Bearer admin-secret" } })).text();
    expect(again).toMatch(/^modelgate_responses_total\{model="fast",key="",provider="openai",deployment="openai\/gpt-4o-mini",cache="miss"\} 2$/m);
    expect(again).toMatch(/^modelgate_requests_total\{model="fast",key=""\} 2$/m);
    expect(again).toContain('modelgate_http_requests_total{route="/metrics",status="200"} 1');
  });

  it("modelgate_http_in_flight counts the requests being served, streams included, at each scrape", async () => {
    await start({ streamIdleTimeoutMs: 60_000 }, { adminToken: "admin-secret" });
    const scrape = async (): Promise<string> => (await fetch(`${server!.url}/metrics`, { headers: { authorization: "Bearer admin-secret" } })).text();
    // The scrape itself is a request being served.
    expect(await scrape()).toMatch(/^modelgate_http_in_flight 1$/m);
    fake.setDefault({ reply: "first second third", chunkDelayMs: 30_000, chunkDelayFrom: 2 });
    const stream = await client().chat.completions.create({ model: "fast", messages, stream: true });
    const reading = stream[Symbol.asyncIterator]();
    await reading.next();
    expect(await scrape()).toMatch(/^modelgate_http_in_flight 2$/m);
    stream.controller.abort();
    await expect.poll(() => server!.handler.inFlight, { timeout: 10_000 }).toBe(0);
    expect(await scrape()).toMatch(/^modelgate_http_in_flight 1$/m);
  });

  it("/readyz is 503 when the shared store does not answer", async () => {
    const store = {
      peekTokens: () => Promise.reject(new Error("connection refused")),
    } as unknown as NonNullable<ServeOptions["store"]>;
    await start({}, { store });
    expect((await fetch(`${server!.url}/readyz`)).status).toBe(503);
  });
});

describe("POST /v1/embeddings over the openai SDK", () => {
  it("answers the SDK's default base64 request, which it decodes to the same floats as a float request", async () => {
    await start();
    // The SDK asks for base64 unless told otherwise, and decodes it itself.
    const sent: unknown[] = [];
    const recording: typeof fetch = (input, init) => {
      sent.push(JSON.parse(String(init?.body)));
      return fetch(input, init);
    };
    const decoded = await client("unused", { fetch: recording }).embeddings.create({
      model: "openai/text-embedding-3-small",
      input: ["hello", "world"],
      dimensions: 8,
    });
    expect(sent).toEqual([{ model: "openai/text-embedding-3-small", input: ["hello", "world"], dimensions: 8, encoding_format: "base64" }]);
    const sdkRequest = fake.requests.length;
    expect(decoded.object).toBe("list");
    expect(decoded.data.map((item) => item.index)).toEqual([0, 1]);
    expect(decoded.data[0]?.embedding).toHaveLength(8);
    const floats = await client().embeddings.create({
      model: "openai/text-embedding-3-small",
      input: ["hello", "world"],
      dimensions: 8,
      encoding_format: "float",
    });
    expect(decoded.data.map((item) => item.embedding)).toEqual(floats.data.map((item) => Array.from(Float32Array.from(item.embedding))));
    expect(sdkRequest).toBe(1);
  });

  it("sends OpenAI's bytes: base64 strings on the wire, no `.gateway` field, the gateway's headers", async () => {
    await start();
    const response = await fetch(`${server!.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "openai/text-embedding-3-small", input: "hello", encoding_format: "base64" }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-modelgate-deployment")).toBe("openai/text-embedding-3-small");
    expect(response.headers.get("x-modelgate-cache")).toBe("miss");
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["data", "model", "object", "usage"]);
    const [item] = body.data as { object: string; index: number; embedding: unknown }[];
    expect(Object.keys(item!).sort()).toEqual(["embedding", "index", "object"]);
    expect(typeof item!.embedding).toBe("string");
    expect(Buffer.from(item!.embedding as string, "base64").byteLength).toBe(64 * 4);
    expect(body.usage).toEqual({ prompt_tokens: expect.any(Number), total_tokens: expect.any(Number) });
  });

  it("answers bad input with a 400 naming the field, sending nothing upstream", async () => {
    await start();
    const error = await client()
      .embeddings.create({ model: "openai/text-embedding-3-small", input: [[1, 2, 3]] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain("token arrays are not accepted");
    expect(fake.requests).toHaveLength(0);
  });

  it("applies the caller's key limits", async () => {
    await start({ keys: { a: { rpm: 1 } } }, { auth: { tokens: { [TOKEN_A]: "a" } } });
    await client(TOKEN_A).embeddings.create({ model: "openai/text-embedding-3-small", input: "one" });
    const error = await client(TOKEN_A)
      .embeddings.create({ model: "openai/text-embedding-3-small", input: "two" })
      .catch((caught: unknown) => caught);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect(fake.requests).toHaveLength(1);
  });
});

function rawStatus(base: string, path: string, headers: Record<string, string>): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { headers }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on("error", reject);
    req.end();
  });
}
