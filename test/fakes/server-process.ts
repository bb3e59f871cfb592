/**
 * The lifecycle both real-server fakes (redis-server, postgres) share: one child process at a
 * time, killed if the test process exits first, ended by a signal with a SIGKILL deadline.
 */
import type { ChildProcess } from "node:child_process";

export interface ServerProcess {
  /** Replaces the running child (after a restart). */
  adopt(child: ChildProcess): void;
  /** Sends `signal` (after SIGCONT, so a paused server can act on it) and waits for the exit. */
  end(signal: NodeJS.Signals): Promise<void>;
  /** Sends a signal to the running child, if any (SIGSTOP / SIGCONT for a stall). */
  signal(signal: NodeJS.Signals): void;
  /** Drops the exit hook; call once the server is stopped for good. */
  release(): void;
}

export function serverProcess(first: ChildProcess, stopTimeoutMs: number): ServerProcess {
  let child: ChildProcess | undefined = first;
  const killOnExit = (): void => {
    child?.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  return {
    adopt(next) {
      child = next;
    },
    async end(signal) {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
      running.kill("SIGCONT");
      running.kill(signal);
      const timer = setTimeout(() => running.kill("SIGKILL"), stopTimeoutMs);
      await exited;
      clearTimeout(timer);
    },
    signal(signal) {
      child?.kill(signal);
    },
    release() {
      process.off("exit", killOnExit);
    },
  };
}
