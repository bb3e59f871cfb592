import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Plugin } from "esbuild";

const require = createRequire(import.meta.url);
const read = (path: string): string => readFileSync(path, "utf8");

/**
 * Replaces src/server/dashboard/assets.ts, which reads the dashboard's files from disk, by a
 * module returning their text: uPlot (a devDependency) is inlined into dist, so the published
 * package serves the page offline with nothing to resolve at run time.
 */
export const inlineDashboardAssets: Plugin = {
  name: "inline-dashboard-assets",
  setup(build) {
    build.onLoad({ filter: /[\\/]server[\\/]dashboard[\\/]assets\.ts$/ }, () => {
      const assets = {
        chartJs: read(require.resolve("uplot/dist/uPlot.iife.min.js")),
        chartCss: read(require.resolve("uplot/dist/uPlot.min.css")),
        appJs: read("src/server/dashboard/assets/dashboard.js"),
        appCss: read("src/server/dashboard/assets/dashboard.css"),
      };
      return { contents: `export function loadAssets() { return ${JSON.stringify(assets)}; }`, loader: "ts" };
    });
  },
};
