/**
 * A modelgate server in its own process for bench/server-hop.ts, everything on (telemetry,
 * key and user limits and budgets, prices, exact cache, bearer auth, Prometheus metrics),
 * forwarding to the fake OpenAI server at argv[2]. argv[3] picks the HTTP layer: `node`
 * (serve(): plain node:http) or `hono` (Hono + @hono/node-server around handler.fetch).
 * argv[4] `mock` replaces the upstream with an in-process mock provider: the server's and the
 * gateway's own ceiling, without the openai SDK's per-call cost (about 1 ms of CPU).
 * argv[5] `bare` configures nothing (no telemetry, limits, budgets, prices, cache or auth):
 * what the server's HTTP work costs apart from the gateway's.
 * Prints `SERVER_URL <url>`; a `cpu` line on stdin answers `CPU_US <user+system µs so far>`
 * (CPU per request barely moves when other processes compete for the cores); exits when stdin closes.
 */
import { createGateway } from "../src/index.js";
import { openai } from "../src/openai.js";
import { createHandler, serve } from "../src/server.js";
import { mockProvider } from "../src/testing.js";
import { REPLY } from "./fixtures.js";
import { BENCH_KEY, BENCH_MODEL, baseConfig, featureList, withFeatures } from "./features.js";

export const BENCH_TOKEN = "mg-bench-token";

const [fakeUrl, layer = "node", upstream = "fake", setup = "all"] = process.argv.slice(2);
if (!fakeUrl) throw new Error("usage: server-child.ts <fake base URL> [node|hono] [fake|mock] [all|bare]");
const bare = setup === "bare";
const provider = upstream === "mock" ? mockProvider({ reply: REPLY, name: "openai" }) : openai({ baseURL: fakeUrl, apiKey: "sk-bench" });
const base = baseConfig({ openai: provider }, BENCH_MODEL, "openai");
const gateway = createGateway(bare ? base : withFeatures(base, featureList()));
const auth = bare ? undefined : { tokens: { [BENCH_TOKEN]: BENCH_KEY } };

let url: string;
let close: () => Promise<void>;
if (layer === "hono") {
  const { Hono } = await import("hono");
  const { serve: honoServe } = await import("@hono/node-server");
  const handler = createHandler(gateway, auth ? { auth } : {});
  const app = new Hono();
  app.all("*", (context) => handler.fetch(context.req.raw));
  const server = await new Promise<ReturnType<typeof honoServe>>((resolve) => {
    const started = honoServe({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(started));
  });
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  close = async () => {
    await handler.close();
    server.close();
  };
} else {
  const server = await serve(gateway, auth ? { port: 0, auth } : { port: 0 });
  url = server.url;
  close = () => server.close();
}
process.stdout.write(`SERVER_URL ${url}\n`);
const quit = (): void => {
  void close()
    .then(() => gateway.close())
    .finally(() => process.exit(0));
};
process.stdin.on("data", (data: Buffer) => {
  if (data.toString("utf8").includes("cpu")) {
    const usage = process.cpuUsage();
    process.stdout.write(`CPU_US ${usage.user + usage.system}\n`);
  }
});
process.stdin.on("end", quit);
process.stdin.on("close", quit);
process.stdin.resume();
process.once("SIGTERM", quit);
