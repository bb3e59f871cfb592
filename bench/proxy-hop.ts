/**
 * Section 3's client: the official SDK pointed at a local Portkey gateway that forwards to the
 * same fake server. Returns why not, instead of throwing, when Portkey cannot run here.
 */
import OpenAI from "openai";
import { startPortkey, type Portkey } from "./portkey.js";
import { BENCH_MODEL } from "./features.js";

export interface ProxyHop {
  client: OpenAI;
  portkey: Portkey;
  label: string;
}

export async function startProxyHop(upstream: string): Promise<ProxyHop | { reason: string }> {
  let portkey: Portkey;
  try {
    portkey = await startPortkey();
  } catch (error) {
    return { reason: `Portkey did not start: ${error instanceof Error ? error.message : String(error)}` };
  }
  const client = new OpenAI({ apiKey: "sk-bench", baseURL: portkey.url, maxRetries: 0, defaultHeaders: portkey.headersFor(upstream) });
  // A proxy that answers but cannot serve (e.g. every streamed reply a 500 with a mismatched
  // @hono/node-server) must show as a reason, not as a fast failure in the timings.
  try {
    const reply = await client.chat.completions.create({ model: BENCH_MODEL, messages: [{ role: "user", content: "ping" }] });
    if (!reply.choices[0]?.message.content) throw new Error("empty reply");
    const stream = await client.chat.completions.create({
      model: BENCH_MODEL,
      messages: [{ role: "user", content: "ping" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let chunks = 0;
    for await (const _chunk of stream) chunks++;
    if (chunks < 2) throw new Error(`stream gave ${chunks} chunk(s)`);
  } catch (error) {
    await portkey.stop();
    return { reason: `Portkey ${portkey.version} started but failed a call: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { client, portkey, label: `Portkey ${portkey.version}` };
}
