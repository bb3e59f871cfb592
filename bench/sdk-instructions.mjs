// Driver for instruction counts under `valgrind --tool=callgrind` (no tsx, the prebuilt bench
// bundle in bench/.build): `node bench/sdk-instructions.mjs <mode> <warm> <calls>` with
// FAKE_URL set. Run twice with different <calls>; the difference over the extra calls is the
// instructions per call, without start-up and warm-up.
import OpenAI from "openai";
const [mode, warmText, callsText] = process.argv.slice(2);
const url = process.env.FAKE_URL;
const build = process.env.BUILD_DIR ? new URL(`file://${process.env.BUILD_DIR}/`) : new URL("./.build/", import.meta.url);
const { createGateway } = await import(new URL("index.js", build).href);
const { openai } = await import(new URL("openai.js", build).href);
const { body2k } = await import(new URL("fixtures.js", build).href).catch(() => ({ body2k: undefined }));
const text = "x".repeat(1_900);
let made = 0;
const body = (model) => body2k ? body2k(model, ++made) : { model, messages: [{ role: "system", content: "You are terse." }, { role: "user", content: `${++made} ${text}` }], max_tokens: 64 };
const NEVER = { rpm: 1e8, tpm: 1e12 };
const options = { key: "bench-key", user: "u42", tags: ["bench"] };
let call;
if (mode === "direct") {
  const client = new OpenAI({ apiKey: "sk-bench", baseURL: url, maxRetries: 0 });
  call = () => client.chat.completions.create(body("gpt-4o-mini"));
} else {
  const all = mode === "gateway-all";
  const gateway = createGateway({
    providers: { openai: openai({ baseURL: url, apiKey: "sk-bench" }) },
    models: { bench: { deployments: [{ provider: "openai", model: "gpt-4o-mini" }], strategy: "ordered" } },
    retry: { retries: 2, minDelayMs: 100, maxDelayMs: 4_000 },
    timeoutMs: 60_000,
    ...(all
      ? {
          telemetry: { captureContent: false },
          keys: { "bench-key": { ...NEVER, budget: { usd: 1e9, period: "month" }, models: ["bench"] } },
          users: { ...NEVER, budget: { usd: 1e9, period: "day" } },
          onLimit: "reject",
          prices: { "gpt-4o-mini": { input: 2.5, output: 10, cachedInput: 1.25 } },
          cache: { exact: { maxBytes: 64 * 2 ** 20, ttlMs: 3_600_000 }, scope: "key" },
        }
      : {}),
  });
  call = () => gateway.chat(body("bench"), options);
}
for (let i = 0; i < Number(warmText); i++) await call();
for (let i = 0; i < Number(callsText); i++) await call();
process.exit(0);
