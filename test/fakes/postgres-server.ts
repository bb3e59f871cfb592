/**
 * A real PostgreSQL server for tests: `initdb` in a temp dir, started on a free loopback port
 * with trust auth. It uses the server binaries of the machine (Debian's `postgresql` package,
 * which .ci/run installs, under /usr/lib/postgresql/<version>/bin, or `initdb` on PATH, or
 * MODELGATE_PG_BIN). Postgres refuses to run as root: as root it runs as the `postgres` user.
 * Data survives `kill()` + `restart()` (a crash and recovery), as a real server's does.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./free-port.js";
import { serverProcess } from "./server-process.js";

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

export interface PostgresServer {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  /** SIGKILL of the postmaster: a crash. Its backends notice and exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same data directory and port (crash recovery). */
  restart(): Promise<void>;
  /** Stops the server (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
}

/** The directory of initdb/postgres, or undefined when this machine has no PostgreSQL server. */
export function findPostgresBin(): string | undefined {
  const fromEnv = process.env.MODELGATE_PG_BIN;
  if (fromEnv && existsSync(join(fromEnv, "initdb"))) return fromEnv;
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((entry) => existsSync(join(debian, entry, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(debian, versions[0], "bin");
  }
  const onPath = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" });
  const path = onPath.stdout.trim();
  return onPath.status === 0 && path ? path.slice(0, path.lastIndexOf("/")) : undefined;
}

/** uid/gid to run as: the `postgres` user when we are root, else ourselves. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

export async function startPostgresServer(bin: string): Promise<PostgresServer> {
  const user = runAs();
  const directory = mkdtempSync(join(tmpdir(), "modelgate-pg-"));
  if (user) chownSync(directory, user.uid, user.gid);
  const data = join(directory, "data");
  const init = spawnSync(join(bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], {
    encoding: "utf8",
    ...(user ?? {}),
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.error}`);
  const port = await freePort();
  const launch = (): ChildProcess =>
    spawn(
      join(bin, "postgres"),
      ["-D", data, "-p", String(port), "-k", directory, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=60"],
      { stdio: ["ignore", "ignore", "pipe"], ...(user ?? {}) },
    );
  const server = serverProcess(await waitReady(launch, port), STOP_TIMEOUT_MS);
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kill: () => server.end("SIGKILL"),
    async restart() {
      await server.end("SIGKILL");
      server.adopt(await waitReady(launch, port));
    },
    async stop() {
      await server.end("SIGINT");
      server.release();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Launches until the server answers a query. A restart right after a SIGKILL can fail while
 * the old backends still hold shared memory: it is tried again until the deadline.
 */
async function waitReady(launch: () => ChildProcess, port: number): Promise<ChildProcess> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let stderr = "";
  while (Date.now() < deadline) {
    const child = launch();
    child.stderr?.on("data", (data: Buffer) => {
      stderr = (stderr + data.toString()).slice(-4_000);
    });
    while (Date.now() < deadline && child.exitCode === null) {
      if (await answers(port)) return child;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (child.exitCode === null) child.kill("SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`postgres did not start on port ${port} within ${READY_TIMEOUT_MS} ms: ${stderr}`);
}

async function answers(port: number): Promise<boolean> {
  const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres", connectionTimeoutMillis: 1_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
