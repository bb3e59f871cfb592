import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { killAll, startRawStream, REPO_ROOT as root, runCli, startServingCli, type CliRun, type ServingCli } from "./fakes/cli-process.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";

/**
 * `modelgate serve` as a child process (run from source through tsx), with a `.ts` config
 * whose provider is the fake OpenAI server: what a pod does on a rolling deploy.
 */
const TOKEN = "mg-cli-token-0123456789";

let fake: FakeOpenAI;
let dir: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  fake = await startFakeOpenAI();
  dir = mkdtempSync(join(tmpdir(), "modelgate-cli-"));
});
afterEach(() => killAll(children));
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (args: string[], extraEnv: Record<string, string> = {}): CliRun => runCli(args, { FAKE_OPENAI_URL: fake.url, ...extraEnv }, children);
const startServing = (configFile: string | undefined, extraEnv: Record<string, string> = {}): Promise<ServingCli> =>
  startServingCli([...(configFile ? ["--config", configFile] : []), "--port", "0"], { FAKE_OPENAI_URL: fake.url, ...extraEnv }, children);

function writeConfig(name: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `import { openai } from ${JSON.stringify(pathToFileURL(join(root, "src/openai.ts")).href)};
const config = {
  providers: { openai: openai({ baseURL: process.env.FAKE_OPENAI_URL, apiKey: "sk-fake" }) },
  models: { fast: "openai/gpt-4o-mini" },
  keys: { "team-a": {} },
  server: { auth: { tokens: { ${JSON.stringify(TOKEN)}: "team-a" } }, drainTimeoutMs: 20_000 },
};
export default config;
`,
  );
  return file;
}

describe("modelgate serve (CLI)", () => {
  it("--help prints the usage and exits 0; a bad flag exits 2 naming it", async () => {
    const help = run(["--help"]);
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toContain("modelgate serve [options]");
    const bad = run(["serve", "--port", "http"]);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain("--port: expected an integer");
  }, 60_000);

  it("serves a .json config (providers as data, key from apiKeyEnv) and, with no config, the environment's keys", async () => {
    const file = join(dir, "modelgate.config.json");
    writeFileSync(file, JSON.stringify({ providers: { openai: { type: "openai", baseURL: fake.url, apiKeyEnv: "BENCH_FAKE_KEY" } }, models: { fast: "openai/gpt-4o-mini" } }));
    const fromJson = await startServing(file, { BENCH_FAKE_KEY: "sk-from-env-var" });
    const viaJson = new OpenAI({ apiKey: "unused", baseURL: `${fromJson.url}/v1`, maxRetries: 0 });
    expect((await viaJson.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "json" }] })).choices[0]?.message.content).toBe("Echo: json");
    expect(fake.lastRequest?.headers.authorization).toBe("Bearer sk-from-env-var");
    expect(fromJson.stderr()).toContain("bound to loopback only");
    fromJson.child.kill("SIGINT");
    expect(await fromJson.exited).toBe(0);

    const fromEnv = await startServing(undefined, { OPENAI_API_KEY: "sk-env-only", OPENAI_BASE_URL: fake.url });
    const viaEnv = new OpenAI({ apiKey: "unused", baseURL: `${fromEnv.url}/v1`, maxRetries: 0 });
    expect((await viaEnv.chat.completions.create({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "env" }] })).choices[0]?.message.content).toBe("Echo: env");
    expect(fromEnv.stderr()).toContain("openai/<model>");
    fromEnv.child.kill("SIGTERM");
    expect(await fromEnv.exited).toBe(0);
  }, 120_000);

  it("serves a .ts config, and on SIGTERM lets a stream in flight finish, refuses new calls, exits 0", async () => {
    const server = await startServing(writeConfig("modelgate.config.ts"));
    const client = new OpenAI({ apiKey: TOKEN, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const json = await client.chat.completions.create({ model: "fast", messages: [{ role: "user", content: "ping" }] });
    expect(json.choices[0]?.message.content).toBe("Echo: ping");

    fake.setDefault({ reply: "one two three four five six seven eight", chunkDelayMs: 150 });
    const raw = await startRawStream(server.url, TOKEN, "count");
    await raw.firstChunk;
    server.child.kill("SIGTERM");
    await expect.poll(() => server.stderr(), { timeout: 30_000 }).toMatch(/SIGTERM: draining 1 call/);
    // No longer listening: a new connection is refused while the stream goes on.
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    const body = await raw.body;
    expect(body.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(body).toContain('"content":"eight"');
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toMatch(/SIGTERM: draining 1 call/);
    expect(server.stderr()).not.toContain(TOKEN);
  }, 90_000);
});
