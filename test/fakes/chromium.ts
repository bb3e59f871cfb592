/**
 * Headless Chromium for the dashboard test: Debian's `chromium` driven by playwright-core
 * (no browser download). `requireBinary(CHROMIUM)` skips without it, except under `CI=true`.
 */
import type { Browser } from "playwright-core";
import type { RequiredBinary } from "./require-binary.js";

export const CHROMIUM_PATH = "/usr/bin/chromium";

export const CHROMIUM: RequiredBinary = {
  command: CHROMIUM_PATH,
  install: "apt-get install -y chromium",
  what: "the dashboard browser test (test/dashboard-browser.test.ts)",
};

/** playwright-core is imported here, not at the top, so the global setup that lists CHROMIUM stays light. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
