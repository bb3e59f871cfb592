/**
 * `npx tsx examples/embeddings.ts`: gateway.embed offline, and the same call through
 * `modelgate/server` with the official `openai` SDK as the client. A local fake OpenAI server
 * stands in for the provider.
 */
import OpenAI from "openai";
import { createGateway } from "../src/index.js";
import { openai } from "../src/openai.js";
import { serve } from "../src/server.js";
import { startFakeOpenAI } from "../test/fakes/openai-server.js";

const provider = await startFakeOpenAI();
const gateway = createGateway({
  providers: { openai: openai({ baseURL: provider.url, apiKey: "demo-key" }) },
  models: { embed: "openai/text-embedding-3-small" },
  keys: { "team-search": { rpm: 60, budget: { usd: 1, period: "day" } } },
  cache: {},
});

const texts = ["modelgate routes calls", "embeddings go through it too"];
const first = await gateway.embed({ model: "embed", input: texts, dimensions: 8 }, { key: "team-search" });
console.log("vectors:", first.data.length, "x", (first.data[0]!.embedding as number[]).length, "| tokens:", first.usage.prompt_tokens);
console.log("served by", first.gateway.deployment, "| cost $", first.gateway.costUsd);
const again = await gateway.embed({ model: "embed", input: texts, dimensions: 8 }, { key: "team-search" });
console.log("again: cache", again.gateway.cache, "| saved $", again.gateway.savedUsd);

const server = await serve(gateway, { port: 0 });
const client = new OpenAI({ apiKey: "unused", baseURL: `${server.url}/v1` });
// The SDK asks for base64 by default and decodes it: the proxy answers as OpenAI does.
const viaProxy = await client.embeddings.create({ model: "embed", input: "through the proxy" });
console.log("via /v1/embeddings:", viaProxy.data[0]!.embedding.length, "floats");
console.log("spend:", await gateway.spend.report({ by: "model" }));

await server.close();
await gateway.close();
await provider.close();
