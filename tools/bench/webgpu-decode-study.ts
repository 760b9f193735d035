import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, DEFAULT_CHROMIUM, webGpuArgs } from '../../src/bench/browser.js';
import { startStaticServer } from '../../src/node/static-server.js';

/**
 * npx tsx tools/bench/webgpu-decode-study.ts [--reps 9]
 *
 * Where one webgpu decoding step's time goes: the whole call with K and V
 * uploaded, the same call with K and V resident on the GPU (a webgpu KV
 * cache), the upload of K and V alone, and one cache append. In headless
 * Chromium with the machine's WebGPU (SwiftShader where there is no GPU:
 * then the proportions are the CPU's, not a GPU's). Prints a markdown table.
 */
const reps = Number(process.argv[process.argv.indexOf('--reps') + 1] || 9);
const root = mkdtempSync(join(tmpdir(), 'scaledot-webgpu-study-'));
await build({ entryPoints: [new URL('./webgpu-decode-page.ts', import.meta.url).pathname], outfile: join(root, 'page.js'), bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'error' });
writeFileSync(join(root, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>\n');
const served = await startStaticServer({ root, port: 0 });
const browser = await chromium.launch({ executablePath: process.env.SCALEDOT_CHROMIUM || DEFAULT_CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...webGpuArgs()] });
try {
  const page = await browser.newPage();
  await page.goto(served.url.replace('127.0.0.1', 'localhost'));
  await page.waitForFunction(() => 'study' in globalThis);
  console.log('| adapter | heads × S × E | K+V MiB | call, K/V uploaded (ms) | call, K/V resident (ms) | K/V upload alone (ms) | append one row (ms) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [heads, s, e] of [[8, 512, 64], [8, 2048, 64], [8, 8192, 64]]) {
    const r = await page.evaluate(([h, n, d, k]) => (globalThis as unknown as { study: { step(...a: number[]): Promise<Record<string, number | string>> } }).study.step(h, n, d, k), [heads, s, e, reps]);
    const f = (x: unknown) => (x as number).toFixed(2);
    console.log(`| ${r.adapter} | ${heads} × ${s} × ${e} | ${f(r.kvMiB)} | ${f(r.uploaded)} | ${f(r.resident)} | ${f(r.upload)} | ${f(r.append)} |`);
  }
} finally {
  await browser.close();
  await served.close();
  rmSync(root, { recursive: true, force: true });
}
