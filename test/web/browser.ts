// Debian's Chromium driven by playwright-core (no browser download), and the web app bundled from the current
// sources into the test's own folder (parallel test files never share a half-written bundle).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { repoRoot } from '../cli/cli-process.js';

export const CHROMIUM = process.env.NNUNET_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or null when they can. */
export function browserSkipReason(): string | null {
  return existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set NNUNET_CHROMIUM)`;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM });
}

/** Bundles web/ with scripts/build-web.js into `folder`; returns it (pass it to startServer as webFolder). */
export function buildWeb(folder: string): string {
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-web.js'), folder], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  return folder;
}

/**
 * The README's screenshots (docs/screenshots/) are written by the page tests only with NNUNET_TS_SCREENSHOTS=1,
 * so that a test run never changes tracked files.
 */
export async function saveScreenshot(page: { screenshot(o: { path: string }): Promise<unknown> }, name: string): Promise<void> {
  if (process.env.NNUNET_TS_SCREENSHOTS !== '1') return;
  const folder = path.join(repoRoot, 'docs', 'screenshots');
  mkdirSync(folder, { recursive: true });
  await page.screenshot({ path: path.join(folder, name) });
}
