import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { CHROMIUM_ARGS } from '../../src/bench/browser.js';
import { startStaticServer, type StaticServer } from '../../src/node/static-server.js';

export const CHROMIUM = '/usr/bin/chromium';
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

/** Skipped only on a developer machine without Chromium; in CI a missing browser is a failure. */
export const browserSkip: string | false = !existsSync(CHROMIUM) && !inCi
  ? `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser tests; under CI=true they fail instead`
  : false;

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Where browser tests leave their screenshots. */
export const screenshots = join(repoRoot, 'test-results');

export interface OpenedPage {
  page: Page;
  context: BrowserContext;
  served: StaticServer;
  /** The folder the page was built into and is served from. */
  root: string;
  /** Console errors, uncaught exceptions and any request that left the page's own server. */
  consoleErrors: string[];
  close(): Promise<void>;
}

/**
 * Builds the page from the current source (not whatever web/dist holds) into
 * a temporary folder, serves it with the COOP/COEP headers threads need, and
 * opens a tab in headless Chromium with a fresh profile (and `args` added to
 * its flags: WebGPU's, for example). The page may not
 * reach past its own server: such requests are aborted and recorded.
 */
export async function openPage(options: { args?: string[] } = {}): Promise<OpenedPage> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing; CI must install it (apt-get install -y chromium)`);
  const outDir = mkdtempSync(join(tmpdir(), 'scaledot-web-'));
  const profile = mkdtempSync(join(tmpdir(), 'scaledot-chromium-'));
  await build({ configFile: join(repoRoot, 'web/vite.config.ts'), logLevel: 'error', build: { outDir, emptyOutDir: true } });
  const served = await startStaticServer({ root: outDir, port: 0 });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  await context.route((url) => !url.href.startsWith(served.url), (route) => {
    consoleErrors.push(`network request outside the page: ${route.request().url()}`);
    return route.abort();
  });
  mkdirSync(screenshots, { recursive: true });
  return {
    page, context, served, root: outDir, consoleErrors,
    async close() {
      await context.close();
      await served.close();
      for (const dir of [outDir, profile]) rmSync(dir, { recursive: true, force: true });
    },
  };
}
