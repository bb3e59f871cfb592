import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Prints one "SKIPPED ..." line per missing server binary (redis-server, ...); fails under CI=true.
    globalSetup: ["test/fakes/binaries-global-setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Loopback servers and timers: two cores, keep parallelism modest and results stable.
    pool: "forks",
    maxWorkers: 2,
  },
});
