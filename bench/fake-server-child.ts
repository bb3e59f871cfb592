/**
 * The fake OpenAI server in its own process (so its work runs on the other core, not inside
 * the timings of the client it answers). Prints `FAKE_URL <url>`, exits when stdin closes; a
 * `cpu` line on stdin answers `CPU_US <user+system µs so far>` (what the fake takes of the cores).
 */
import { startFakeOpenAI } from "../test/fakes/openai-server.js";
import { REPLY } from "./fixtures.js";
import { obeyParent } from "./child-control.js";

const fake = await startFakeOpenAI({ default: { reply: REPLY } });
// The fake records every request; keep that from growing through a long run.
const trim = setInterval(() => fake.reset(), 1_000);
trim.unref();
process.stdout.write(`FAKE_URL ${fake.url}\n`);
const quit = (): void => {
  void fake.close().finally(() => process.exit(0));
};
obeyParent(quit);
