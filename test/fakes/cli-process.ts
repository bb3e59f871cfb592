/**
 * `modelgate serve` as a child process, run from source through tsx, for the CLI and cluster
 * tests: its output kept, its exit awaited, killed by the test's own cleanup if left running.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { request as httpRequest } from "node:http";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(REPO_ROOT, "src/server/cli/main.ts");

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export interface ServingCli extends CliRun {
  url: string;
}

/**
 * Runs the CLI with `args`; `children` collects it for the caller's cleanup. `processGroup`
 * makes it lead a process group of its own, as a terminal's foreground job does, so a test can
 * signal the group (`process.kill(-pid, ...)`) like Ctrl-C.
 */
export function runCli(args: string[], env: Record<string, string>, children: Set<ChildProcess>, processGroup = false): CliRun {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...cleanEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: processGroup,
  });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (data: Buffer) => (stdout += data.toString("utf8")));
  child.stderr!.on("data", (data: Buffer) => (stderr += data.toString("utf8")));
  // "close", not "exit": the exit can come before the last of its output was read.
  const exited = new Promise<number | null>((resolveExit) => child.once("close", (code) => resolveExit(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs `serve` and waits for its "listening on <url>" line; rejects with its output if it exits first. */
export async function startServingCli(args: string[], env: Record<string, string>, children: Set<ChildProcess>, processGroup = false): Promise<ServingCli> {
  const started = runCli(["serve", ...args], env, children, processGroup);
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not start: ${started.stderr()}`)), 60_000);
    const check = (): void => {
      const match = /listening on (http:\/\/[^\s]+) /.exec(started.stderr());
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    };
    started.child.stderr!.on("data", check);
    void started.exited.then((code) => reject(new Error(`CLI exited ${code}: ${started.stderr()}`)));
  });
  return { ...started, url };
}

/** Kills what a test left running. */
export function killAll(children: Set<ChildProcess>): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children.clear();
}

/** The environment without provider keys of the machine running the tests. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ["OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"]) delete env[name];
  return env;
}

/** A raw SSE chat stream (no SDK): resolves once the answer's head arrived; `body` is every byte to its end. */
export function startRawStream(url: string, token: string, content: string): Promise<{ firstChunk: Promise<void>; body: Promise<string> }> {
  return new Promise((resolveStream, reject) => {
    const req = httpRequest(
      `${url}/v1/chat/completions`,
      { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } },
      (res) => {
        let body = "";
        let gotFirst!: () => void;
        const firstChunk = new Promise<void>((resolveFirst) => (gotFirst = resolveFirst));
        res.on("data", (data: Buffer) => {
          body += data.toString("utf8");
          gotFirst();
        });
        resolveStream({ firstChunk, body: new Promise((resolveBody) => res.on("end", () => resolveBody(body))) });
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ model: "fast", stream: true, messages: [{ role: "user", content }] }));
  });
}
