/**
 * `npm run demo`: modelgate end to end, offline. Local fake OpenAI-compatible servers stand in
 * for the providers; the real `openai` SDK talks to them over loopback. The demo makes calls
 * and prints what the gateway did: which deployment served, retries, fallback after an
 * injected outage, cooldown, recovery, a stream; then what it is for: two teams on virtual
 * keys with budgets, what each user spends, exact and semantic cache hits and what they saved,
 * a rate-limit refusal, and the spend report.
 */
import { randomBytes } from "node:crypto";
import { RateLimitError, createGateway } from "../src/index.js";
import { serve } from "../src/server.js";
import { openai } from "../src/openai.js";
import { startFakeOpenAI } from "../test/fakes/openai-server.js";
import type { ChatBody, GatewayChatResponse } from "../src/index.js";

const primary = await startFakeOpenAI({ default: { delayMs: 15 } });
const backup = await startFakeOpenAI({ default: { delayMs: 5 } });
// Embeddings for the semantic cache: its own server, so the primary's outage below leaves it be.
const embedder = await startFakeOpenAI();

const gateway = createGateway({
  providers: {
    primary: openai({ baseURL: primary.url, apiKey: "demo-key-primary", name: "openai" }),
    backup: openai({ baseURL: backup.url, apiKey: "demo-key-backup", name: "vllm" }),
    embeddings: openai({ baseURL: embedder.url, apiKey: "demo-key-embeddings" }),
  },
  models: {
    smart: { deployments: ["primary/gpt-5.4"], fallbacks: ["cheap"] },
    cheap: "backup/llama-3.1-8b",
  },
  retry: { retries: 1, minDelayMs: 50, maxDelayMs: 500 },
  cooldown: { failures: 2, windowMs: 10_000, durationMs: 1_500 },
  // Two teams, each on its own virtual key, with a rate limit and a budget in USD.
  keys: {
    "team-search": { rpm: 60, budget: { usd: 5, period: "month" } },
    "team-support": { rpm: 3, budget: { usd: 1, period: "day" } },
  },
  // gpt-5.4's price comes from the built-in catalog; the self-hosted model's is ours to state.
  prices: { "llama-3.1-8b": { input: 0.05, output: 0.08 } },
  cache: { exact: {}, semantic: { embed: "embeddings/text-embedding-3-small", threshold: 0.9 } },
});

gateway.on("retry", (event) => note(`retry: ${event.deployment} attempt ${event.attempt} failed (${event.error.message}); waiting ${event.delayMs} ms`));
gateway.on("fallback", (event) => note(`fallback: ${event.from} -> ${event.to}`));
gateway.on("cooldown", (event) => note(`cooldown: ${event.deployment} skipped for ${event.durationMs} ms (${event.reason})`));

// Answers capped at 300 tokens: a budget reserves what a call may cost at most, and uncapped that
// is the model's whole output limit (gpt-5.4: up to $1.92, more than team-support's $1 a day).
const ask = (content: string) => ({ model: "smart", messages: [{ role: "user" as const, content }], max_tokens: 300 });
/** A call made for one end user of one team's virtual key, and what came of it. */
const callAs = async (user: string, key: string, body: ChatBody & { stream?: false }): Promise<void> =>
  show(await gateway.chat(body, { key, user }), { user, key, asked: lastUserText(body) });

step("1. A plain call: served by the primary deployment");
await callAs("alice", "team-search", ask("What is modelgate?"));

step("2. One 503 from the primary: retried with backoff, then served");
primary.enqueue({ fail: { status: 503, message: "temporarily overloaded" } });
show(await gateway.chat(ask("Try again?")));

step("3. Outage on the primary: retries fail, the call falls back to 'cheap'");
primary.setDefault({ fail: { status: 503, message: "outage" } });
show(await gateway.chat(ask("Is anyone there?")));

step("4. While the primary cools down, calls go straight to the fallback");
show(await gateway.chat(ask("Still there?")));
for (const row of gateway.health()) {
  note(`health: ${row.deployment} ${row.state}${row.state === "cooling" ? ` for another ${Math.round(row.coolingForMs)} ms` : ""}`);
}

step("5. The primary recovers; after its cooldown one probe call brings it back");
primary.setDefault({ delayMs: 15 });
await new Promise((resolve) => setTimeout(resolve, 1_700));
show(await gateway.chat(ask("Back?")));

step("6. A stream: chunks as they arrive, then the assembled answer");
const stream = await gateway.chat({ ...ask("Stream me a sentence"), stream: true });
process.stdout.write("   ");
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? "");
process.stdout.write("\n");
show(await stream.finalResponse());

step("7. A bad request is rejected before any provider is called");
try {
  await gateway.chat({ model: "smart", messages: [], temperature: 7 });
} catch (error) {
  note(String(error).replaceAll("\n", "\n     "));
}

step("8. Two teams on virtual keys: team-search (60 rpm, $5 a month), team-support (3 rpm, $1 a day)");
// alice asks for long answers, so she spends the most.
for (const question of ["Summarise our search logs for last week", "Draft a ranking design doc", "Explain BM25 with examples"]) {
  await callAs("alice", "team-search", { ...ask(question), max_tokens: 400 });
}
await callAs("bob", "team-search", ask("Is the index fresh?"));
await callAs("carol", "team-support", ask("How do I reset a customer's password?"));

step("9. The same question again: an exact cache hit, no provider call, its cost saved");
const beforeHit = primary.requestCount;
await callAs("carol", "team-support", ask("How do I reset a customer's password?"));
note(`provider requests during that call: ${primary.requestCount - beforeHit}`);

step("10. The same meaning in other words: a semantic cache hit (similar embeddings)");
await callAs("bob", "team-search", { ...ask("Please tell me the capital city of France"), temperature: 0 });
await callAs("bob", "team-search", { ...ask("Tell me the capital city of France"), temperature: 0 });

step("11. team-support may make 3 requests a minute (carol made one; her cache hit did not count)");
for (let i = 1; i <= 3; i++) {
  try {
    const res = await gateway.chat(ask(`Ticket ${i}: where is my order?`), { key: "team-support", user: "dave" });
    note(`ticket ${i}: served by ${res.gateway.deployment}, ${usd(res.gateway.costUsd)}`);
  } catch (error) {
    if (!(error instanceof RateLimitError)) throw error;
    note(`ticket ${i}: refused before any provider call, ${error.code} (${error.scope} limit); retry after ${(error.retryAfterMs / 1_000).toFixed(1)} s`);
  }
}

step("12. What it cost: gateway.spend.report, by user and by key (costliest first)");
for (const by of ["user", "key"] as const) {
  const rows = await gateway.spend.report({ by });
  console.log(`\n   ${by.padEnd(14)} ${"requests".padStart(8)} ${"tokens in".padStart(10)} ${"tokens out".padStart(10)} ${"cost".padStart(11)} ${"saved".padStart(11)}`);
  for (const row of rows) {
    console.log(
      `   ${(row.group === "(none)" ? "(no " + by + ")" : row.group).padEnd(14)} ${String(row.requests).padStart(8)} ${String(row.inputTokens).padStart(10)} ${String(row.outputTokens).padStart(10)} ${usd(row.costUsd).padStart(11)} ${usd(row.savedUsd).padStart(11)}`,
    );
  }
}

note("(no user) and (no key): the calls of steps 2 to 7, made without one. Cache hits cost nothing and count as saved.");

step("13. What is left: gateway.budgets.get, and the alerts fired on the way");
for (const key of ["team-search", "team-support"]) {
  const budget = await gateway.budgets.get({ key });
  if (budget) note(`${key}: spent ${usd(budget.spentUsd)} of ${usd(budget.limitUsd)} this ${budget.period}, ${usd(budget.remainingUsd)} left`);
}
for (const alert of gateway.alerts.recent()) note(alert.type === "budget" ? `budget: ${alert.key} passed ${alert.threshold * 100}%` : `anomaly (${alert.kind}): user ${alert.user}, ${(alert.share * 100).toFixed(0)}% of ${alert.key ?? "all spend"}`);

if (process.argv.includes("--serve")) {
  // A throwaway token for this run: the page asks for it once and keeps it in the tab only.
  const adminToken = process.env.MODELGATE_ADMIN_TOKEN ?? randomBytes(12).toString("hex");
  const server = await serve(gateway, { port: Number(process.env.PORT ?? 4000), dashboard: true, adminToken });
  console.log(`\nDashboard: ${server.url}/dashboard (admin token: ${adminToken}). Ctrl-C to stop.`);
  await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  await server.close();
}

await gateway.close();
await Promise.all([primary.close(), backup.close(), embedder.close()]);
console.log(`\nDone. The primary fake saw ${primary.requestCount} requests, the backup ${backup.requestCount}, the embeddings server ${embedder.requestCount}.`);

function step(title: string): void {
  console.log(`\n${title}`);
}

function note(line: string): void {
  console.log(`   · ${line}`);
}

/** The last user message of a request, as the person typed it. */
function lastUserText(body: ChatBody): string {
  const last = [...body.messages].reverse().find((message) => message.role === "user");
  return typeof last?.content === "string" ? last.content : "";
}

/** `who`: the user and key the call was made for, and what they asked, when it had them. */
function show(res: GatewayChatResponse, who?: { user: string; key: string; asked: string }): void {
  const g = res.gateway;
  const attempts = g.attempts.map((a) => `${a.deployment}${a.status ? ` ${a.status}` : a.errorCode ? ` ${a.errorCode}` : " ok"}`).join(" -> ");
  if (who) note(`${who.user} (${who.key}) asked ${JSON.stringify(who.asked)}`);
  note(`${who ? "got" : "answer"}: ${JSON.stringify(res.choices[0]?.message.content)}`);
  if (g.cache === "exact" || g.cache === "semantic") {
    note(`${g.cache} cache hit in ${g.latencyMs.toFixed(1)} ms: cost ${usd(g.costUsd)}, saved ${usd(g.savedUsd)} (what ${g.deployment} charged for it)`);
    return;
  }
  note(`served by ${g.deployment} (route '${g.route}') in ${g.latencyMs.toFixed(1)} ms, cost ${usd(g.costUsd)}; attempts: ${attempts}`);
}

function usd(amount: number): string {
  return `$${amount.toFixed(6)}`;
}
