import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { createGateway, type AnomalyEvent, type BudgetAlertEvent, type ChatBody, type WebhookEvent } from "../src/index.js";
import { mockProvider } from "../src/testing.js";
import { AlertWebhook, SIGNATURE_HEADER } from "../src/alerts/alert-webhook.js";
import { SpikeAnomalies } from "../src/alerts/spike-anomalies.js";

const ask = (content = "hello"): Omit<ChatBody, "stream"> => ({ model: "p/x", messages: [{ role: "user", content }] });
/** $1 per 1M tokens in, $2 out: 1,000 in + 100 out costs $0.0012 a call. */
const prices = { x: { input: 1, output: 2 } };
const usage = { prompt_tokens: 1_000, completion_tokens: 100 };
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(handle: (req: IncomingMessage, body: string) => number | undefined): Promise<string> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const status = handle(req, body);
      if (status !== undefined) res.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("no address");
  return `http://127.0.0.1:${address.port}/hook`;
}

describe("budget alerts", () => {
  it("fires each threshold once per period and reports the budget's state", async () => {
    const gateway = createGateway({
      providers: { p: mockProvider({ usage }) },
      prices,
      keys: { "team-a": { budget: { usd: 0.01, period: "day" } } },
      alerts: { budgetThresholds: [0.5, 0.8, 1] },
    });
    const fired: BudgetAlertEvent[] = [];
    gateway.on("budget", (event) => fired.push(event));
    for (let i = 0; i < 7; i++) await gateway.chat({ ...ask(), max_tokens: 100 }, { key: "team-a", user: "u1" });
    // 7 x $0.0012 = $0.0084: past 50% (at the 5th call) and 80% (at the 7th), not 100%.
    expect(fired.map((event) => event.threshold)).toEqual([0.5, 0.8]);
    expect(fired[0]).toMatchObject({ scope: "key", key: "team-a", user: undefined, limitUsd: 0.01, period: "day", spentUsd: 0.006 });
    expect(fired[1]!.spentUsd).toBe(0.0084);
    const state = await gateway.budgets.get({ key: "team-a" });
    expect(state).toMatchObject({ limitUsd: 0.01, spentUsd: 0.0084, reservedUsd: 0, remainingUsd: 0.0016, period: "day" });
    const midnight = new Date();
    midnight.setUTCHours(24, 0, 0, 0);
    expect(state!.resetsAt).toBe(midnight.getTime());
    expect(await gateway.budgets.get({ key: "nobody" })).toBeUndefined();
    expect(gateway.alerts.recent().filter((alert) => alert.type === "budget")).toHaveLength(2);
    expect(gateway.stats().alerts).toMatchObject({ budgetAlerts: 2 });
    await gateway.close();
  });

  it("tracks user budgets per key and lists them, most spent first", async () => {
    const gateway = createGateway({ providers: { p: mockProvider({ usage }) }, prices, users: { budget: { usd: 1, period: "month" } } });
    await gateway.chat(ask(), { user: "a" });
    await gateway.chat(ask(), { user: "b" });
    await gateway.chat(ask(), { user: "b" });
    expect(await gateway.budgets.get({ user: "b" })).toMatchObject({ scope: "user", user: "b", spentUsd: 0.0024, remainingUsd: 0.9976 });
    expect((await gateway.budgets.list()).map((state) => state.user)).toEqual(["b", "a"]);
    await gateway.close();
  });

  it("POSTs alerts to a webhook signed with HMAC-SHA256 of the body, retrying a failure", async () => {
    const secret = "whsec-0123456789abcdef";
    const received: { body: string; signature: string | undefined }[] = [];
    let calls = 0;
    const url = await listen((req, body) => {
      calls++;
      if (calls === 1) return 500; // the first delivery fails, the retry succeeds
      received.push({ body, signature: req.headers[SIGNATURE_HEADER] as string | undefined });
      return 204;
    });
    const gateway = createGateway({
      providers: { p: mockProvider({ usage }) },
      prices,
      keys: { k: { budget: { usd: 0.01, period: "day" } } },
      // One call ($0.0012) crosses 10%.
      alerts: { budgetThresholds: [0.1], webhook: { url, secret } },
    });
    await gateway.chat({ ...ask(), max_tokens: 100 }, { key: "k" });
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(1);
    const { body, signature } = received[0]!;
    expect(signature).toBe(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
    expect(JSON.parse(body)).toMatchObject({ type: "budget", scope: "key", key: "k", threshold: 0.1 });
    // The receiver has the body before the sender has read the 204: wait for the sender's count.
    await expect.poll(() => gateway.stats().alerts?.webhook?.delivered, { timeout: 10_000 }).toBe(1);
    expect(gateway.stats().alerts?.webhook).toMatchObject({ delivered: 1, dropped: 0, failed: 0 });
    await gateway.close();
  });

  it("drops alerts past its bounded queue, counted and with an event, never blocking", async () => {
    const url = await listen(() => undefined); // never answers
    const failures: WebhookEvent[] = [];
    const hook = new AlertWebhook({ url, secret: "s".repeat(16), maxQueue: 1, attempts: 1, onFailure: (event) => failures.push(event) });
    hook.send("anomaly", { n: 1 });
    hook.send("anomaly", { n: 2 });
    hook.send("budget", { n: 3 });
    expect(hook.dropped).toBe(2);
    expect(failures).toEqual([
      { status: "dropped", alert: "anomaly", attempts: 0 },
      { status: "dropped", alert: "budget", attempts: 0 },
    ]);
    hook.close();
  });
});

describe("alerts config", () => {
  it("names the bad field", () => {
    const bad = () =>
      createGateway({ providers: { p: mockProvider() }, alerts: { userShare: 2, webhook: { url: "ftp://x", secret: "short" } } } as never);
    expect(bad).toThrow(/alerts\.userShare/);
    expect(bad).toThrow(/alerts\.webhook\.url/);
    expect(bad).toThrow(/alerts\.webhook\.secret/);
  });
});

describe("spend anomalies", () => {
  it("flags the user with a large share of the gateway's spend, once per window", async () => {
    const gateway = createGateway({ providers: { p: mockProvider() }, prices, alerts: { minRequests: 10, userShare: 0.25 } });
    const anomalies: AnomalyEvent[] = [];
    gateway.on("anomaly", (event) => anomalies.push(event));
    const long = "explain my homework in detail ".repeat(100);
    for (let i = 0; i < 6; i++) {
      await gateway.chat(ask(), { user: "light-1" });
      await gateway.chat(ask(), { user: "light-2" });
      await gateway.chat(ask(long), { user: "heavy" });
    }
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ kind: "share", key: undefined, user: "heavy", windowMs: 3_600_000 });
    expect(anomalies[0]!.share).toBeGreaterThan(0.8);
    expect(gateway.alerts.recent()[0]).toMatchObject({ type: "anomaly", user: "heavy" });
    await gateway.close();
  });

  it("flags a user whose hourly spend jumps past k times its trailing baseline", () => {
    const fired: AnomalyEvent[] = [];
    const spikes = new SpikeAnomalies({ spikeFactor: 5, maxTrackedUsers: 2, emit: (event) => fired.push(event) });
    const hour = 3_600_000;
    const t0 = 1_000 * hour;
    for (let h = 0; h < 3; h++) spikes.observe({ time: t0 + h * hour, key: "k", user: "u", costUsd: 0.01 });
    spikes.observe({ time: t0 + 3 * hour, key: "k", user: "u", costUsd: 0.04 });
    expect(fired).toEqual([]); // 4x the baseline: not yet
    spikes.observe({ time: t0 + 3 * hour + 1, key: "k", user: "u", costUsd: 0.02 });
    spikes.observe({ time: t0 + 3 * hour + 2, key: "k", user: "u", costUsd: 0.02 });
    expect(fired).toEqual([{ kind: "spike", key: "k", user: "u", share: 6, spentUsd: 0.06, windowMs: hour }]);
    // Bounded: a third user evicts the least recent one, counted.
    spikes.observe({ time: t0, key: "k", user: "v", costUsd: 0.01 });
    spikes.observe({ time: t0, key: "k", user: "w", costUsd: 0.01 });
    expect(spikes.evictedUsers).toBe(1);
  });
});
