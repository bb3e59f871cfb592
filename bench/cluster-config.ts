/**
 * The config `modelgate serve --workers N` runs in bench/server-hop.ts: the bench server's
 * "everything on" (telemetry, key and user limits and budgets, prices, exact cache, bearer
 * auth) with the state in Redis, which more than one worker needs. Read from the environment:
 * MODELGATE_BUNDLE (the bench's bundle directory), FAKE_OPENAI_URL, REDIS_URL, and
 * BENCH_UPSTREAM=mock for the in-process mock provider instead of the openai SDK.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { BENCH_KEY, BENCH_MODEL, BENCH_TOKEN, baseConfig, featureList, withFeatures } from "./features.js";
import { REPLY } from "./fixtures.js";

const bundle = process.env.MODELGATE_BUNDLE!;
const load = <T>(name: string): Promise<T> => import(pathToFileURL(join(bundle, `${name}.js`)).href) as Promise<T>;
const { openai } = await load<typeof import("../src/openai.js")>("openai");
const { mockProvider } = await load<typeof import("../src/testing.js")>("testing");
const { redisStore } = await load<typeof import("../src/redis.js")>("redis");

const provider = process.env.BENCH_UPSTREAM === "mock" ? mockProvider({ reply: REPLY, name: "openai" }) : openai({ baseURL: process.env.FAKE_OPENAI_URL, apiKey: "sk-bench" });
export default {
  ...withFeatures(baseConfig({ openai: provider }, BENCH_MODEL, "openai"), featureList()),
  store: redisStore({ url: process.env.REDIS_URL! }, { prefix: `bench:${process.pid}:` }),
  server: { auth: { tokens: { [BENCH_TOKEN]: BENCH_KEY } } },
};
