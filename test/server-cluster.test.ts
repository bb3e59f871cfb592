import { execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import OpenAI from "openai";
import { createNodeFetch } from "../src/providers/shared/node-fetch.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { killAll, startRawStream, REPO_ROOT, runCli, startServingCli } from "./fakes/cli-process.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";
import { REDIS_SERVER, startRedisServer, type RedisServer } from "./fakes/redis-server.js";
import { requireBinary } from "./fakes/require-binary.js";

/**
 * `modelgate serve --workers 2`: a node:cluster primary and two worker processes on one port,
 * driven with the official openai SDK. What a process-local store would break is refused;
 * metrics are summed over workers; a dead worker is replaced; SIGTERM drains them all.
 */
const TOKEN = "mg-cluster-token-0123456789";
const BUDGET_TOKEN = "mg-cluster-budget-0123456789";

let fake: FakeOpenAI;
let dir: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  fake = await startFakeOpenAI();
  dir = mkdtempSync(join(tmpdir(), "modelgate-cluster-"));
});
afterEach(() => killAll(children));
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A config file whose gateway part is `body` (TypeScript object members), importing from src/. */
function writeConfig(name: string, body: string): string {
  const file = join(dir, name);
  const source = (entry: string): string => JSON.stringify(pathToFileURL(join(REPO_ROOT, entry)).href);
  writeFileSync(
    file,
    `import { openai } from ${source("src/openai.ts")};
import { redisStore } from ${source("src/redis.ts")};
void redisStore;
export default {
  providers: { openai: openai({ baseURL: process.env.FAKE_OPENAI_URL, apiKey: "sk-fake" }) },
  models: { fast: "openai/gpt-4o-mini" },
  ${body}
};
`,
  );
  return file;
}

const serveArgs = (file: string, workers = "2"): string[] => ["--config", file, "--port", "0", "--workers", workers];
const env = (): Record<string, string> => ({ FAKE_OPENAI_URL: fake.url });

/** The worker processes a primary forked (not tsx's esbuild service, also its child). */
function workerPids(primary: ChildProcess): number[] {
  const out = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(primary.pid)], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((line) => line.includes("cli/main.ts"))
    .map((line) => Number(line.trim().split(" ")[0]));
}

/** An SDK stream through the server, once its first chunk arrived. */
async function streamStarted(url: string, content: string) {
  const client = new OpenAI({ apiKey: "unused", baseURL: `${url}/v1`, maxRetries: 0 });
  const stream = await client.chat.completions.create({ model: "fast", stream: true, messages: [{ role: "user", content }] });
  const reader = stream[Symbol.asyncIterator]();
  await reader.next();
  return reader;
}

/** The text of the chunks still to come, to the stream's end. */
async function restOf(reader: Awaited<ReturnType<typeof streamStarted>>): Promise<string> {
  let text = "";
  for (;;) {
    const next = await reader.next();
    if (next.done) return text;
    text += next.value.choices[0]?.delta.content ?? "";
  }
}

/** Counts chat calls answered 200 in a Prometheus exposition. */
function chatOk(text: string): number {
  const line = text.split("\n").find((entry) => entry.startsWith('modelgate_http_requests_total{route="/v1/chat/completions",status="200"}'));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("modelgate serve --workers", () => {
  it("refuses limits and budgets on the memory store, once, naming the config path and the fix", async () => {
    const file = writeConfig("memory-limits.config.ts", `keys: { "team-a": { rpm: 60, budget: { usd: 5, period: "day" } } },`);
    const refused = runCli(["serve", ...serveArgs(file)], env(), children);
    expect(await refused.exited).toBe(2);
    const said = refused.stderr();
    expect(said).toContain("keys.team-a");
    expect(said).toContain("redisStore");
    expect(said.match(/would be counted by each of the 2 workers/g)).toHaveLength(1);
    expect(said).not.toContain("listening on");
    // One worker, the same config: nothing to refuse.
    const single = await startServingCli(serveArgs(file, "1"), env(), children);
    single.child.kill("SIGTERM");
    expect(await single.exited).toBe(0);
  }, 90_000);

  it("--workers takes an integer or 'auto', and says which when not", async () => {
    const bad = runCli(["serve", "--workers", "two"], env(), children);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain("--workers: expected an integer from 1 to 64 or 'auto', got 'two'");
  }, 60_000);

  it("serves from two workers, sums their metrics, replaces a dead worker, and drains all on SIGTERM", async () => {
    const file = writeConfig("cluster.config.ts", `server: { auth: { tokens: { ${JSON.stringify(TOKEN)}: "team-a" } }, drainTimeoutMs: 20_000 },`);
    const server = await startServingCli(serveArgs(file), env(), children);
    expect(server.stderr()).toMatch(/with 2 workers; bearer-token auth on; each worker keeps its own/);
    expect(workerPids(server.child)).toHaveLength(2);

    // A transport of its own per call, so a connection of its own: the primary hands
    // connections to the workers in turn.
    const calls = 12;
    for (let index = 0; index < calls; index++) {
      const client = new OpenAI({ apiKey: TOKEN, baseURL: `${server.url}/v1`, maxRetries: 0, fetch: createNodeFetch() });
      const answer = await client.chat.completions.create({ model: "fast", messages: [{ role: "user", content: `call ${index}` }] });
      expect(answer.choices[0]?.message.content).toBe(`Echo: call ${index}`);
    }
    // Every scrape, whichever worker takes it, counts the calls both workers answered.
    for (let scrape = 0; scrape < 4; scrape++) {
      const metrics = await fetch(`${server.url}/metrics`, { headers: { connection: "close" } });
      expect(metrics.status).toBe(200);
      expect(chatOk(await metrics.text())).toBe(calls);
    }

    const [victim] = workerPids(server.child);
    process.kill(victim!, "SIGKILL");
    await expect.poll(() => server.stderr(), { timeout: 30_000 }).toMatch(/exited \(signal SIGKILL\) while serving: starting a replacement/);
    await expect.poll(() => workerPids(server.child).filter((pid) => pid !== victim).length, { timeout: 30_000 }).toBe(2);
    const again = new OpenAI({ apiKey: TOKEN, baseURL: `${server.url}/v1`, maxRetries: 2 });
    expect((await again.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "after" }] })).choices[0]?.message.content).toBe("Echo: after");

    // A stream in flight when SIGTERM reaches the primary finishes before the workers exit.
    fake.setDefault({ reply: "one two three four five six", chunkDelayMs: 150 });
    const stream = await startRawStream(server.url, TOKEN, "count");
    await stream.firstChunk;
    server.child.kill("SIGTERM");
    const body = await stream.body;
    fake.setDefault({});
    expect(body.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(body).toContain('"content":"six"');
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toMatch(/SIGTERM: draining 2 worker/);
    expect(server.stderr()).not.toContain(TOKEN);
  }, 120_000);
});

describe("modelgate serve --workers, one worker stopped on its own", () => {
  it("a worker given SIGTERM drains and exits 0: not a crash, not replaced; the others serve on", async () => {
    const file = writeConfig("cluster-one.config.ts", ``);
    const server = await startServingCli(serveArgs(file), env(), children);
    const [drained, kept] = workerPids(server.child);
    process.kill(drained!, "SIGTERM");
    await expect.poll(() => server.stderr(), { timeout: 30_000 }).toMatch(/drained and exited on a signal of its own: not replaced/);
    expect(workerPids(server.child)).toEqual([kept]);
    const client = new OpenAI({ apiKey: "unused", baseURL: `${server.url}/v1`, maxRetries: 0 });
    expect((await client.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "still" }] })).choices[0]?.message.content).toBe("Echo: still");
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }, 90_000);
});

describe("modelgate serve --workers, stopped twice", () => {
  it("a second SIGTERM kills the workers without waiting for a stream and exits 1", async () => {
    const file = writeConfig("cluster-twice.config.ts", `server: { drainTimeoutMs: 60_000 },`);
    const server = await startServingCli(serveArgs(file), env(), children);
    fake.setDefault({ reply: "a b c d e f g h i j k l m n o p", chunkDelayMs: 1_000 });
    try {
      const reader = await streamStarted(server.url, "slow");
      const pids = workerPids(server.child);
      server.child.kill("SIGTERM");
      await expect.poll(() => server.stderr(), { timeout: 30_000 }).toMatch(/SIGTERM: draining 2 worker/);
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(1);
      // The idle worker may have drained and exited already: the one holding the stream is killed.
      expect(server.stderr()).toMatch(/SIGTERM again: killing [12] worker/);
      for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
      // The stream is cut, not finished: reading on ends in a connection error.
      await expect(restOf(reader)).rejects.toThrow();
    } finally {
      fake.setDefault({});
    }
  }, 90_000);
});

describe("modelgate serve --workers, scraped while a worker starts", () => {
  it("answers /metrics from the workers that listen, not waiting on one still loading its config", async () => {
    const file = writeConfig("cluster-scrape.config.ts", "");
    const server = await startServingCli(serveArgs(file), env(), children);
    const [victim] = workerPids(server.child);
    process.kill(victim!, "SIGKILL");
    await expect.poll(() => server.stderr(), { timeout: 30_000 }).toMatch(/starting a replacement/);
    // The replacement is loading its config: it cannot answer yet, and need not.
    const started = Date.now();
    const metrics = await fetch(`${server.url}/metrics`, { headers: { connection: "close" } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("modelgate_http_requests_total");
    expect(Date.now() - started).toBeLessThan(4_000);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }, 90_000);
});

describe("modelgate serve --workers, the primary killed", () => {
  it("each worker drains its streams and closes its gateway, not node's exit at once", async () => {
    const file = writeConfig("cluster-orphan.config.ts", "");
    const server = await startServingCli(serveArgs(file), env(), children);
    fake.setDefault({ reply: "a b c d e", chunkDelayMs: 300 });
    try {
      const reader = await streamStarted(server.url, "orphan");
      const pids = workerPids(server.child);
      server.child.kill("SIGKILL");
      const text = await restOf(reader);
      expect(text).toContain("e");
      await expect.poll(() => pids.filter((pid) => isAlive(pid)).length, { timeout: 20_000 }).toBe(0);
      expect(server.stderr()).toMatch(/primary gone: draining/);
    } finally {
      fake.setDefault({});
    }
  }, 90_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("modelgate serve --workers, the first worker lost while the others start", () => {
  it("runs N workers, not one more per worker that listens first again", async () => {
    const file = writeConfig("cluster-first-lost.config.ts", "");
    const run = runCli(["serve", ...serveArgs(file)], env(), children);
    // The first worker listens, the second is forked and loading: the first dies now.
    await expect.poll(() => workerPids(run.child).length, { timeout: 30_000, interval: 20 }).toBe(2);
    const [first] = workerPids(run.child);
    process.kill(first!, "SIGKILL");
    await expect.poll(() => run.stderr(), { timeout: 30_000 }).toMatch(/listening on .* with 2 workers/);
    await new Promise((resolveWait) => setTimeout(resolveWait, 3_000));
    expect(workerPids(run.child)).toHaveLength(2);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  }, 90_000);
});

describe("modelgate serve --workers, Ctrl-C in a terminal", () => {
  it("SIGINT to the whole process group drains once: a stream finishes, no worker is replaced, exit 0", async () => {
    const file = writeConfig("cluster-ctrl-c.config.ts", "");
    const server = await startServingCli(serveArgs(file), env(), children, true);
    fake.setDefault({ reply: "a b c d", chunkDelayMs: 300 });
    try {
      const reader = await streamStarted(server.url, "ctrl-c");
      process.kill(-server.child.pid!, "SIGINT");
      const text = await restOf(reader);
      expect(text).toContain("d");
      expect(await server.exited).toBe(0);
      expect(server.stderr()).not.toMatch(/replacement/);
    } finally {
      fake.setDefault({});
    }
  }, 90_000);
});

describe("modelgate serve --workers, a long drain set in the config", () => {
  it("waits for the config's drainTimeoutMs before killing a worker, not the default's", async () => {
    // The primary never loads the config: past 10 s + 5 s of grace it used to kill the worker.
    const file = writeConfig("cluster-long-drain.config.ts", `server: { drainTimeoutMs: 60_000 },`);
    const server = await startServingCli(serveArgs(file), env(), children);
    fake.setDefault({ reply: "a b c d e f g h i j k l m n o p q r", chunkDelayMs: 1_000 });
    try {
      const reader = await streamStarted(server.url, "slow");
      server.child.kill("SIGTERM");
      const text = await restOf(reader);
      expect(text).toContain("r");
      expect(await server.exited).toBe(0);
      expect(server.stderr()).not.toMatch(/killing it/);
    } finally {
      fake.setDefault({});
    }
  }, 90_000);
});

const redis = requireBinary({ ...REDIS_SERVER, what: "the cluster budget test (test/server-cluster.test.ts)" });

describe.skipIf(redis.skip)("modelgate serve --workers with redisStore", () => {
  let redisServer: RedisServer;
  beforeAll(async () => {
    redisServer = await startRedisServer();
  });
  afterAll(async () => {
    await redisServer?.stop();
  });

  it("two workers spend one budget: bursts until it is gone spend it once, never over", async () => {
    const budgetUsd = 0.2;
    const file = writeConfig(
      "cluster-budget.config.ts",
      `store: redisStore({ url: ${JSON.stringify(redisServer.url)} }, { prefix: "cluster-budget:" }),
  prices: { "gpt-4o-mini": { input: 1000, output: 1000 } },
  keys: { "team-a": { budget: { usd: ${budgetUsd}, period: "day" } } },
  server: { auth: { tokens: { ${JSON.stringify(BUDGET_TOKEN)}: "team-a" } } },`,
    );
    const server = await startServingCli(serveArgs(file), env(), children);
    // Each call on a connection of its own, so both workers take part; bursts until one is all refused.
    const burst = (round: number) =>
      Promise.all(
        Array.from({ length: 10 }, async (_, index) => {
          const client = new OpenAI({ apiKey: BUDGET_TOKEN, baseURL: `${server.url}/v1`, maxRetries: 0, fetch: createNodeFetch() });
          try {
            const answer = await client.chat.completions.create({ model: "fast", max_tokens: 5, messages: [{ role: "user", content: `spend ${round}.${index}` }] });
            return { costUsd: ((answer.usage?.prompt_tokens ?? 0) * 1000 + (answer.usage?.completion_tokens ?? 0) * 1000) / 1e6 };
          } catch (error) {
            const apiError = error as InstanceType<typeof OpenAI.APIError>;
            return { status: apiError.status, code: apiError.code };
          }
        }),
      );
    let spent = 0;
    let answered = 0;
    for (let round = 0; round < 40; round++) {
      const outcomes = await burst(round);
      for (const outcome of outcomes) {
        if (outcome.costUsd !== undefined) {
          spent += outcome.costUsd;
          answered++;
        } else expect(outcome).toMatchObject({ status: 402, code: "budget_exceeded" });
      }
      if (outcomes.every((outcome) => outcome.costUsd === undefined)) break;
    }
    // Counted on one store, the budget runs out once: over it would mean each worker spent its own.
    expect(spent).toBeLessThanOrEqual(budgetUsd + 1e-12);
    expect(spent).toBeGreaterThan(budgetUsd / 2);
    expect(answered).toBeGreaterThan(1);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }, 120_000);
});
