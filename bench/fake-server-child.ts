/**
 * The fake OpenAI server in its own process (so its work runs on the other core, not inside
 * the timings of the client it answers). Prints `FAKE_URL <url>`, exits when stdin closes; a
 * `cpu` line on stdin answers `CPU_US <user+system µs so far>` (what the fake takes of the cores).
 */
import { startFakeOpenAI } from "../test/fakes/openai-server.js";
import { REPLY } from "./fixtures.js";

const fake = await startFakeOpenAI({ default: { reply: REPLY } });
// The fake records every request; keep that from growing through a long run.
const trim = setInterval(() => fake.reset(), 1_000);
trim.unref();
process.stdout.write(`FAKE_URL ${fake.url}\n`);
const quit = (): void => {
  void fake.close().finally(() => process.exit(0));
};
process.stdin.on("data", (data: Buffer) => {
  if (data.toString("utf8").includes("cpu")) {
    const usage = process.cpuUsage();
    process.stdout.write(`CPU_US ${usage.user + usage.system}\n`);
  }
});
process.stdin.on("end", quit);
process.stdin.on("close", quit);
process.stdin.resume();
process.once("SIGTERM", quit);
