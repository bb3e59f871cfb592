/**
 * A modelgate server in its own process for bench/server-hop.ts, everything on (telemetry,
 * key and user limits and budgets, prices, exact cache, bearer auth, Prometheus metrics),
 * forwarding to the fake OpenAI server at argv[2]. argv[3] picks the HTTP layer: `node`
 * (serve(): plain node:http) or `hono` (Hono + @hono/node-server around handler.fetch).
 * argv[4] `mock` replaces the upstream with an in-process mock provider: the server's and the
 * gateway's own ceiling, without the openai SDK's per-call cost (about 1 ms of CPU).
 * argv[5] `bare` configures nothing (no telemetry, limits, budgets, prices, cache or auth):
 * what the server's HTTP work costs apart from the gateway's. argv[6] is the bundle directory
 * bench/modelgate.ts built (src/ as tsup ships it, as `modelgate serve` runs from dist/); without
 * it, src/ through tsx, whose `keepNames` makes every closure on the hot path cost more.
 * Prints `SERVER_URL <url>`; a `cpu` line on stdin answers `CPU_US <user+system µs so far>`
 * (CPU per request barely moves when other processes compete for the cores); exits when stdin closes.
 */
import { REPLY } from "./fixtures.js";
import { BENCH_KEY, BENCH_MODEL, BENCH_TOKEN, baseConfig, featureList, withFeatures } from "./features.js";
import { loadModelgate, loadServerEntry } from "./modelgate.js";
import { obeyParent } from "./child-control.js";

const [fakeUrl, layer = "node", upstream = "fake", setup = "all", bundle] = process.argv.slice(2);
if (!fakeUrl) throw new Error("usage: server-child.ts <fake base URL> [node|hono] [fake|mock] [all|bare] [bundle dir]");
const { createGateway, mockProvider, openai } = await (bundle
  ? loadModelgate(bundle)
  : Promise.all([import("../src/index.js"), import("../src/testing.js"), import("../src/openai.js")]).then(([core, testing, entry]) => ({ ...core, ...testing, ...entry })));
const { createHandler, serve } = await loadServerEntry(bundle);
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
// `profile-start` / `profile-stop <file>` (bench/server-profile.ts): a CPU profile of the
// steady state only, without start-up (module loading through tsx) in it.
let profiler: import("node:inspector/promises").Session | undefined;
obeyParent(quit, (text) => {
  if (text.includes("profile-start")) {
    void (async () => {
      const { Session } = await import("node:inspector/promises");
      profiler = new Session();
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.setSamplingInterval", { interval: 100 });
      await profiler.post("Profiler.start");
      process.stdout.write("PROFILE_STARTED\n");
    })();
  }
  const stopAt = text.match(/profile-stop (\S+)/);
  if (stopAt && profiler) {
    const session = profiler;
    void (async () => {
      const { profile } = await session.post("Profiler.stop");
      const { writeFileSync } = await import("node:fs");
      writeFileSync(stopAt[1]!, JSON.stringify(profile));
      session.disconnect();
      process.stdout.write("PROFILE_WRITTEN\n");
    })();
  }
});
