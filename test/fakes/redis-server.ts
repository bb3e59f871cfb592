/**
 * A real redis-server for tests: started on a free loopback port in a temp dir, with no
 * persistence (`--save "" --appendonly no`), and stopped after. Test files check for it with
 * `requireBinary(REDIS_SERVER)`: without it they skip with one line, except under `CI=true`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import type { RequiredBinary } from "./require-binary.js";
import { serverProcess } from "./server-process.js";

export const REDIS_SERVER: RequiredBinary = {
  command: "redis-server",
  install: "`apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis`",
};

const READY_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;
/** Tries with a new port when another process took the one we picked in between. */
const START_TRIES = 3;

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** SIGKILL, as a crash: the data is gone, the port free. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server stalls with its connections open. */
  pause(): void;
  resume(): void;
  /** Starts a new server on the same port: empty, or (with `persist`) with every acknowledged write. */
  restart(): Promise<void>;
  /** Stops the server (SIGTERM) and removes its directory. */
  stop(): Promise<void>;
}

/** Fails with instructions when redis-server is missing. */
export function requireRedisServer(): void {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      "redis-server is not installed, and the Redis tests need a real one (they start it on a free loopback port). " +
        "Install it: `apt-get install -y redis-server` (Debian/Ubuntu; .ci/run does this) or `brew install redis`.",
    );
  }
}

export interface RedisServerOptions {
  /** Append-only file, fsynced before each reply: a SIGKILL loses no acknowledged write (as an operator runs budgets). */
  persist?: boolean;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  requireRedisServer();
  const directory = mkdtempSync(join(tmpdir(), "modelgate-redis-"));
  let lastError: unknown;
  for (let attempt = 0; attempt < START_TRIES; attempt++) {
    const port = await freePort();
    try {
      const child = await launch(port, directory, options);
      return handle(port, directory, child, options);
    } catch (error) {
      lastError = error;
    }
  }
  rmSync(directory, { recursive: true, force: true });
  throw lastError;
}

function handle(port: number, directory: string, first: ChildProcess, options: RedisServerOptions): RedisServer {
  const server = serverProcess(first, STOP_TIMEOUT_MS);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => server.end("SIGKILL"),
    pause: () => server.signal("SIGSTOP"),
    resume: () => server.signal("SIGCONT"),
    async restart() {
      await server.end("SIGKILL");
      server.adopt(await launch(port, directory, options));
    },
    async stop() {
      await server.end("SIGTERM");
      server.release();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

async function launch(port: number, directory: string, options: RedisServerOptions): Promise<ChildProcess> {
  const persistence = options.persist ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", ...persistence, "--dir", directory, "--loglevel", "warning"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (data: Buffer) => {
    if (stderr.length < 4_000) stderr += data.toString();
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}) on port ${port}: ${stderr}`);
    if (await answersPing(port)) return child;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server did not answer PING on port ${port} within ${READY_TIMEOUT_MS} ms: ${stderr}`);
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}
