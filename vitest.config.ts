import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Loopback servers and timers: two cores, keep parallelism modest and results stable.
    pool: "forks",
    maxWorkers: 2,
  },
});
