/**
 * The control plane as a user runs it: `modelgate/postgres` beside `createGateway` and
 * `modelgate/server`, clients on the official `openai` SDK holding a runtime key's secret.
 * Embedded PGlite across a restart, and two gateways on one real Postgres server seeing a revoke.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../src/index.js";
import { openai } from "../src/openai.js";
import { postgresControlPlane, type PostgresControlPlaneOptions } from "../src/postgres.js";
import { serve, type RunningServer } from "../src/server.js";
import { startFakeOpenAI, type FakeOpenAI } from "./fakes/openai-server.js";
import { postgresBinOrSkip } from "./fakes/postgres-available.js";
import { startPostgresServer, type PostgresServer } from "./fakes/postgres-server.js";

/** $1 per 1M input tokens: each call reports 1,000 prompt tokens, so costs $0.001. */
const UNIT = 0.001;
const bin = postgresBinOrSkip();

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
  fake.setDefault({ usage: { promptTokens: 1_000, completionTokens: 5 } });
});
afterAll(async () => {
  await fake.close();
});

function gatewayWith(options: PostgresControlPlaneOptions): Gateway {
  return createGateway({
    providers: { openai: openai({ baseURL: fake.url, apiKey: "sk-provider" }) },
    models: { fast: "openai/gpt-4o-mini" },
    prices: { "gpt-4o-mini": { input: 1, output: 0 } },
    // A retry covers a keep-alive socket the fake server closed while a database was starting.
    retry: { retries: 2, minDelayMs: 1, maxDelayMs: 10 },
    controlPlane: postgresControlPlane(options),
  });
}

const client = (server: RunningServer, apiKey: string): OpenAI => new OpenAI({ apiKey, baseURL: `${server.url}/v1`, maxRetries: 0 });
const ask = { model: "fast", messages: [{ role: "user" as const, content: "hi" }], max_tokens: 5 };

/** The error an SDK call failed with (its HTTP status and OpenAI error code), or "ok". */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "ok";
  } catch (error) {
    if (error instanceof OpenAI.APIError) return `${error.status} ${error.code ?? error.type ?? ""}`.trim();
    throw error;
  }
}

describe("embedded (PGlite): a runtime key's budget and spend survive a restart", () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), "modelgate-e2e-"));
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("gateway B continues where gateway A stopped", async () => {
    const first = gatewayWith({ dataDir });
    const { secret } = await first.keys.create({ name: "team-c", budget: { usd: 3 * UNIT, period: "month" }, models: ["fast"] });
    const firstServer = await serve(first, { port: 0 });
    const a = client(firstServer, secret);
    expect(await outcome(a.chat.completions.create(ask))).toBe("ok");
    expect(await outcome(a.chat.completions.create(ask))).toBe("ok");
    // A token that is no key is refused before anything runs.
    expect(await outcome(client(firstServer, "mg-not-a-key").chat.completions.create(ask))).toMatch(/^401/);
    await firstServer.close();
    await first.close();

    const second = gatewayWith({ dataDir });
    const secondServer = await serve(second, { port: 0 });
    const b = client(secondServer, secret);
    expect(await outcome(b.chat.completions.create(ask))).toBe("ok");
    expect(await outcome(b.chat.completions.create(ask))).toBe("402 budget_exceeded");
    const rows = await second.spend.report({ by: "key" });
    expect(rows).toEqual([expect.objectContaining({ group: "team-c", requests: 3, costUsd: 3 * UNIT })]);
    const byHour = await second.spend.report({ by: "key", bucket: "hour" });
    expect(byHour.reduce((sum, row) => sum + row.requests, 0)).toBe(3);
    await secondServer.close();
    await second.close();
  }, 120_000);
});

describe.skipIf(!bin)("a fleet on a real Postgres server: a revoke reaches the other gateway", () => {
  let postgres: PostgresServer;
  beforeAll(async () => {
    postgres = await startPostgresServer(bin!);
  }, 120_000);
  afterAll(async () => {
    await postgres?.stop();
  }, 60_000);

  it("gateway B refuses a key within a second of gateway A revoking it (NOTIFY, not the periodic re-read)", async () => {
    // A re-read only every minute: what reaches B in time can only be the NOTIFY.
    const options = { url: postgres.url, keyRefreshMs: 60_000 };
    const gatewayA = gatewayWith(options);
    const gatewayB = gatewayWith(options);
    const serverB = await serve(gatewayB, { port: 0 });
    try {
      await gatewayB.keys.list(); // B has started: its keys are loaded and it listens
      const { secret } = await gatewayA.keys.create({ name: "fleet-key" });
      await until(async () => (await gatewayB.keys.verify(secret)) === "fleet-key");
      const b = client(serverB, secret);
      expect(await outcome(b.chat.completions.create(ask))).toBe("ok");

      const revokedAt = performance.now();
      await gatewayA.keys.revoke("fleet-key");
      await until(async () => (await outcome(b.chat.completions.create(ask))) !== "ok");
      const tookMs = performance.now() - revokedAt;
      console.info(`revoke reached the other gateway in ${tookMs.toFixed(0)} ms`);
      expect(await outcome(b.chat.completions.create(ask))).toBe("401 invalid_api_key");
      // In process too: the key is refused before the pipeline.
      await expect(gatewayB.chat(ask, { key: "fleet-key" })).rejects.toMatchObject({ code: "request_invalid" });
    } finally {
      await serverB.close();
      await gatewayA.close();
      await gatewayB.close();
    }
  }, 120_000);
});

/** Polls until `check` holds; fails after 5 s (the periodic re-read is a minute away). */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
