import { defineConfig } from "tsup";

// One entry per subpath export, so `modelgate/openai` pulls in only the OpenAI adapter and
// provider SDKs stay optional peers (external: never bundled).
export default defineConfig({
  entry: {
    index: "src/index.ts",
    openai: "src/openai.ts",
    anthropic: "src/anthropic.ts",
    google: "src/google.ts",
    redis: "src/redis.ts",
    postgres: "src/postgres.ts",
    testing: "src/testing.ts",
    server: "src/server.ts",
    cli: "src/server/cli/main.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  splitting: true,
  treeshake: true,
});
