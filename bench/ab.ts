/**
 * Before/after on the real SDK path, in one run: the working tree's modelgate against the one at
 * a git ref (both bundled as bench/modelgate.ts bundles them), each as the `openai()` adapter
 * alone and as `gateway.chat()` (nothing configured, and every feature on), beside the bare
 * `openai` SDK, all against the fake OpenAI server in its own process and interleaved in blocks
 * (bench/stats.ts) in blocks of 10 calls, so load bursts on a shared box hit every candidate
 * alike. For commit messages:
 *
 *   npx tsx bench/ab.ts HEAD~1 [iterations] [--stream] [--only=adapter|gateway] [--mock]
 *
 * `--mock`: gateway.chat() over the 0-latency mock instead (every feature on), for changes too
 * small to see through the network's spread on a loaded box; with `--stream`, its time to first
 * chunk (CPU per call includes draining the stream).
 *
 * `--signal`: every gateway call passes one long-lived caller `signal` (as an app reusing one
 * AbortController does; `modelgate serve` passes one per request), to measure the call's link to it.
 */
import OpenAI from "openai";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadavg } from "node:os";
import { bundleSources } from "./bundle.js";
import { stop, startFakeServerChild } from "./children.js";
import { body2k, REPLY } from "./fixtures.js";
import { baseConfig, BENCH_MODEL, BENCH_ROUTE, CALL_OPTIONS, featureList, withFeatures } from "./features.js";
import type { ChatOptions } from "../src/index.js";
import { measureInterleaved, summarize, type Candidate, type Sample } from "./stats.js";
import type { Gateway } from "../src/index.js";

type Core = typeof import("../src/index.js");
type OpenAIEntry = typeof import("../src/openai.js");
type Testing = typeof import("../src/testing.js");
interface Build {
  createGateway: Core["createGateway"];
  openai: OpenAIEntry["openai"];
  mockProvider: Testing["mockProvider"];
}

const [ref = "HEAD", iterationsText = "1500", ...flags] = process.argv.slice(2);
const iterations = Number(iterationsText);
const streaming = flags.includes("--stream");
const overMock = flags.includes("--mock");
const withSignal = flags.includes("--signal");
const only = flags.find((flag) => flag.startsWith("--only="))?.slice("--only=".length);
// One signal for every call, never aborted: a listener left behind per call would pile up on it.
const callerSignal = new AbortController().signal;
const callOptions: ChatOptions = withSignal ? { ...CALL_OPTIONS, signal: callerSignal } : CALL_OPTIONS;
const root = dirname(dirname(fileURLToPath(import.meta.url)));

async function bundle(sourceRoot: string, outdir: string): Promise<Build> {
  await bundleSources(sourceRoot, outdir);
  const url = (name: string): string => pathToFileURL(join(outdir, `${name}.js`)).href;
  const [core, openaiEntry, testing] = await Promise.all([
    import(url("index")) as Promise<Core>,
    import(url("openai")) as Promise<OpenAIEntry>,
    import(url("testing")) as Promise<Testing>,
  ]);
  return { createGateway: core.createGateway, openai: openaiEntry.openai, mockProvider: testing.mockProvider };
}

const scratch = mkdtempSync(join(tmpdir(), "modelgate-ab-"));
const baseTree = join(scratch, "base");
execFileSync("mkdir", ["-p", baseTree]);
execFileSync("sh", ["-c", `git -C '${root}' archive '${ref}' src tsconfig.json package.json | tar -x -C '${baseTree}'`]);
if (!existsSync(join(baseTree, "node_modules"))) symlinkSync(join(root, "node_modules"), join(baseTree, "node_modules"));
// Bundles live inside their trees so `packages: "external"` imports resolve to node_modules.
const base = await bundle(baseTree, join(baseTree, ".build"));
// The working tree is copied beside the base and bundled the same way: bundled in place, the
// head measured ~5 µs slower than an identical base (A/A), from the build's paths alone.
const headTree = join(scratch, "head");
execFileSync("mkdir", ["-p", headTree]);
execFileSync("cp", ["-r", join(root, "src"), join(root, "tsconfig.json"), join(root, "package.json"), headTree]);
symlinkSync(join(root, "node_modules"), join(headTree, "node_modules"));
const head = await bundle(headTree, join(headTree, ".build"));

const { url: fakeUrl, child: fakeChild } = await startFakeServerChild(root);

let made = 0;
const direct = new OpenAI({ apiKey: "sk-bench", baseURL: fakeUrl, maxRetries: 0 });
const gateways: Gateway[] = [];
const candidates: Record<string, Candidate> = {};
const streamCandidates: Record<string, Candidate> = {};
type Body = Parameters<Gateway["chat"]>[0] & { stream?: false };
type StreamBody = Parameters<Gateway["chat"]>[0] & { stream: true };

async function firstChunkUs(open: () => Promise<AsyncIterable<unknown>>): Promise<number> {
  const started = performance.now();
  const stream = await open();
  let first = -1;
  for await (const _chunk of stream) if (first < 0) first = (performance.now() - started) * 1000;
  return first;
}

if (!overMock) candidates.sdk = { prepare: () => body2k(BENCH_MODEL, ++made), run: (body) => direct.chat.completions.create(body) };
if (!overMock) streamCandidates.sdk = {
  prepare: () => body2k(BENCH_MODEL, ++made),
  selfTimed: true,
  run: (body: ReturnType<typeof body2k>) => firstChunkUs(() => direct.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } })),
};
// AB_HEAD_FIRST=1 builds the head's gateways first: a check that set-up order is not the difference.
const sides = process.env.AB_HEAD_FIRST ? ([["head", head], ["base", base]] as const) : ([["base", base], ["head", head]] as const);
for (const [label, build] of sides) {
  if (overMock) {
    const mock = build.mockProvider({ reply: REPLY });
    const gateway = build.createGateway(withFeatures(baseConfig({ mock }), featureList()));
    gateways.push(gateway);
    let calls = 0;
    candidates[`mock all-on ${label}`] = {
      prepare: () => body2k(BENCH_ROUTE, ++made),
      run: (body) => {
        if (++calls % 1_000 === 0) mock.reset();
        return gateway.chat(body as Body, callOptions);
      },
    };
    streamCandidates[`mock all-on ${label}`] = {
      prepare: () => body2k(BENCH_ROUTE, ++made),
      selfTimed: true,
      run: (body) => {
        if (++calls % 1_000 === 0) mock.reset();
        return firstChunkUs(() => gateway.chat({ ...(body as Body), stream: true } as StreamBody, callOptions));
      },
    };
    continue;
  }
  if (only !== "gateway") {
    const adapter = build.openai({ baseURL: fakeUrl, apiKey: "sk-bench" });
    const input = () => ({ body: body2k(BENCH_MODEL, ++made), context: { model: BENCH_MODEL, signal: new AbortController().signal, timeoutMs: 60_000 } });
    candidates[`adapter ${label}`] = { prepare: input, run: ({ body, context }) => adapter.chat(body, context) };
    streamCandidates[`adapter ${label}`] = { prepare: input, selfTimed: true, run: ({ body, context }) => firstChunkUs(async () => adapter.stream(body, context)) };
  }
  if (only !== "adapter") {
    for (const [name, features] of [["none", []], ["all-on", featureList()]] as const) {
      const gateway = build.createGateway(withFeatures(baseConfig({ openai: build.openai({ baseURL: fakeUrl, apiKey: "sk-bench" }) }, BENCH_MODEL, "openai"), features));
      gateways.push(gateway);
      candidates[`gateway ${name} ${label}`] = { prepare: () => body2k(BENCH_ROUTE, ++made), run: (body) => gateway.chat(body as Body, callOptions) };
      streamCandidates[`gateway ${name} ${label}`] = {
        prepare: () => body2k(BENCH_ROUTE, ++made),
        selfTimed: true,
        run: (body) => firstChunkUs(() => gateway.chat({ ...(body as Body), stream: true } as StreamBody, callOptions)),
      };
    }
  }
}

const loadBefore = loadavg().map((value) => value.toFixed(2)).join(" ");
const results = streaming
  ? await measureInterleaved(streamCandidates, { iterations, warmup: 200, warmupMs: 1_000, block: 10 })
  : await measureInterleaved(candidates, { iterations, warmup: 300, warmupMs: 1_000, block: 10 });
const loadAfter = loadavg().map((value) => value.toFixed(2)).join(" ");

const sdk = summarize(results[overMock ? "mock all-on base" : "sdk"]!);
const lines = [`${streaming ? "stream first chunk" : "non-streaming"}, base ${ref} vs working tree, ${iterations} per candidate; load ${loadBefore} -> ${loadAfter}`];
lines.push(`${"candidate".padEnd(22)} ${"p50 µs".padStart(8)} ${"p99 µs".padStart(8)} ${"CPU µs".padStart(8)} ${"ratio".padStart(6)} ${"+p50 µs".padStart(8)}`);
const row = (name: string, run: Sample): string => {
  const summary = summarize(run);
  return `${name.padEnd(22)} ${summary.p50.toFixed(0).padStart(8)} ${summary.p99.toFixed(0).padStart(8)} ${(run.cpuPerCallUs ?? Number.NaN).toFixed(0).padStart(8)} ${(summary.p50 / sdk.p50).toFixed(3).padStart(6)} ${(summary.p50 - sdk.p50).toFixed(0).padStart(8)}`;
};
for (const [name, run] of Object.entries(results)) lines.push(row(name, run as Sample));
process.stdout.write(lines.join("\n") + "\n");

for (const gateway of gateways) await gateway.close();
await stop(fakeChild);
rmSync(scratch, { recursive: true, force: true });
process.exit(0);
