#!/usr/bin/env node
/**
 * `modelgate serve`: parses the command line, then runs one server process, or with
 * `--workers N` a cluster primary that runs N of them on one port.
 */
import cluster from "node:cluster";
import { GatewayError } from "../../index.js";
import { runPrimary } from "../cluster/primary.js";
import { HELP, parseServeArgs, type ServeArgs } from "./args.js";
import { runServer } from "./run-server.js";

async function main(argv: readonly string[]): Promise<number> {
  const worker = cluster.isWorker ? cluster.worker : undefined;
  const say = (line: string): void => void process.stderr.write(`modelgate${worker ? ` [worker ${worker.id}]` : ""}: ${line}\n`);
  let args: ServeArgs;
  try {
    args = parseServeArgs(argv);
  } catch (error) {
    say(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    return 2;
  }
  if (args.command === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.workers > 1 && cluster.isPrimary) return runPrimary({ workers: args.workers, drainTimeoutMs: args.drainTimeoutMs, say });
  if (!worker) return runServer(args, say);
  return runServer(args, say, {
    workers: args.workers,
    send: (message) => {
      // After a disconnect, send() would emit an 'error' the worker does not handle.
      if (!process.connected || !process.send) throw new Error("the cluster primary is gone");
      process.send(message);
    },
    onMessage: (listener) => void process.on("message", listener),
    onDisconnect: (listener) => {
      // node:cluster exits a worker at once (code 0) when its primary is gone, cutting its
      // streams and its gateway's unflushed spend; taken as a disconnect it expected, it drains.
      worker.once("disconnect", () => void (worker.exitedAfterDisconnect = true));
      process.on("disconnect", listener);
    },
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A ConfigError lists every bad path; anything else says what failed in one line, no stack.
    const message = error instanceof GatewayError ? error.message : error instanceof Error ? error.message.split("\n")[0] : String(error);
    process.stderr.write(`modelgate${cluster.isWorker ? ` [worker ${cluster.worker?.id}]` : ""}: ${message ?? "failed"}\n`);
    process.exit(1);
  },
);
