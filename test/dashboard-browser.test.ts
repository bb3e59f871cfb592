import { mkdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { createGateway, type ChatBody, type Gateway } from "../src/index.js";
import { serve, type RunningServer } from "../src/server.js";
import { mockProvider } from "../src/testing.js";
import { CHROMIUM, launchChromium } from "./fakes/chromium.js";
import { requireBinary } from "./fakes/require-binary.js";

const ADMIN_TOKEN = "admin-token-for-the-dashboard-test";
const ARTIFACTS = "test-artifacts";
const ask = (model: string, content: string): Omit<ChatBody, "stream"> => ({ model, messages: [{ role: "user", content }], max_tokens: 200 });
const prices = { x: { input: 1, output: 2 }, y: { input: 3, output: 15 } };

/** Three users, one heavy (about 90% of the spend), and a deployment that is cooling. */
async function scriptedGateway(): Promise<Gateway> {
  const gateway = createGateway({
    providers: { a: mockProvider({ latencyMs: 2 }), b: mockProvider({ fail: { status: 503, times: Number.POSITIVE_INFINITY } }) },
    models: { chat: "a/x", smart: "a/y", backup: "b/x" },
    prices,
    keys: { "team-a": { budget: { usd: 1, period: "month" } }, "team-b": { budget: { usd: 0.09, period: "day" } } },
    users: { budget: { usd: 0.1, period: "day" } },
    retry: { retries: 0 },
    cooldown: { failures: 1, durationMs: 600_000 },
    alerts: { minRequests: 10 },
  });
  const homework = "Explain this homework question step by step, in detail. ".repeat(60);
  for (let round = 0; round < 6; round++) {
    await gateway.chat(ask("chat", "What is our refund policy?"), { key: "team-a", user: "alice" });
    await gateway.chat(ask("chat", "Summarise this ticket."), { key: "team-a", user: "bob" });
    await gateway.chat(ask("smart", homework), { key: "team-b", user: "mallory" });
  }
  await expect(gateway.chat(ask("backup", "hello"), { key: "team-a", user: "alice" })).rejects.toThrow();
  return gateway;
}

describe("dashboard JSON", () => {
  let gateway: Gateway;
  let server: RunningServer;
  beforeAll(async () => {
    gateway = await scriptedGateway();
    server = await serve(gateway, { port: 0, dashboard: true, adminToken: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await server?.close();
    await gateway?.close();
  });
  const admin = (path: string, token = ADMIN_TOKEN) =>
    fetch(server.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it("refuses /admin/ without the admin token, and serves the page (which holds no data) to anyone", async () => {
    expect((await admin("/admin/spend", "")).status).toBe(401);
    expect((await admin("/admin/budgets", "wrong")).status).toBe(401);
    const page = await fetch(`${server.url}/dashboard`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("uPlot");
    expect(html).not.toContain(ADMIN_TOKEN);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("reports spend by user with shares, per bucket, and rejects a bad query naming the field", async () => {
    const spend = (await (await admin("/admin/spend?by=user&bucket=hour")).json()) as {
      rows: { group: string; costUsd: number; share: number }[];
      totalUsd: number;
      buckets: { start: number; groups: Record<string, number> }[];
    };
    const report = await gateway.spend.report({ by: "user" });
    expect(spend.rows[0]).toMatchObject({ group: "mallory", costUsd: report[0]!.costUsd });
    expect(spend.rows[0]!.share).toBeCloseTo(report[0]!.costUsd / spend.totalUsd, 10);
    expect(spend.buckets.length).toBe(25);
    expect(spend.buckets.at(-1)!.groups.mallory).toBe(report[0]!.costUsd);
    const bad = await admin("/admin/spend?by=colour");
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("'by'");
    const budgets = (await (await admin("/admin/budgets")).json()) as { budgets: { scope: string; key?: string; user?: string }[] };
    expect(budgets.budgets.map((b) => b.key ?? b.user).slice(0, 2)).toEqual(["team-a", "team-b"]);
    const health = (await (await admin("/admin/health")).json()) as { deployments: { deployment: string; state: string }[] };
    expect(health.deployments.find((d) => d.deployment === "b/x")?.state).toBe("cooling");
  });

  it("needs an admin token to serve the dashboard at all", async () => {
    await expect(serve(gateway, { port: 0, dashboard: true })).rejects.toMatchObject({ code: "config_invalid", message: expect.stringContaining("adminToken") });
  });
});

const browserCheck = requireBinary(CHROMIUM);

describe.skipIf(browserCheck.skip)("dashboard in headless Chromium", () => {
  let gateway: Gateway;
  let server: RunningServer;
  let browser: Browser;
  beforeAll(async () => {
    gateway = await scriptedGateway();
    server = await serve(gateway, { port: 0, dashboard: true, adminToken: ADMIN_TOKEN });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await gateway?.close();
  });

  it("shows the heavy user first with its cost and share, the anomaly, and the cooling deployment", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const failedRequests: string[] = [];
    page.on("requestfailed", (request) => failedRequests.push(request.url()));
    await page.goto(`${server.url}/dashboard`);
    await page.fill("input[name=token]", ADMIN_TOKEN);
    await page.click("button[type=submit]");
    await page.waitForSelector("#top-users tbody tr[data-group]", { timeout: 30_000 });

    const [heavy] = await gateway.spend.report({ by: "user" });
    const total = (await gateway.spend.report({ by: "user" })).reduce((sum, row) => sum + row.costUsd, 0);
    const first = page.locator("#top-users tbody tr").first();
    expect(await first.getAttribute("data-group")).toBe("mallory");
    expect(await first.locator(".cost").textContent()).toBe(`$${heavy!.costUsd.toFixed(6)}`);
    expect(await first.locator(".share").textContent()).toBe(`${((heavy!.costUsd / total) * 100).toFixed(1)}%`);
    expect(await first.locator(".flag").textContent()).toContain("anomaly");
    // Two users sharing a key about evenly is no anomaly, though each holds over 25% of it.
    expect(await page.locator('#top-users tr[data-group="alice"] .flag').textContent()).toBe("");
    expect(await page.locator("#alerts li.anomaly", { hasText: "user mallory spent" }).count()).toBeGreaterThan(0);
    expect(await page.locator('[data-deployment="b/x"] .state').textContent()).toMatch(/^cooling/);
    expect(await page.locator('[data-deployment="a/x"] .state').textContent()).toBe("healthy");
    expect(await page.locator("#spend-chart canvas").count()).toBe(1);
    // The token stays in this tab's sessionStorage, never in the URL.
    expect(page.url()).not.toContain(ADMIN_TOKEN);
    expect(failedRequests).toEqual([]);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/dashboard.png`, fullPage: true });
    await page.close();
  }, 60_000);

  it("asks for the token again when it is refused", async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/dashboard`);
    await page.fill("input[name=token]", "not-the-token");
    await page.click("button[type=submit]");
    await page.waitForSelector("form.login .error", { timeout: 30_000 });
    expect(await page.locator("form.login .error").textContent()).toContain("refused");
    await page.close();
  }, 60_000);
});
