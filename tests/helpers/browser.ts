import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's chromium (installed by .ci/run with apt when missing), driven by playwright-core. Browser
 * tests skip on a machine without it, but fail in CI: REQUIRE_SERVICES=true or REQUIRE_BROWSER=true
 * turn a missing browser into an error.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function browserAvailable(): boolean {
  const ok = existsSync(CHROMIUM_PATH);
  if (!ok && (process.env.REQUIRE_BROWSER === 'true' || process.env.REQUIRE_SERVICES === 'true')) {
    throw new Error(`${CHROMIUM_PATH} is missing and REQUIRE_BROWSER/REQUIRE_SERVICES=true (apt-get install -y chromium)`);
  }
  return ok;
}

/**
 * Headless chromium with a fresh profile (playwright gives launch() a new temporary user-data-dir and
 * refuses one in the args). The flags keep it off the network beyond the page's own origin (no
 * component updates, sync or background fetches): on a closed network it would otherwise wait on them.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
