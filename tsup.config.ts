import { defineConfig } from "tsup";
import { zodEnglishOnly } from "./tsup.zod-english-only.js";
import { inlineDashboardAssets } from "./tsup.inline-dashboard-assets.js";

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
    checks: "src/checks.ts",
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
  // `import.meta.url` in the CommonJS build too: load-peer.ts resolves optional SDKs from it.
  shims: true,
  // Bundled to cut import time: zod without its translated locales (about half its load time),
  // and the OpenTelemetry API (its copies share one global registry, so spans still reach the
  // SDK the app registers). Both stay dependencies: the .d.ts files import their types.
  noExternal: ["zod", "@opentelemetry/api"],
  esbuildPlugins: [zodEnglishOnly, inlineDashboardAssets],
});
