import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";

export const HELP = `Usage: modelgate serve [options]

Serves a modelgate gateway as an OpenAI-compatible HTTP server
(POST /v1/chat/completions, POST /v1/embeddings, GET /v1/models, /healthz, /readyz, /metrics).

Options:
  -c, --config <file>          Config file (.ts, .js, .mjs or .json) whose default export is the
                               gateway config, plus an optional \`server\` section
                               ({ port, host, auth, adminToken, drainTimeoutMs, ... }).
                               Without it: the providers whose API keys are in the environment
                               (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY or GOOGLE_API_KEY),
                               models named provider/model.
  -p, --port <n>               Port (default: the config's, else 4000; 0 picks a free one).
      --host <address>         Address to bind (default 127.0.0.1).
      --allow-unauthenticated  Serve without auth on a non-loopback host (something in front authenticates).
      --drain-timeout <ms>     On SIGTERM/SIGINT, how long in-flight calls may finish (default 10000).
  -w, --workers <n|auto>       Server processes sharing the port (node:cluster; default 1; auto: one
                               per CPU). One process runs its JavaScript on one core; more use more.
                               Limits and budgets then need a shared store (redisStore), and an
                               embedded control plane (PGlite) a Postgres url: refused otherwise.
                               A worker that dies is replaced; /metrics sums every worker.
  -h, --help                   Show this help.

Environment: MODELGATE_ADMIN_TOKEN guards /metrics when the config sets no adminToken.
Examples:
  npx modelgate serve --config modelgate.config.ts --port 4000
  npx modelgate serve --config modelgate.config.ts --workers auto
  OPENAI_API_KEY=sk-... npx modelgate serve
`;

export interface ServeArgs {
  command: "serve" | "help";
  config?: string;
  port?: number;
  host?: string;
  allowUnauthenticated: boolean;
  drainTimeoutMs?: number;
  /** Server processes (1: no cluster). */
  workers: number;
}

/** Parses argv (without node and the script); throws an Error naming the bad argument. */
export function parseServeArgs(argv: readonly string[]): ServeArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      port: { type: "string", short: "p" },
      host: { type: "string" },
      "allow-unauthenticated": { type: "boolean", default: false },
      "drain-timeout": { type: "string" },
      workers: { type: "string", short: "w" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help || positionals.length === 0 || positionals[0] === "help") return { command: "help", allowUnauthenticated: false, workers: 1 };
  if (positionals[0] !== "serve" || positionals.length > 1) throw new Error(`unknown command '${positionals.join(" ")}': expected 'serve'`);
  return {
    command: "serve",
    config: values.config,
    port: values.port === undefined ? undefined : integer("--port", values.port, 0, 65_535),
    host: values.host,
    allowUnauthenticated: values["allow-unauthenticated"] === true,
    drainTimeoutMs: values["drain-timeout"] === undefined ? undefined : integer("--drain-timeout", values["drain-timeout"], 0, 600_000),
    workers: values.workers === undefined ? 1 : workerCount(values.workers),
  };
}

/** More processes than this on one machine is a misconfiguration, not a deployment. */
const MAX_WORKERS = 64;

function workerCount(text: string): number {
  if (text === "auto") return Math.min(availableParallelism(), MAX_WORKERS);
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > MAX_WORKERS) throw new Error(`--workers: expected an integer from 1 to ${MAX_WORKERS} or 'auto', got '${text.slice(0, 20)}'`);
  return value;
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name}: expected an integer from ${min} to ${max}, got '${text.slice(0, 20)}'`);
  return value;
}
