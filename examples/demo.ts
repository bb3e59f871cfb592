/**
 * `npm run demo`: modelgate end to end, offline. Two local fake OpenAI-compatible servers
 * stand in for two providers; the real `openai` SDK talks to them over loopback. The demo
 * makes a few calls and prints what the gateway did: which deployment served, retries,
 * fallback after an injected outage, cooldown, recovery, a stream.
 */
import { createGateway } from "../src/index.js";
import { openai } from "../src/openai.js";
import { startFakeOpenAI } from "../test/fakes/openai-server.js";
import type { GatewayChatResponse } from "../src/index.js";

const primary = await startFakeOpenAI({ default: { delayMs: 15 } });
const backup = await startFakeOpenAI({ default: { delayMs: 5 } });

const gateway = createGateway({
  providers: {
    primary: openai({ baseURL: primary.url, apiKey: "demo-key-primary", name: "openai" }),
    backup: openai({ baseURL: backup.url, apiKey: "demo-key-backup", name: "vllm" }),
  },
  models: {
    smart: { deployments: ["primary/gpt-4o"], fallbacks: ["cheap"] },
    cheap: "backup/llama-3.1-8b",
  },
  retry: { retries: 1, minDelayMs: 50, maxDelayMs: 500 },
  cooldown: { failures: 2, windowMs: 10_000, durationMs: 1_500 },
});

gateway.on("retry", (event) => note(`retry: ${event.deployment} attempt ${event.attempt} failed (${event.error.message}); waiting ${event.delayMs} ms`));
gateway.on("fallback", (event) => note(`fallback: ${event.from} -> ${event.to}`));
gateway.on("cooldown", (event) => note(`cooldown: ${event.deployment} skipped for ${event.durationMs} ms (${event.reason})`));

const ask = (content: string) => ({ model: "smart", messages: [{ role: "user" as const, content }] });

step("1. A plain call: served by the primary deployment");
show(await gateway.chat(ask("What is modelgate?"), { key: "demo", user: "u1" }));

step("2. One 503 from the primary: retried with backoff, then served");
primary.enqueue({ fail: { status: 503, message: "temporarily overloaded" } });
show(await gateway.chat(ask("Try again?")));

step("3. Outage on the primary: retries fail, the call falls back to 'cheap'");
primary.setDefault({ fail: { status: 503, message: "outage" } });
show(await gateway.chat(ask("Is anyone there?")));

step("4. While the primary cools down, calls go straight to the fallback");
show(await gateway.chat(ask("Still there?")));
for (const row of gateway.health()) note(`health: ${row.deployment} ${row.state}, cooling for ${Math.round(row.coolingForMs)} ms`);

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
  note(String(error));
}

await gateway.close();
await Promise.all([primary.close(), backup.close()]);
console.log(`\nDone. The primary fake saw ${primary.requestCount} requests, the backup ${backup.requestCount}.`);

function step(title: string): void {
  console.log(`\n${title}`);
}

function note(line: string): void {
  console.log(`   · ${line}`);
}

function show(res: GatewayChatResponse): void {
  const g = res.gateway;
  const attempts = g.attempts.map((a) => `${a.deployment}${a.status ? ` ${a.status}` : a.errorCode ? ` ${a.errorCode}` : " ok"}`).join(" -> ");
  note(`answer: ${JSON.stringify(res.choices[0]?.message.content)}`);
  note(`served by ${g.deployment} (route '${g.route}') in ${g.latencyMs.toFixed(1)} ms; attempts: ${attempts}`);
}
