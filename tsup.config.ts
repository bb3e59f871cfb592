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
    testing: "src/testing.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  splitting: true,
  treeshake: true,
  // `import.meta.url` in the CommonJS build too: load-peer.ts resolves optional SDKs from it.
  shims: true,
});
