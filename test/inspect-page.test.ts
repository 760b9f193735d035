import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { writeSafetensors, type SpecTensor } from './helpers/tensor-files.js';
import { runCli } from './helpers/cli.js';

/**
 * The --out page as a person sees it: in Chromium at a desktop width and a
 * phone's (390 px), with a 2-layer model and a 12-layer one with long layer
 * names. Screenshots go to SCALEDOT_SHOTS where it is set, to look at.
 */
const CHROMIUM = '/usr/bin/chromium';
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const noBrowser = !existsSync(CHROMIUM) && !inCi ? `${CHROMIUM} not found (apt-get install chromium); under CI=true this fails instead` : false;

function model(path: string, layers: number, heads: number, length: number): void {
  const n = heads * length * 16;
  const tensors: SpecTensor[] = Array.from({ length: layers }, (_, l) => [
    { name: `neck.svtr.blocks.${l}.mixer.attn.q`, dtype: 'F32', shape: [1, heads, length, 16], values: Array.from({ length: n }, (_, i) => (1 + l) * Math.sin(i * 0.7 + l)) },
    { name: `neck.svtr.blocks.${l}.mixer.attn.k`, dtype: 'F32', shape: [1, heads, length, 16], values: Array.from({ length: n }, (_, i) => Math.cos(i * 0.3 + l)) },
  ]).flat();
  writeSafetensors(path, tensors);
}

describe('inspect --out page in Chromium', { skip: noBrowser }, () => {
  let dir = '';
  let browser: Browser | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scaledot-inspect-page-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [layers, heads, length] of [[2, 4, 10], [12, 12, 80], [1, 96, 8]] as const) {
    it(`${layers} layers × ${heads} heads: fits 390 px without sideways scrolling, one map per head`, async () => {
      const file = join(dir, `m${layers}.safetensors`);
      model(file, layers, heads, length);
      const out = join(dir, `r${layers}`);
      const r = await runCli(['inspect', file, '--causal', '--out', out]);
      assert.equal(r.code, 0, r.err);
      for (const width of [1280, 390]) {
        const page = await (browser as Browser).newPage({ viewport: { width, height: 900 } });
        await page.goto(pathToFileURL(join(out, 'inspect.html')).href);
        const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(scrollWidth <= width, `at ${width} px the page is ${scrollWidth} px wide`);
        assert.equal(await page.locator('g.map').count(), layers * heads);
        // At a desktop width every layer's table fits its column: its headers wrap rather than scroll it sideways.
        if (width === 1280) {
          const tables = await page.locator('.scroll').evaluateAll((els) => els.map((e) => e.scrollWidth - e.clientWidth));
          assert.ok(tables.length === layers && tables.every((over) => over <= 0), `tables wider than their column by ${tables.join(', ')} px`);
        }
        // The depth axis: whole layer numbers only.
        const ticks = await page.locator('[aria-label^="X-axis titled \'layer"] .role-axis-label text').allTextContents();
        assert.ok(ticks.length >= Math.min(2, layers) && ticks.every((t) => /^\d+$/.test(t) && Number(t) < layers), `depth ticks ${ticks.join(' ')}`);
        // The heat map's head labels: the head number leads, and no two drawn labels overlap.
        const boxes = (await page.locator('[aria-label^="Y-axis titled \'head"] .role-axis-label text').evaluateAll((ts) => ts
          .filter((t) => t.getAttribute('opacity') !== '0')
          .map((t) => { const b = t.getBoundingClientRect(); return { top: b.top, bottom: b.bottom, text: t.textContent ?? '' }; })))
          .sort((a, b) => a.top - b.top);
        assert.ok(boxes.length > 0 && boxes.every((b) => /^h\d+ · neck\.svtr\.blocks\.\d+\.mixer\.attn$/.test(b.text)), boxes[0]?.text);
        for (let i = 1; i < boxes.length; i++) assert.ok(boxes[i].top >= boxes[i - 1].bottom - 0.5, `${boxes[i - 1].text} and ${boxes[i].text} overlap`);
        const shots = process.env.SCALEDOT_SHOTS;
        if (shots !== undefined) {
          mkdirSync(shots, { recursive: true });
          await page.screenshot({ path: join(shots, `inspect-${layers}-layers-${width}.png`), fullPage: true });
        }
        await page.close();
      }
    });
  }
});
