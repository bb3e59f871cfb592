import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** What the dashboard page inlines: the chart library (uPlot, MIT) and the page's own script and style. */
export interface DashboardAssets {
  chartJs: string;
  chartCss: string;
  appJs: string;
  appCss: string;
}

/**
 * Reads the assets from source (tests, tsx). The build replaces this whole module with the same
 * function returning the files' text inlined (tsup.inline-dashboard-assets.ts), so the published
 * package reads nothing from node_modules or disk at run time and the page works offline.
 */
export function loadAssets(): DashboardAssets {
  const require = createRequire(import.meta.url);
  const read = (path: string): string => readFileSync(path, "utf8");
  return {
    chartJs: read(require.resolve("uplot/dist/uPlot.iife.min.js")),
    chartCss: read(require.resolve("uplot/dist/uPlot.min.css")),
    appJs: read(new URL("./assets/dashboard.js", import.meta.url).pathname),
    appCss: read(new URL("./assets/dashboard.css", import.meta.url).pathname),
  };
}
