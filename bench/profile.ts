/**
 * "Which part costs what": a CPU profile (V8's sampling profiler through node:inspector, the
 * same data `node --cpu-prof` writes) of `gateway.chat()` with every middleware on, over the
 * mock, and the top frames by self time, in µs per call. Frames of the bench and the mock are
 * left out; `(garbage collector)` stays: allocation is a cost of the path.
 */
import { readFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { fileURLToPath } from "node:url";
import type { Gateway } from "../src/index.js";
import { body2k, REPLY } from "./fixtures.js";
import { baseConfig, BENCH_ROUTE, CALL_OPTIONS, withFeatures, type Feature } from "./features.js";
import type { Modelgate } from "./modelgate.js";

export interface Frame {
  name: string;
  /** Where: package or file:line. */
  where: string;
  usPerCall: number;
  share: number;
}

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export async function profileHotPath(modelgate: Modelgate, features: readonly Feature[], quick: boolean): Promise<{ frames: Frame[]; calls: number }> {
  const mock = modelgate.mockProvider({ reply: REPLY });
  const gateway: Gateway = modelgate.createGateway(withFeatures(baseConfig({ mock }), features));
  const calls = quick ? 5_000 : 30_000;
  let made = -1_000_000;
  const call = async (): Promise<void> => {
    if (++made % 1_000 === 0) mock.reset();
    await gateway.chat(body2k(BENCH_ROUTE, made) as Parameters<Gateway["chat"]>[0] & { stream?: false }, CALL_OPTIONS);
  };
  // Warm up, letting the event loop turn so background loads (a tokenizer) land first.
  const warmUntil = performance.now() + 1_500;
  for (let index = 0; index < 50_000 && (index < 2_000 || performance.now() < warmUntil); index++) {
    await call();
    if (index % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 50 });
    await session.post("Profiler.start");
    for (let index = 0; index < calls; index++) {
      await call();
      if (index % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
    }
    const { profile } = (await session.post("Profiler.stop")) as unknown as {
      profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
    };
    return { frames: selfTimes(profile, calls, Number(process.env.PROFILE_TOP ?? 15)), calls };
  } finally {
    session.disconnect();
    await gateway.close();
  }
}

export function selfTimes(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }, calls: number, top = 15): Frame[] {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, { name: string; where: string; us: number }>();
  let all = 0;
  for (let index = 0; index < profile.samples.length; index++) {
    const node = nodes.get(profile.samples[index]!);
    const delta = profile.timeDeltas[index] ?? 0;
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)" || functionName === "(program)") continue;
    // The in-process inspector session's own message dispatch: the profiler, not the gateway.
    if (functionName === "dispatch" && !url) continue;
    all += delta;
    const where = describe(url, lineNumber);
    if (/bench\/(fixtures|stats|profile|features)\.ts|testing\.js/.test(where)) continue;
    const name = functionName || "(anonymous)";
    const key = `${name} ${where}`;
    const entry = totals.get(key) ?? { name, where, us: 0 };
    entry.us += delta;
    totals.set(key, entry);
  }
  return [...totals.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((entry) => ({ name: entry.name, where: entry.where, usPerCall: entry.us / calls, share: all ? entry.us / all : 0 }));
}

const moduleMarkers = new Map<string, { line: number; source: string }[]>();

/** The src/ file a line of the bundle came from: esbuild heads each module with `// src/...`. */
export function sourceOf(path: string, lineNumber: number): string | undefined {
  let markers = moduleMarkers.get(path);
  if (!markers) {
    markers = [];
    try {
      readFileSync(path, "utf8")
        .split("\n")
        .forEach((line, index) => {
          const match = line.match(/^\/\/ (src\/\S+\.ts)$/);
          if (match) markers!.push({ line: index, source: match[1]! });
        });
    } catch {
      // Not readable: the bundle path is shown instead.
    }
    moduleMarkers.set(path, markers);
  }
  let found: string | undefined;
  for (const marker of markers) {
    if (marker.line > lineNumber) break;
    found = marker.source;
  }
  return found;
}

function describe(url: string, lineNumber: number): string {
  if (!url) return "(native)";
  const packageMatch = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/);
  if (packageMatch) return `${packageMatch[1]} ${packageMatch[2]!.split("/").pop()}`;
  if (url.startsWith("node:")) return url;
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  return sourceOf(path, lineNumber) ?? `${path.replace(/.*\/bench\//, "bench/")}:${lineNumber + 1}`;
}
