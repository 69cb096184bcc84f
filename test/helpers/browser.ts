/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core (which
 * never downloads a browser of its own). `.ci/run` installs the package when it is missing and sets
 * XCMP_BROWSER_TESTS=required, so there a missing browser fails the test instead of skipping it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const chromiumPath = process.env.XCMP_CHROMIUM ?? '/usr/bin/chromium';
export const browserRequired = process.env.XCMP_BROWSER_TESTS === 'required';

/** Why browser tests cannot run here, or null when they can. */
export function browserMissing(): string | null {
  if (existsSync(chromiumPath)) return null;
  const reason = `no Chromium at ${chromiumPath} (apt-get install chromium, or set XCMP_CHROMIUM)`;
  if (browserRequired) throw new Error(reason);
  return reason;
}

export interface HeadlessBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<HeadlessBrowser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // Playwright starts each launch with a new empty profile of its own.
  return { browser, close: () => browser.close() };
}

/** Where tests leave artifacts (screenshots); git ignores it. */
export function testOutputDir(): string {
  const dir = new URL('../output/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  return dir;
}
