/**
 * `npx tsx bench/server-perf.ts [all|bare] [fake|mock]`: what the kernel does for the modelgate
 * server under load, which the V8 profile (bench/server-profile.ts) cannot tell apart. The V8
 * sampler charges a sample to the JS frame on the stack when it fires, on wall time: a thread
 * inside `writev` that is descheduled (loopback hands the bytes to the peer, whose wake-up may
 * take the core) is counted as if `writev` burned it. Here, over the same load:
 * - the server's user and system CPU per request (/proc/<pid>/stat);
 * - syscalls per request and their wall time (`strace -c -w`, in one extra run: strace slows
 *   the server, read the shares);
 * - with PERF=1 and perf installed (run as root), on-CPU kernel time under `writev` per
 *   request (`perf record -e cpu-clock`, kernel stacks).
 *
 *   PERF_SECONDS=5 PERF=1 npx tsx bench/server-perf.ts all fake
 */
import autocannon from "autocannon";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeServerChild, startServerChild, stop } from "./children.js";
import { BENCH_ROUTE } from "./features.js";
import { smallBody } from "./fixtures.js";
import { loadModelgate } from "./modelgate.js";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const [setup = "all", upstream = "fake"] = process.argv.slice(2);
const seconds = Number(process.env.PERF_SECONDS ?? 5);
const connections = Number(process.env.PERF_CONNECTIONS ?? 100);
const dir = mkdtempSync(join(tmpdir(), "mg-server-perf-"));

const { url: fakeUrl, child: fake } = await startFakeServerChild(root);
const { dir: bundle } = await loadModelgate();
const { url, child: server } = await startServerChild(root, [fakeUrl, "node", upstream, setup, ...(bundle ? [bundle] : [])]);
const pid = server.pid!;

let count = 0;
const load = (duration: number) =>
  autocannon({
    url: `${url}/v1/chat/completions`,
    connections,
    duration,
    method: "POST",
    headers: { authorization: "Bearer mg-bench-token", "content-type": "application/json", "x-modelgate-user": "u42" },
    requests: [{ setupRequest: (request) => ({ ...request, body: JSON.stringify(smallBody(BENCH_ROUTE, count++)) }) }],
  });

/** User and system CPU of the process so far, in µs (fields 14 and 15 of /proc/<pid>/stat, in clock ticks). */
function cpuOf(processId: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${processId}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  const tick = 1e6 / Number(spawnSync("getconf", ["CLK_TCK"]).stdout.toString().trim() || 100);
  return { user: Number(fields[11]) * tick, system: Number(fields[12]) * tick };
}

await load(3); // warm-up

// 1. CPU per request, user and system.
const before = cpuOf(pid);
const plain = await load(seconds);
const after = cpuOf(pid);
const requests = plain.requests.total;
const per = (us: number): string => (us / requests).toFixed(0);
console.log(`server (${setup}, upstream ${upstream}): ${requests} requests in ${seconds} s; load average ${loadavg().map((v) => v.toFixed(2)).join(" ")}`);
console.log(`CPU per request: user ${per(after.user - before.user)} µs, system ${per(after.system - before.system)} µs`);

// 2. Optional: on-CPU kernel stacks under writev.
if (process.env.PERF === "1") {
  const data = join(dir, "perf.data");
  const recorder = spawn("perf", ["record", "-e", "cpu-clock", "-F", "4999", "-g", "-p", String(pid), "-o", data], { stdio: "ignore" });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const from = cpuOf(pid);
  const traced = await load(seconds);
  const to = cpuOf(pid);
  recorder.kill("SIGINT");
  await new Promise((resolve) => recorder.once("exit", resolve));
  const report = spawnSync("perf", ["report", "-i", data, "--stdio", "--no-children", "--sort", "sym", "-g", "none", "--percent-limit", "0.7"], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  }).stdout;
  const samples = spawnSync("perf", ["report", "-i", data, "--stdio", "--children", "--sort", "sym", "-g", "none"], { encoding: "utf8", maxBuffer: 64 << 20 }).stdout;
  // Shares of the CPU the process used meanwhile (user + system, /proc), so perf's sample count is not needed.
  const onCpu = (to.user + to.system - from.user - from.system) / traced.requests.total;
  console.log(`\nperf cpu-clock over ${traced.requests.total} requests (${onCpu.toFixed(0)} µs on CPU per request, perf running)`);
  console.log("inclusive (children) shares of the syscall entry points:");
  for (const line of samples.split("\n")) {
    if (/\b(__x64_sys_\w+|__sys_\w+|do_writev|sock_write_iter|tcp_sendmsg|__tcp_transmit_skb|tcp_v4_rcv|net_rx_action|do_epoll_wait|ksys_read|entry_SYSCALL_64)\b/.test(line)) {
      const share = Number(line.trim().split("%")[0]);
      console.log(`${line.trim().padEnd(70)} ~${((share / 100) * onCpu).toFixed(1)} µs/request`);
    }
  }
  console.log("\nself time, top symbols:");
  console.log(report.split("\n").filter((line) => /%/.test(line)).slice(0, 25).join("\n"));
}

// 3. strace: syscalls per request, wall time inside them.
if (process.env.STRACE !== "0") {
  const tracer = spawn("strace", ["-c", "-w", "-f", "-p", String(pid)], { stdio: ["ignore", "ignore", "pipe"] });
  let report = "";
  tracer.stderr.on("data", (chunk: Buffer) => (report += chunk.toString("utf8")));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const traced = await load(seconds);
  tracer.kill("SIGINT");
  await new Promise((resolve) => tracer.once("exit", resolve));
  console.log(`\nstrace -c -w -f over ${traced.requests.total} requests (wall µs inside each syscall; calls per request last):`);
  for (const line of report.split("\n")) {
    const match = line.match(/^\s*[\d.]+\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(?:\d+\s+)?(\w+)$/);
    if (match && Number(match[3]) >= traced.requests.total / 20) console.log(`${line}   ${(Number(match[3]) / traced.requests.total).toFixed(2)}`);
  }
}

await stop(server, 10_000);
await stop(fake);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
