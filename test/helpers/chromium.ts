// Debian's chromium, driven by playwright-core, for the host page tests. `npm test` installs the
// package when it is missing (scripts/run-tests.mjs); without it the browser tests fail loudly.
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

// Checked on import: a test file that needs the browser fails at once, saying what to install.
if (!existsSync(CHROMIUM)) {
  throw new Error(
    `${CHROMIUM} is missing: the host page test needs Debian's chromium. ` +
      "Install it with 'apt-get update && apt-get install -y chromium' (.ci/run does this in CI).",
  );
}

/** A headless chromium with nothing running in the background that could slow or disturb a test. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
