import { execFile } from "node:child_process";
import { getEventListeners } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createNodeFetch } from "../src/providers/shared/node-fetch.js";
import { freePort } from "./fakes/free-port.js";

/** What the server saw of one request. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  socket: number;
}

type Handler = (request: IncomingMessage, response: ServerResponse, seen: Seen) => void;

let server: Server;
let base: string;
let handler: Handler;
const seen: Seen[] = [];
const sockets = new WeakMap<object, number>();
let socketCount = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (!sockets.has(request.socket)) sockets.set(request.socket, ++socketCount);
      const record: Seen = { method: request.method!, url: request.url!, headers: request.headers, body: Buffer.concat(chunks).toString(), socket: sockets.get(request.socket)! };
      seen.push(record);
      handler(request, response, record);
    });
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
  handler = (_request, response) => response.end(JSON.stringify({ ok: true }));
});

describe("createNodeFetch", () => {
  it("reuses one keep-alive socket across calls and counts them", async () => {
    const nodeFetch = createNodeFetch();
    for (let i = 0; i < 3; i++) expect(await (await nodeFetch(`${base}/a`)).json()).toEqual({ ok: true });
    expect(new Set(seen.map((s) => s.socket)).size).toBe(1);
    expect(nodeFetch.stats).toEqual({ requests: 3, socketsOpened: 1 });
    // A short body nobody reads still ends, so its socket goes back to the pool.
    await nodeFetch(`${base}/unread`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await (await nodeFetch(`${base}/b`)).text();
    expect(nodeFetch.stats).toEqual({ requests: 5, socketsOpened: 1 });
  });

  it("takes string, URL and Request inputs and every HeadersInit form", async () => {
    const nodeFetch = createNodeFetch();
    await nodeFetch(`${base}/s`, { headers: { "X-One": "1" } });
    await nodeFetch(new URL(`${base}/u`), { headers: new Headers({ "x-two": "2" }) });
    await nodeFetch(new Request(`${base}/r`, { method: "DELETE", headers: [["x-three", "3"]] }));
    await nodeFetch(`${base}/p`, { headers: [["x-dup", "a"], ["X-Dup", "b"]] });
    expect(seen.map((s) => [s.method, s.url])).toEqual([["GET", "/s"], ["GET", "/u"], ["DELETE", "/r"], ["GET", "/p"]]);
    expect([seen[0]!.headers["x-one"], seen[1]!.headers["x-two"], seen[2]!.headers["x-three"], seen[3]!.headers["x-dup"]]).toEqual(["1", "2", "3", "a, b"]);
  });

  it("writes the head Node writes for an object of headers: Host, lengths, the query, URL credentials as basic auth", async () => {
    const nodeFetch = createNodeFetch();
    const port = (server.address() as AddressInfo).port;
    await nodeFetch(`${base}/q?a=1&b=2#fragment`, { method: "POST" });
    await nodeFetch(`${base}/q?a=1&b=2#fragment`);
    await nodeFetch(`${base}/other`, { method: "PUT", body: "x" });
    await nodeFetch(`http://us%40er:p%3Ass@127.0.0.1:${port}/auth`);
    await nodeFetch(`http://localhost:${port}/named`, { headers: { Host: "custom.example" } });
    expect(seen.map((s) => [s.method, s.url])).toEqual([
      ["POST", "/q?a=1&b=2"],
      ["GET", "/q?a=1&b=2"],
      ["PUT", "/other"],
      ["GET", "/auth"],
      ["GET", "/named"],
    ]);
    expect(seen.map((s) => s.headers.host)).toEqual([...Array(4).fill(`127.0.0.1:${port}`), "custom.example"]);
    // A POST without a body says so; a GET says nothing; neither is chunked.
    expect(seen.map((s) => [s.headers["content-length"], s.headers["transfer-encoding"]])).toEqual([
      ["0", undefined],
      [undefined, undefined],
      ["1", undefined],
      [undefined, undefined],
      [undefined, undefined],
    ]);
    expect(seen[3]!.headers.authorization).toBe(`Basic ${Buffer.from("us@er:p:ss").toString("base64")}`);
    expect(seen.map((s) => s.headers.connection)).toEqual(Array(5).fill("keep-alive"));
  });

  it("sends string, Uint8Array, ArrayBuffer and URLSearchParams bodies with fetch's content types", async () => {
    const nodeFetch = createNodeFetch();
    await nodeFetch(`${base}/`, { method: "POST", body: "héllo" });
    await nodeFetch(`${base}/`, { method: "POST", body: new TextEncoder().encode("bytes"), headers: { "content-type": "application/json" } });
    await nodeFetch(`${base}/`, { method: "POST", body: new TextEncoder().encode("buffer").buffer });
    await nodeFetch(`${base}/`, { method: "POST", body: new URLSearchParams({ a: "1", b: "x y" }) });
    expect(seen.map((s) => s.body)).toEqual(["héllo", "bytes", "buffer", "a=1&b=x+y"]);
    expect(seen.map((s) => s.headers["content-type"])).toEqual([
      "text/plain;charset=UTF-8",
      "application/json",
      undefined,
      "application/x-www-form-urlencoded;charset=UTF-8",
    ]);
    expect(seen[0]!.headers["content-length"]).toBe(String(Buffer.byteLength("héllo")));
  });

  it("hands FormData and stream bodies to the global fetch", async () => {
    const nodeFetch = createNodeFetch();
    const form = new FormData();
    form.set("field", "value");
    await nodeFetch(`${base}/form`, { method: "POST", body: form });
    const stream = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode("streamed")), c.close()) });
    await nodeFetch(`${base}/stream`, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(seen[0]!.body).toContain('name="field"');
    expect(seen[1]!.body).toBe("streamed");
    // undici marks its requests; ours never carry it.
    expect(seen.every((s) => s.headers["sec-fetch-mode"] === "cors")).toBe(true);
    expect(nodeFetch.stats.requests).toBe(0);
  });

  it("streams the body chunk by chunk, not buffered to the end", async () => {
    let sendRest: () => void = () => {};
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: first\n\n");
      sendRest = () => response.end("data: second\n\n");
    };
    const response = await createNodeFetch()(`${base}/sse`);
    const reader = response.body!.getReader();
    const first = await reader.read();
    // The server has not sent the rest yet: the first chunk arrived on its own.
    expect(new TextDecoder().decode(first.value)).toBe("data: first\n\n");
    sendRest();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toBe("data: second\n\n");
  });

  it("decodes gzip, deflate and br bodies, and asks for none unless told", async () => {
    const nodeFetch = createNodeFetch();
    handler = (_request, response) => response.writeHead(200, { "content-encoding": "gzip" }).end(gzipSync(JSON.stringify({ zipped: true })));
    expect(await (await nodeFetch(`${base}/gz`, { headers: { "accept-encoding": "gzip" } })).json()).toEqual({ zipped: true });
    expect(seen[0]!.headers["accept-encoding"]).toBe("gzip");
    await nodeFetch(`${base}/plain`);
    expect(seen[1]!.headers["accept-encoding"]).toBeUndefined();
    const { deflateSync, brotliCompressSync } = await import("node:zlib");
    handler = (_request, response) => response.writeHead(200, { "content-encoding": "deflate" }).end(deflateSync("deflated"));
    expect(await (await nodeFetch(`${base}/d`)).text()).toBe("deflated");
    handler = (_request, response) => response.writeHead(200, { "content-encoding": "br" }).end(brotliCompressSync("brotli"));
    expect(await (await nodeFetch(`${base}/b`)).text()).toBe("brotli");
  });

  it("returns status, status text, repeated headers and the URL; 204 has a null body", async () => {
    handler = (_request, response) => {
      response.setHeader("x-many", ["a", "b"]);
      response.writeHead(429, "Slow Down", { "retry-after": "2" }).end("{}");
    };
    const response = await createNodeFetch()(`${base}/limited`);
    expect([response.status, response.statusText, response.ok, response.url]).toEqual([429, "Slow Down", false, `${base}/limited`]);
    expect([response.headers.get("retry-after"), response.headers.get("x-many")]).toEqual(["2", "a, b"]);
    handler = (_request, response) => response.writeHead(204).end();
    expect((await createNodeFetch()(`${base}/empty`)).body).toBeNull();
  });

  it("resolves with a real Response whose json()/text() read the socket once, even after `body` was looked at", async () => {
    const nodeFetch = createNodeFetch();
    handler = (_request, response) => response.writeHead(200, { "content-type": "application/json" }).end('\uFEFF{"ok":true}');
    const response = await nodeFetch(`${base}/json`);
    expect(response).toBeInstanceOf(Response);
    // The anthropic SDK reads `response.body` on every response before parsing it.
    expect(response.body).toBeInstanceOf(ReadableStream);
    expect(response.bodyUsed).toBe(false);
    expect(await response.json()).toEqual({ ok: true });
    expect(response.bodyUsed).toBe(true);
    await expect(response.text()).rejects.toBeInstanceOf(TypeError);
    await expect(response.body!.getReader().read()).rejects.toBeInstanceOf(TypeError);

    handler = (_request, response) => response.end("\uFEFFplain");
    expect(await (await nodeFetch(`${base}/text`)).text()).toBe("plain");
    const bytes = await (await nodeFetch(`${base}/bytes`)).arrayBuffer();
    expect(Buffer.from(bytes).toString()).toBe("\uFEFFplain");
    expect(await (await nodeFetch(`${base}/blob`)).blob()).toMatchObject({ size: 8 });
    // Read through the web stream, the body cannot be read again.
    const streamed = await nodeFetch(`${base}/streamed`);
    await streamed.body!.getReader().read();
    expect(streamed.bodyUsed).toBe(true);
    await expect(streamed.text()).rejects.toBeInstanceOf(TypeError);
  });

  it("clones a response: both copies read the whole body, with the status, headers and URL", async () => {
    handler = (_request, response) => response.writeHead(201, { "x-id": "7" }).end("twice");
    const response = await createNodeFetch()(`${base}/clone`);
    const copy = response.clone();
    expect([copy.status, copy.headers.get("x-id"), copy.url]).toEqual([201, "7", `${base}/clone`]);
    expect(await Promise.all([response.text(), copy.text()])).toEqual(["twice", "twice"]);
    expect(() => response.clone()).toThrow(TypeError);
  });

  it("rejects json() with the AbortError when aborted mid-body, and frees the socket when aborted before the body is read", async () => {
    const nodeFetch = createNodeFetch();
    let closed!: Promise<void>;
    handler = (request, response) => {
      closed = new Promise((resolve) => request.socket.once("close", () => resolve()));
      response.writeHead(200, { "content-type": "application/json" }).write('{"partial":');
    };
    const midBody = new AbortController();
    const response = await nodeFetch(`${base}/half`, { signal: midBody.signal });
    const parsed = response.json();
    setTimeout(() => midBody.abort(), 20);
    await expect(parsed).rejects.toMatchObject({ name: "AbortError" });
    await closed;

    const unread = new AbortController();
    const waiting = await nodeFetch(`${base}/half`, { signal: unread.signal });
    unread.abort();
    // Nobody read the body, yet the socket is closed at once, as undici does.
    await closed;
    await expect(waiting.json()).rejects.toMatchObject({ name: "AbortError" });
  });

  it("refuses to cancel `body` while json() reads the socket, as fetch's locked stream does, so json() still settles", async () => {
    let finish: () => void = () => {};
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "application/json" }).write('{"late":');
      finish = () => response.end("true}");
    };
    const response = await createNodeFetch()(`${base}/slow`);
    const body = response.body!;
    const parsed = response.json();
    // fetch: the body is locked by json(), so cancel() rejects and the read goes on.
    await expect(body.cancel()).rejects.toBeInstanceOf(TypeError);
    finish();
    expect(await parsed).toEqual({ late: true });
  }, 5_000);

  it("rejects with an AbortError when aborted before the call, before the headers, and errors the body when aborted mid-stream", async () => {
    const nodeFetch = createNodeFetch();
    await expect(nodeFetch(`${base}/`, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
    expect(seen).toHaveLength(0);

    const beforeHeaders = new AbortController();
    handler = () => beforeHeaders.abort();
    await expect(nodeFetch(`${base}/hang`, { signal: beforeHeaders.signal })).rejects.toMatchObject({ name: "AbortError" });

    const midStream = new AbortController();
    let closed!: Promise<void>;
    handler = (request, response) => {
      closed = new Promise((resolve) => request.socket.once("close", () => resolve()));
      response.writeHead(200).write("data: one\n\n");
    };
    const response = await nodeFetch(`${base}/sse`, { signal: midStream.signal });
    const reader = response.body!.getReader();
    await reader.read();
    midStream.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: "AbortError" });
    await closed;
  });

  it("holds one abort listener per request while it runs and none once its body is read, bodiless or failed", async () => {
    const nodeFetch = createNodeFetch();
    const controller = new AbortController();
    const listeners = (): number => getEventListeners(controller.signal, "abort").length;
    let release!: () => void;
    handler = (request, response) => {
      if (request.url === "/empty") response.writeHead(204).end();
      else if (request.url === "/slow") release = () => response.end(JSON.stringify({ slow: true }));
      else response.end(JSON.stringify({ ok: true }));
    };
    const slow = nodeFetch(`${base}/slow`, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(listeners()).toBe(1);
    release();
    const response = await slow;
    expect(listeners()).toBe(1); // the body is still on the socket: an abort must reach it
    expect(await response.json()).toEqual({ slow: true });
    expect(listeners()).toBe(0);
    await (await nodeFetch(`${base}/a`, { signal: controller.signal })).text();
    await nodeFetch(`${base}/empty`, { signal: controller.signal });
    const port = await freePort();
    await nodeFetch(`http://127.0.0.1:${port}/`, { signal: controller.signal }).catch(() => {});
    expect(listeners()).toBe(0);
  });

  it("rejects a refused connection with TypeError('fetch failed') carrying the cause, and a cut body with 'terminated'", async () => {
    const port = await freePort();
    const error: unknown = await createNodeFetch()(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ message: "fetch failed", cause: { code: "ECONNREFUSED" } });

    handler = (_request, response) => {
      response.writeHead(200, { "content-length": "100" }).write("partial");
      setImmediate(() => response.socket?.destroy());
    };
    const response = await createNodeFetch()(`${base}/cut`);
    await expect(response.text()).rejects.toMatchObject({ name: "TypeError", message: "terminated" });
  });

  it("follows a redirect through the global fetch, and refuses it with redirect: 'error'", async () => {
    handler = (request, response) => {
      if (request.url === "/old") response.writeHead(307, { location: "/new" }).end();
      else response.end("moved here");
    };
    const nodeFetch = createNodeFetch();
    expect(await (await nodeFetch(`${base}/old`, { method: "POST", body: "x" })).text()).toBe("moved here");
    expect(seen.map((s) => s.url)).toEqual(["/old", "/old", "/new"]);
    await expect(nodeFetch(`${base}/old`, { redirect: "error" })).rejects.toMatchObject({ message: "fetch failed" });
    expect((await nodeFetch(`${base}/old`, { redirect: "manual" })).status).toBe(307);
  });

  it("sends again, once, when a reused idle socket was closed by the server", async () => {
    const nodeFetch = createNodeFetch();
    await (await nodeFetch(`${base}/one`)).text();
    // The server drops the pooled connection as the next request arrives on it.
    let calls = 0;
    handler = (request, response) => {
      calls++;
      if (calls === 1) request.socket.destroy();
      else response.end("fresh");
    };
    expect(await (await nodeFetch(`${base}/two`, { method: "POST", body: "{}" })).text()).toBe("fresh");
    expect(nodeFetch.stats.socketsOpened).toBe(2);
  });

  it("keeps a busy socket open past the idle timeout (a slow answer is not cut)", async () => {
    handler = (_request, response) => setTimeout(() => response.end("late"), 1_500);
    const nodeFetch = createNodeFetch({ idleSocketTimeoutMs: 200 });
    expect(await (await nodeFetch(`${base}/slow`)).text()).toBe("late");
    // Idle, the socket is closed after the timeout: the next call opens a new one.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await (await nodeFetch(`${base}/again`)).text();
    expect(nodeFetch.stats.socketsOpened).toBe(2);
  });

  it("does not keep an idle process alive", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "test/fakes/idle-exit-child.ts", `${base}/child`], { timeout: 40_000 });
    expect(stdout.trim()).toBe("status 200 sockets 1");
    // The server still holds the connection: the child left without closing it.
    expect(seen.at(-1)!.headers.connection).toBe("keep-alive");
  }, 60_000);
});
