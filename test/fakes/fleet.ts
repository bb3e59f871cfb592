/**
 * A fleet of gateway processes for tests: `fleet-worker.ts` forked with `--import tsx`, each a
 * real Node process with its own event loop, memory and Redis connections.
 */
import { fork, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DeploymentHealth } from "../../src/index.js";
import type { FleetChat, FleetOutcome, FleetStart } from "./fleet-worker.js";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "fleet-worker.ts");
/** Longest a worker may take to start (tsx compiles the gateway; slow on a loaded machine). */
const START_TIMEOUT_MS = 60_000;
/** Longest a worker may take to answer one message. */
const ANSWER_TIMEOUT_MS = 30_000;

/** Starts every process, or none: those started are closed when another fails to start. */
export async function startFleet(specs: Omit<FleetStart, "type">[]): Promise<FleetProcess[]> {
  const results = await Promise.allSettled(specs.map((spec) => FleetProcess.start(spec)));
  const started = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failure = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failure) {
    await Promise.all(started.map((member) => member.close()));
    throw failure.reason;
  }
  return started;
}

export class FleetProcess {
  private nextId = 0;
  private readonly waiting = new Map<number, (message: Record<string, unknown>) => void>();
  private started: (() => void) | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on("message", (message: Record<string, unknown>) => {
      if (message.type === "started") this.started?.();
      const resolve = this.waiting.get(message.id as number);
      if (resolve) {
        this.waiting.delete(message.id as number);
        resolve(message);
      }
    });
  }

  static async start(start: Omit<FleetStart, "type">): Promise<FleetProcess> {
    const child = fork(WORKER, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const process = new FleetProcess(child);
    try {
      await process.bounded(
        new Promise<void>((resolve) => {
          process.started = resolve;
          child.send({ type: "start", ...start });
        }),
        "start",
        START_TIMEOUT_MS,
      );
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
    return process;
  }

  async chat(requests: FleetChat["requests"]): Promise<FleetOutcome[]> {
    return (await this.ask({ type: "chat", requests })).outcomes as FleetOutcome[];
  }

  async health(): Promise<DeploymentHealth[]> {
    return (await this.ask({ type: "health" })).health as DeploymentHealth[];
  }

  /** The process's redisStore counts (`pendingSettlements`, ...). */
  async stats(): Promise<Record<string, number | string>> {
    return (await this.ask({ type: "stats" })).stats as Record<string, number | string>;
  }

  async calls(): Promise<Record<string, number>> {
    return (await this.ask({ type: "calls" })).calls as Record<string, number>;
  }

  /** From now on, chats that reach a provider wait there (still counted in `calls()`) until `releaseCalls()`. */
  async holdCalls(): Promise<void> {
    await this.ask({ type: "hold" });
  }

  /** Lets the held chats answer; resolves with how many were waiting. */
  async releaseCalls(): Promise<number> {
    return (await this.ask({ type: "release" })).released as number;
  }

  /** Closes the gateway, then waits for the process to exit (killed if it does not). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    await this.ask({ type: "close" }).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }

  private ask(message: { type: string; requests?: unknown }): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return this.bounded(
      new Promise((resolve) => {
        this.waiting.set(id, resolve);
        this.child.send({ ...message, id });
      }),
      message.type,
      ANSWER_TIMEOUT_MS,
    );
  }

  private async bounded<T>(work: Promise<T>, what: string, timeoutMs: number): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`fleet worker did not answer '${what}' within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
