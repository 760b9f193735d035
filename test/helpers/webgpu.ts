import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../src/bench/browser.js';
import { startStaticServer, type StaticServer } from '../../src/node/static-server.js';
import type { Tensor } from '../../src/index.js';
import { CHROMIUM, repoRoot } from './browser.js';
import type { WebGpuPageApi, Wire } from '../webgpu/page-entry.js';

/** WebGPU on the CPU through SwiftShader: what headless Chromium offers where there is no GPU. */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan,WebGPU', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];

export type { Wire };
export const toWire = (t: Tensor): Wire => ({ data: Array.from(t.data), shape: [...t.shape], dtype: t.dtype as Wire['dtype'] });

type Api = WebGpuPageApi;
export type PageCall = <K extends keyof Api>(name: K, ...args: Parameters<Api[K]>) => Promise<Awaited<ReturnType<Api[K]>>>;

export interface WebGpuPage {
  page: Page;
  call: PageCall;
  close(): Promise<void>;
}

/**
 * Bundles test/webgpu/page-entry.ts (the library's source) for the browser,
 * serves it from localhost (WebGPU needs a secure context) and opens it in
 * headless Chromium with SwiftShader's WebGPU adapter, with the device
 * already initialised. `call` runs one of the page's functions.
 */
export async function openWebGpuPage(): Promise<WebGpuPage> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing; CI must install it (apt-get install -y chromium)`);
  const root = mkdtempSync(join(tmpdir(), 'scaledot-webgpu-'));
  await build({
    entryPoints: [join(repoRoot, 'test/webgpu/page-entry.ts')], outfile: join(root, 'page.js'),
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'error',
  });
  writeFileSync(join(root, 'index.html'), '<!doctype html><meta charset="utf-8"><title>scaledot webgpu</title><script type="module" src="/page.js"></script>\n');
  const served: StaticServer = await startStaticServer({ root, port: 0 });
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...WEBGPU_ARGS] });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(served.url.replace('127.0.0.1', 'localhost'));
    await page.waitForFunction(() => 'scaledot' in globalThis, undefined, { timeout: 20_000 });
    const call: PageCall = (name, ...args) =>
      page.evaluate(([n, a]) => (globalThis as unknown as { scaledot: Record<string, (...x: unknown[]) => unknown> }).scaledot[n as string](...(a as unknown[])), [name, args] as const) as never;
    const info = await call('init');
    assert.ok(info.available, `no WebGPU device in headless Chromium: ${info.reason}`);
    assert.deepEqual(errors, []);
    const opened = browser;
    return {
      page, call,
      async close() {
        await opened.close();
        await served.close();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await browser?.close();
    await served.close();
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}
