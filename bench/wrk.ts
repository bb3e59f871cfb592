/**
 * Load from `wrk` (C, epoll; Debian package `wrk`) instead of autocannon, for
 * `LOADGEN=wrk npx tsx bench/server-hop.ts`: on this 2-core box the load generator shares the
 * cores with the server, and autocannon (JavaScript) spends ~100-140 µs of CPU per request
 * where wrk spends a fraction of that, leaving the server more of the machine. Every body is
 * unique (a counter per wrk thread), as with autocannon: cache misses.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface WrkLoad {
  url: string;
  headers: Record<string, string>;
  model: string;
  connections: number;
  seconds: number;
}

export interface WrkResult {
  rps: number;
  /** Latency percentiles, ms. */
  p50: number;
  p99: number;
  total: number;
  errors: number;
  non2xx: number;
  /** wrk's own user + system CPU over the run, µs. */
  cpuUs: number;
}

/** The Lua that builds each request: bench/fixtures.ts smallBody(model, n) with n unique per thread. */
function script(model: string, headers: Record<string, string>): string {
  const lua = (text: string): string => JSON.stringify(text);
  return `local counter = 0
local thread_id = 0
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  thread_id = id
end
local headers = { ${Object.entries(headers).map(([name, value]) => `[${lua(name)}] = ${lua(value)}`).join(", ")} }
local head = ${lua(`{"model":${JSON.stringify(model)},"messages":[{"role":"user","content":"Say hello to request `)}
local tail = ${lua(` in five words."}],"temperature":0,"max_tokens":16}`)}
function request()
  counter = counter + 1
  return wrk.format("POST", nil, headers, head .. string.format("%d", 2000000000 + thread_id * 100000000 + counter) .. tail)
end
`;
}

export function wrkAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = spawn("wrk", ["--version"], { stdio: "ignore" });
    probe.once("error", () => resolve(false));
    probe.once("exit", () => resolve(true));
  });
}

export async function runWrk(load: WrkLoad): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), "mg-wrk-"));
  const file = join(dir, "load.lua");
  writeFileSync(file, script(load.model, load.headers));
  try {
    // bash's `times` prints the CPU its children (wrk) used, once wrk has exited.
    const command = `wrk -t1 -c${load.connections} -d${load.seconds}s --latency -s ${JSON.stringify(file)} ${JSON.stringify(load.url)}; times`;
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn("bash", ["-c", command], { stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      child.stdout.on("data", (data: Buffer) => (text += data.toString("utf8")));
      child.stderr.on("data", (data: Buffer) => (text += data.toString("utf8")));
      child.once("error", reject);
      child.once("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text.slice(-500)}`))));
    });
    return parse(output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parse(output: string): WrkResult {
  const number = (pattern: RegExp): number => Number(pattern.exec(output)?.[1] ?? 0);
  const latencyMs = (percent: string): number => {
    const match = new RegExp(`^\\s*${percent}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(output);
    if (!match) return Number.NaN;
    const value = Number(match[1]);
    return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const times = output.trim().split("\n").slice(-1)[0]!.split(/\s+/);
  const seconds = (text: string | undefined): number => {
    const match = /(\d+)m([\d.]+)s/.exec(text ?? "");
    return match ? Number(match[1]) * 60 + Number(match[2]) : 0;
  };
  return {
    rps: number(/Requests\/sec:\s+([\d.]+)/),
    p50: latencyMs("50"),
    p99: latencyMs("99"),
    total: number(/(\d+) requests in/),
    errors: socket ? socket.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0,
    non2xx: number(/Non-2xx or 3xx responses: (\d+)/),
    cpuUs: (seconds(times[0]) + seconds(times[1])) * 1e6,
  };
}
