/**
 * CPU per call on the real SDK path, one candidate per process: the official `openai` SDK
 * alone, the `openai()` adapter alone, or `gateway.chat()` over it (no features, or every
 * feature: telemetry, limits, budgets, prices, exact cache (miss), spend), against the fake
 * OpenAI server in its own process. Reports this process's CPU (user + system, µs per call),
 * which a loaded machine disturbs far less than wall time; `--profile` adds the top frames by
 * self time (V8's sampling profiler, as `node --cpu-prof`).
 *
 *   npx tsx bench/sdk-profile.ts gateway-all 3000 --profile [--save=gateway.cpuprofile]
 */
import OpenAI from "openai";
import { Session } from "node:inspector/promises";
import { writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { stop, startFakeServerChild } from "./children.js";
import { body2k, REPLY } from "./fixtures.js";
import { baseConfig, BENCH_MODEL, BENCH_ROUTE, CALL_OPTIONS, featureList, withFeatures } from "./features.js";
import { loadModelgate } from "./modelgate.js";
import { selfTimes, type ProfileNode } from "./profile.js";
import type { Gateway } from "../src/index.js";

const [mode = "gateway-all", callsText = "3000", ...flags] = process.argv.slice(2);
const calls = Number(callsText);
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const modelgate = await loadModelgate();
const { url: fakeUrl, child: fakeChild } = await startFakeServerChild(root);

let made = 0;
let gateway: Gateway | undefined;
let call: () => Promise<unknown>;
if (mode === "direct") {
  const direct = new OpenAI({ apiKey: "sk-bench", baseURL: fakeUrl, maxRetries: 0 });
  call = () => direct.chat.completions.create(body2k(BENCH_MODEL, ++made));
} else if (mode === "adapter") {
  const adapter = modelgate.openai({ baseURL: fakeUrl, apiKey: "sk-bench" });
  call = () => adapter.chat(body2k(BENCH_MODEL, ++made) as never, { model: BENCH_MODEL, signal: new AbortController().signal, timeoutMs: 60_000 });
} else if (mode === "mock-all") {
  // The same pipeline over the 0-latency mock: the gateway's own work without the network.
  const mock = modelgate.mockProvider({ reply: REPLY });
  gateway = modelgate.createGateway(withFeatures(baseConfig({ mock }), featureList()));
  const g = gateway;
  call = () => {
    if (++made % 1_000 === 0) mock.reset();
    return g.chat(body2k(BENCH_ROUTE, made) as Parameters<Gateway["chat"]>[0] & { stream?: false }, CALL_OPTIONS);
  };
} else if (mode === "gateway-all-stream") {
  // A stream read to its end: what the gateway adds around the adapter's stream.
  gateway = modelgate.createGateway(withFeatures(baseConfig({ openai: modelgate.openai({ baseURL: fakeUrl, apiKey: "sk-bench" }) }, BENCH_MODEL, "openai"), featureList()));
  const g = gateway;
  call = async () => {
    const stream = await g.chat({ ...body2k(BENCH_ROUTE, ++made), stream: true } as Parameters<Gateway["chat"]>[0] & { stream: true }, CALL_OPTIONS);
    for await (const _chunk of stream) {
      // drained
    }
  };
} else {
  const features = mode === "gateway-all" ? featureList() : [];
  gateway = modelgate.createGateway(withFeatures(baseConfig({ openai: modelgate.openai({ baseURL: fakeUrl, apiKey: "sk-bench" }) }, BENCH_MODEL, "openai"), features));
  const g = gateway;
  call = () => g.chat(body2k(BENCH_ROUTE, ++made) as Parameters<Gateway["chat"]>[0] & { stream?: false }, CALL_OPTIONS);
}

// Warm up (JIT, connection pool, a tokenizer loading in the background).
const warmUntil = performance.now() + 2_000;
for (let index = 0; index < 1_500 || performance.now() < warmUntil; index++) await call();

const session = flags.includes("--profile") ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 50 });
  await session.post("Profiler.start");
}
const before = process.cpuUsage();
const wallStart = performance.now();
for (let index = 0; index < calls; index++) await call();
const cpu = process.cpuUsage(before);
const wallMs = performance.now() - wallStart;
const out: string[] = [`${mode}: ${((cpu.user + cpu.system) / calls).toFixed(1)} µs CPU/call (user ${(cpu.user / calls).toFixed(1)}, sys ${(cpu.system / calls).toFixed(1)}), wall ${((wallMs * 1000) / calls).toFixed(0)} µs/call, ${calls} calls`];
if (session) {
  const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] } };
  session.disconnect();
  const save = flags.find((flag) => flag.startsWith("--save="));
  if (save) writeFileSync(save.slice("--save=".length), JSON.stringify(profile));
  for (const frame of selfTimes(profile, calls, 40)) out.push(`  ${frame.usPerCall.toFixed(2).padStart(7)} µs  ${(frame.share * 100).toFixed(1).padStart(5)}%  ${frame.name}  ${frame.where}`);
}
process.stdout.write(out.join("\n") + "\n");
await gateway?.close();
await stop(fakeChild);
process.exit(0);
