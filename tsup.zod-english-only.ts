import type { Plugin } from "esbuild";

/**
 * zod is bundled into dist (see tsup.config.ts) without its 60-odd translated locales: its
 * `locales` namespace becomes empty, while the English messages zod uses by default stay
 * (zod imports `locales/en.js` directly). Loading those files was most of zod's import time.
 */
export const zodEnglishOnly: Plugin = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.(c|m)?js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: "zod-locales", namespace: "zod-english-only" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-english-only" }, () => ({ contents: "export {};", loader: "js" }));
  },
};
