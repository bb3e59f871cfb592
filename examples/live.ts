/**
 * `npm run demo:live`: two real requests to OpenAI through the gateway (needs OPENAI_API_KEY).
 * One plain, one streamed; prints the answers, what they cost and how long they took.
 */
import { createGateway } from "../src/index.js";
import { openai } from "../src/openai.js";

if (!process.env.OPENAI_API_KEY) {
  console.error("Set OPENAI_API_KEY to run this example; `npm run demo` runs offline without one.");
  process.exit(1);
}

const gateway = createGateway({
  providers: { openai: openai() },
  models: { fast: { deployments: ["openai/gpt-5.4-mini", "openai/gpt-5.4-nano"] } },
});

const res = await gateway.chat({ model: "fast", messages: [{ role: "user", content: "Say hello in five words." }] });
console.log(res.choices[0]?.message.content);
console.log(`served by ${res.gateway.deployment}, $${res.gateway.costUsd.toFixed(6)}, ${res.gateway.latencyMs.toFixed(0)} ms`);

const stream = await gateway.chat({ model: "fast", stream: true, messages: [{ role: "user", content: "Count to five." }] });
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? "");
const final = await stream.finalResponse();
console.log(`\n${final.usage?.total_tokens} tokens, $${final.gateway.costUsd.toFixed(6)}`);
await gateway.close();
