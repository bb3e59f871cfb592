/**
 * Every child process the bench starts is tracked here and killed when the bench ends, however
 * it ends: normal exit, an error, SIGINT/SIGTERM. Children also watch their stdin and exit
 * when it closes, so even a SIGKILLed bench leaves nothing behind.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const children = new Set<ChildProcess>();
let installed = false;

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
  process.once("uncaughtException", (error) => {
    killAll();
    console.error(error);
    process.exit(1);
  });
}

/** Spawns a tracked child; stdin is a pipe the child can watch to exit with its parent. */
export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  install();
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], ...options });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Stops one child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 2_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stdin?.end();
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

/** Resolves with the first stdout line matching `pattern`, or rejects on exit / after `timeoutMs`. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    let errors = "";
    const done = (error?: Error, match?: RegExpMatchArray): void => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onError);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolve(match!);
    };
    const onData = (data: Buffer): void => {
      buffer += data.toString("utf8");
      const match = buffer.match(pattern);
      if (match) done(undefined, match);
      if (buffer.length > 1e6) buffer = buffer.slice(-1e4);
    };
    const onError = (data: Buffer): void => {
      errors = (errors + data.toString("utf8")).slice(-2_000);
    };
    const onExit = (code: number | null): void => done(new Error(`exited (${code}) before it was ready: ${errors.trim().split("\n").pop() ?? ""}`));
    const timer = setTimeout(() => done(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onError);
    child.once("exit", onExit);
  });
}

/**
 * Starts the fake OpenAI server in its own process (bench/fake-server-child.ts) and waits for
 * its URL; a child that does not start is stopped and the error rethrown.
 */
export async function startFakeServerChild(root: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnTracked(process.execPath, ["--import", "tsx", "bench/fake-server-child.ts"], { cwd: root });
  child.stderr?.resume();
  try {
    const url = (await waitForLine(child, /FAKE_URL (\S+)/, 30_000))[1]!;
    child.stdout?.resume();
    return { url, child };
  } catch (error) {
    await stop(child);
    throw error;
  }
}

/**
 * User + system CPU, in µs, of a process and every descendant (a cluster primary and its
 * workers), from /proc (Linux; clock ticks, 10 ms apart: read over runs of seconds).
 */
export function processTreeCpuUs(rootPid: number): number {
  const stats = new Map<number, { ppid: number; cpuTicks: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name (which may hold spaces) in parentheses.
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(entry), { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  const inTree = new Set([rootPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, { ppid }] of stats) {
      if (!inTree.has(pid) && inTree.has(ppid)) {
        inTree.add(pid);
        grew = true;
      }
    }
  }
  let ticks = 0;
  for (const pid of inTree) ticks += stats.get(pid)?.cpuTicks ?? 0;
  return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
}
/** USER_HZ: 100 on every Linux this bench runs on (`getconf CLK_TCK`). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Starts bench/server-child.ts (a modelgate server in its own process) and waits for its URL.
 * `args`: fake URL, layer (`node`|`hono`), upstream (`fake`|`mock`), setup (`all`|`bare`),
 * then the bundle directory when there is one.
 */
export async function startServerChild(root: string, args: readonly string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnTracked(process.execPath, ["--import", "tsx", "bench/server-child.ts", ...args], { cwd: root });
  child.stderr?.resume();
  const url = (await waitForLine(child, /SERVER_URL (\S+)/, 60_000))[1]!;
  child.stdout?.resume();
  return { url, child };
}
