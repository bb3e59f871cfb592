/**
 * Starts the Portkey AI gateway (`@portkey-ai/gateway`, a dev dependency) as a child process
 * on 127.0.0.1, for the proxy-hop rows. Its CLI takes only `--port=N` and `--headless`; it
 * listens on every interface, so a preload (portkey-preload.mjs) pins it to loopback.
 *
 * Requests reach an OpenAI-compatible upstream with `x-portkey-provider: openai` and
 * `x-portkey-custom-host: <base URL incl. /v1>` (127.0.0.1 is on its trusted custom hosts).
 */
import { createRequire } from "node:module";

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { spawnTracked, stop } from "./children.js";
import { freePort } from "../test/fakes/free-port.js";

export interface Portkey {
  /** Base URL for the OpenAI SDK, e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  version: string;
  /** Headers routing a request to `upstream` (an OpenAI-compatible base URL). */
  headersFor(upstream: string): Record<string, string>;
  stop(): Promise<void>;
}

const benchDir = dirname(fileURLToPath(import.meta.url));

export async function startPortkey(): Promise<Portkey> {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve("@portkey-ai/gateway/package.json");
  const packageDir = dirname(packageJson);
  const version = (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version;
  const port = await freePort();
  const child = spawnTracked(
    process.execPath,
    ["--import", join(benchDir, "portkey-preload.mjs"), join(packageDir, "build", "start-server.js"), `--port=${port}`, "--headless"],
    { cwd: packageDir, env: { ...process.env, NODE_ENV: "production" } },
  );
  child.stdout?.resume();
  let stderr = "";
  child.stderr?.on("data", (data: Buffer) => {
    stderr = (stderr + data.toString("utf8")).slice(-2_000);
  });
  let exited: string | undefined;
  child.once("exit", (code, signal) => {
    exited = `Portkey exited (${code ?? signal}) before answering: ${stderr.trim().split("\n").pop() ?? ""}`;
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswers(url, 20_000, () => exited);
  } catch (error) {
    await stop(child);
    throw error;
  }
  return {
    url: `${url}/v1`,
    version,
    headersFor: (upstream) => ({ "x-portkey-provider": "openai", "x-portkey-custom-host": upstream }),
    stop: () => stop(child),
  };
}

async function waitUntilAnswers(url: string, timeoutMs: number, failed: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (let tries = 0; Date.now() < deadline && tries < 400; tries++) {
    const failure = failed();
    if (failure) throw new Error(failure);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.text();
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Portkey did not answer on ${url} within ${timeoutMs} ms (${last})`);
}
