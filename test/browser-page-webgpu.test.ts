import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserSkip, openPage, screenshots, type OpenedPage } from './helpers/browser.js';
import { assertWeightsClose, expectedPageWeights, pageWeights } from './helpers/page-attention.js';
import { WEBGPU_ARGS } from './helpers/webgpu.js';

/*
 * The explainer's attention section where the browser has WebGPU (SwiftShader
 * here): it computes on webgpu, says so, and the maps are still the formula's.
 * Its fallback to wasm (no WebGPU flags) is checked in browser.test.ts.
 */

describe('the explainer page with WebGPU (SwiftShader): the attention section runs on webgpu', { skip: browserSkip }, () => {
  let opened: OpenedPage;
  let page: Page;

  before(async () => {
    opened = await openPage({ args: WEBGPU_ARGS });
    page = opened.page;
    await page.goto(opened.served.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  });

  after(async () => {
    await opened?.close();
  });

  it('says webgpu ran, on which adapter, and its maps are softmax(Q Kᵀ/√d_k) to float32 accuracy', async () => {
    assert.equal(await page.getByTestId('section-attention').getAttribute('data-backend'), 'webgpu');
    assert.match((await page.getByTestId('attention-backend').textContent()) ?? '', /^Computed by webgpu \(float32 WGSL on \S+ swiftshader\)\.$/);
    assertWeightsClose(await pageWeights(page), expectedPageWeights(6, 6, 16, false), 'defaults');
    assert.deepEqual(opened.consoleErrors, []);
  });

  it('by keyboard: Tab to the causal box, Space, and the arrow keys on L redraw the maps on webgpu', async () => {
    await page.locator('#attn-seed').focus();
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'attn-causal');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => JSON.parse(document.querySelector<HTMLElement>('[data-testid="section-attention"]')!.dataset.weights!)[0][1] === 0);
    assertWeightsClose(await pageWeights(page), expectedPageWeights(6, 6, 16, true), 'causal');
    await page.locator('#attn-l').focus();
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => JSON.parse(document.querySelector<HTMLElement>('[data-testid="section-attention"]')!.dataset.weights!).length === 5);
    assertWeightsClose(await pageWeights(page), expectedPageWeights(5, 6, 16, true), 'causal, L = 5');
    assert.equal(await page.getByTestId('section-attention').getAttribute('data-backend'), 'webgpu');
    await page.keyboard.press('ArrowRight');
    await page.locator('#attn-causal').uncheck();
  });

  it('at 390 px the backend line wraps inside the page: nothing is wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const widths = await page.evaluate(() => {
        const line = document.querySelector<HTMLElement>('[data-testid="attention-backend"]')!;
        return { page: document.documentElement.scrollWidth, line: line.getBoundingClientRect().right };
      });
      assert.ok(widths.page <= 390 && widths.line <= 390, JSON.stringify(widths));
      await page.getByTestId('section-attention').screenshot({ path: join(screenshots, 'browser-attention-webgpu-390.png') });
    } finally {
      await page.setViewportSize({ width: 1200, height: 900 });
    }
  });
});
