import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { FLOAT_DTYPES } from '../src/index.js';
import { runLab } from '../src/lab/index.js';
import { buildReportFiles } from '../src/lab/report/index.js';
import { browserSkip, openPage, screenshots, type OpenedPage } from './helpers/browser.js';

/*
 * The explainer page as a new user meets it: it stays responsive at
 * its largest settings, says nothing its own table contradicts, refuses bad
 * input out loud, reads on a phone, and works with a keyboard and a screen
 * reader. Launched as test/browser.test.ts launches it.
 */

/** What section 1 must meet at n = 1024, d_k = 4096: no task over 200 ms while dragging, figures settled 300 ms after the last change. */
const LONGEST_TASK_MS = 200;
const SETTLE_MS = 300;

describe('the explainer page: responsive, consistent, accessible', { skip: browserSkip }, () => {
  let opened: OpenedPage;
  let page: Page;
  let consoleErrors: string[] = [];
  const vegaWarnings: string[] = [];

  before(async () => {
    opened = await openPage();
    ({ page, consoleErrors } = opened);
    page.on('console', (message) => {
      if (/infinite extent/i.test(message.text())) vegaWarnings.push(message.text());
    });
    await page.goto(opened.served.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  });

  after(async () => {
    await opened?.close();
  });

  const settingsOf = async (section: string): Promise<Record<string, unknown>> =>
    JSON.parse((await page.getByTestId(`section-${section}`).getAttribute('data-settings')) ?? 'null') as Record<string, unknown>;
  const text = async (testId: string): Promise<string> => (await page.getByTestId(testId).textContent()) ?? '';
  /** Sets a control's value as a drag or a keystroke would, with one input event. */
  const setValue = (selector: string, value: string): Promise<void> =>
    page.locator(selector).evaluate((el: HTMLInputElement, v) => {
      el.value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }, value);
  /** Waits until section 1 has drawn every chart for the settings its controls show. */
  const scaleSettled = (): Promise<unknown> =>
    page.waitForFunction(() => {
      const section = document.querySelector<HTMLElement>('[data-testid="section-scale"]')!;
      // No named helper in here: tsx would wrap it in a __name call the page does not have.
      const [dk, n, a, std] = ['scale-dk', 'scale-n', 'scale-a', 'scale-std'].map((id) => Number(document.querySelector<HTMLInputElement>(`#${id}`)!.value));
      const want = { dk: 2 ** dk, n: 2 ** n, a, std };
      const rendered = JSON.parse(section.dataset.rendered ?? 'null');
      return rendered !== null && rendered.dk === want.dk && rendered.n === want.n && rendered.a === want.a && rendered.std === want.std;
    }, null, { timeout: 30_000 });

  it('section 1 at n = 1024 and d_k = 4096: dragging every control makes no long task, and the figures settle soon after the last change', async () => {
    await setValue('#scale-n', '10');
    await setValue('#scale-dk', '12');
    await scaleSettled();
    assert.deepEqual([(await settingsOf('scale')).n, (await settingsOf('scale')).dk], [1024, 4096]);

    await page.evaluate(() => {
      const w = window as unknown as { longTasks: number[]; lastInput: number; renders: { t: number; settings: string }[] };
      w.longTasks = [];
      w.renders = [];
      new PerformanceObserver((list) => list.getEntries().forEach((entry) => w.longTasks.push(entry.duration))).observe({ type: 'longtask' });
      document.addEventListener('input', () => (w.lastInput = performance.now()), true);
      const section = document.querySelector<HTMLElement>('[data-testid="section-scale"]')!;
      new MutationObserver(() => w.renders.push({ t: performance.now(), settings: section.dataset.rendered ?? '' })).observe(section, { attributes: true, attributeFilter: ['data-rendered'] });
    });

    // Each control is dragged up to three times and judged by its best drag: a shared
    // machine's other processes can stall any one of them, and do not make the page slower.
    const best: Record<string, { longest: number; settle: number }> = {};
    const tries: string[] = [];
    for (const id of ['scale-a', 'scale-std', 'scale-dk', 'scale-n']) {
      for (let attempt = 0; attempt < 3; attempt++) {
        await page.evaluate(() => {
          const w = window as unknown as { longTasks: number[]; renders: unknown[] };
          w.longTasks = [];
          w.renders = [];
        });
        const box = (await page.locator(`#${id}`).boundingBox())!;
        const y = box.y + box.height / 2;
        // A mouse drag across the whole track, left to right (d_k and n end at their largest).
        await page.mouse.move(box.x + 2, y);
        await page.mouse.down();
        for (let step = 1; step <= 30; step++) {
          await page.mouse.move(box.x + 2 + ((box.width - 4) * step) / 30, y);
          await page.waitForTimeout(16);
        }
        await page.mouse.up();
        await scaleSettled();
        const measured = await page.evaluate(() => {
          const w = window as unknown as { longTasks: number[]; lastInput: number; renders: { t: number; settings: string }[] };
          const final = w.renders.filter((r) => r.t >= w.lastInput);
          // No render after the last input: the page already showed the final settings
          // (scaleSettled checked them), e.g. when the last input returned to them before
          // a newer render was drawn. The figures were then settled at that input.
          return { longest: Math.max(0, ...w.longTasks), settle: final.length === 0 ? 0 : final[final.length - 1].t - w.lastInput };
        });
        tries.push(`${id} #${attempt + 1}: longest task ${measured.longest.toFixed(0)} ms, settled ${measured.settle.toFixed(0)} ms`);
        const previous = best[id];
        if (previous === undefined || Math.max(measured.longest / LONGEST_TASK_MS, measured.settle / SETTLE_MS) < Math.max(previous.longest / LONGEST_TASK_MS, previous.settle / SETTLE_MS)) best[id] = measured;
        if (measured.longest <= LONGEST_TASK_MS && measured.settle <= SETTLE_MS) break;
      }
    }
    console.log(`section 1 at n = 1024, d_k = 4096:\n  ${tries.join('\n  ')}`);
    for (const [id, { longest, settle }] of Object.entries(best)) {
      assert.ok(longest <= LONGEST_TASK_MS, `#${id}: a task took ${longest.toFixed(0)} ms while dragging (goal ≤ ${LONGEST_TASK_MS} ms)`);
      assert.ok(settle <= SETTLE_MS, `#${id}: the figures settled ${settle.toFixed(0)} ms after the last change (goal ≤ ${SETTLE_MS} ms)`);
    }
    const settings = await settingsOf('scale');
    assert.deepEqual([settings.n, settings.dk], [1024, 4096]);
    await page.getByTestId('section-scale').screenshot({ path: join(screenshots, 'browser-page-scale-largest.png') });
  });

  it('section 1 says the softmax chart shows the top 64 of n keys, and no axis title shows a literal "_F" or "d_k"', async () => {
    await setValue('#scale-n', '10');
    await scaleSettled();
    assert.match(await text('scale-probs-caption'), /the 64 most probable of its 1,024 keys/);
    await setValue('#scale-n', '5');
    await scaleSettled();
    assert.match(await text('scale-probs-caption'), /all 32 keys/);
    const chartText = await page.locator('.chart svg text').allTextContents();
    assert.ok(chartText.length > 0);
    // No TeX-like underscore in a chart: Vega draws it literally (d_k, ‖…‖_F).
    assert.deepEqual(chartText.filter((t) => /_[A-Za-z]/.test(t)), []);
  });

  it('a seed box refuses −5, empty, 1e309 and 1.5 out loud and keeps computing with the last good seed', async () => {
    for (const bad of ['-5', '', '1e309', '1.5']) {
      await page.locator('#scale-seed').fill(bad);
      assert.equal(await page.locator('#scale-seed').getAttribute('aria-invalid'), 'true', `seed "${bad}"`);
      assert.match(await text('scale-seed-error'), /seed must be a whole number from 0 to 1,000,000; still using 1/, `seed "${bad}"`);
      await scaleSettled();
      assert.equal((await settingsOf('scale')).seed, 1, `seed "${bad}" must not become another seed`);
    }
    await page.locator('#scale-seed').fill('7');
    await page.waitForFunction(() => JSON.parse(document.querySelector<HTMLElement>('[data-testid="section-scale"]')!.dataset.settings!).seed === 7);
    assert.equal(await page.locator('#scale-seed').getAttribute('aria-invalid'), 'false');
    assert.equal(await page.getByTestId('scale-seed-error').isVisible(), false);
  });

  it('the overflow banner never contradicts the naive column: at c = −111 in float32 it says every exp underflowed', async () => {
    const check = async (dtype: string, c: number): Promise<void> => {
      await setValue('#overflow-shift', String(c));
      await page.waitForFunction(
        ([d, shift]) => {
          const s = JSON.parse(document.querySelector<HTMLElement>('[data-testid="section-overflow"]')!.dataset.settings!);
          return s.dtype === d && s.shift === shift;
        },
        [dtype, Number(await page.locator('#overflow-shift').inputValue())] as const,
      );
      const verdict = await page.getByTestId('overflow-verdict').getAttribute('data-value');
      const naive = await page.getByTestId('overflow-status-naive').getAttribute('data-value');
      const cells = await Promise.all([0, 1, 2, 3, 4].map(async (i) => Number(await page.getByTestId(`overflow-naive-${i}`).getAttribute('data-value'))));
      const sum = cells.reduce((x, y) => x + y, 0);
      const where = `${dtype}, c = ${c}: verdict ${verdict}, naive ${naive} [${cells.join(', ')}]`;
      // "under" (green) claims a finite naive row that sums to 1; any other verdict is red.
      assert.equal(verdict === 'under', naive === 'finite' && Math.abs(sum - 1) < 1e-2, where);
      if (verdict === 'underflow') assert.ok(cells.every(Number.isNaN), where);
    };
    for (const dtype of FLOAT_DTYPES) {
      await page.locator('#overflow-dtype').selectOption(dtype);
      const max = Number(await page.locator('#overflow-shift').getAttribute('max'));
      for (let k = -10; k <= 10; k++) await check(dtype, (max * k) / 10);
    }
    await page.locator('#overflow-dtype').selectOption('float32');
    await check('float32', -111);
    assert.equal(await page.getByTestId('overflow-verdict').getAttribute('data-value'), 'underflow');
    assert.match(await text('overflow-verdict'), /underflow.*0 by 0/);
    await setValue('#overflow-shift', '0');
  });

  it('the last finite logit and the first that overflows print with enough digits to tell them apart', async () => {
    for (const dtype of FLOAT_DTYPES) {
      await page.locator('#overflow-dtype').selectOption(dtype);
      await page.waitForFunction((d) => JSON.parse(document.querySelector<HTMLElement>('[data-testid="section-overflow"]')!.dataset.settings!).dtype === d, dtype);
      const shown = await Promise.all(['overflow-last-finite', 'overflow-first-overflow'].map(async (id) => ({ text: await text(id), value: Number(await page.getByTestId(id).getAttribute('data-value')) })));
      assert.notEqual(shown[0].text, shown[1].text, `${dtype}: both print as ${shown[0].text}`);
      for (const { text: printed, value } of shown) assert.equal(Number(printed.replace('−', '-')), value, `${dtype}: "${printed}" reads back as another number than ${value}`);
    }
    await page.locator('#overflow-dtype').selectOption('float32');
  });

  it('"1,5" in a logit box is refused with a hint, not read as 15', async () => {
    const box = page.getByTestId('overflow-logit-1');
    const before = (await settingsOf('overflow')).logits as number[];
    await box.fill('1,5');
    await box.press('Enter');
    await box.blur();
    assert.equal(await box.getAttribute('aria-invalid'), 'true');
    assert.match(await text('overflow-logit-1-error'), /“1,5” is not a number; write decimals with a point, e\.g\. 1\.5/);
    assert.deepEqual((await settingsOf('overflow')).logits, before);
    await box.fill('1.5');
    await box.press('Enter');
    await page.waitForFunction(() => JSON.parse(document.querySelector<HTMLElement>('[data-testid="section-overflow"]')!.dataset.settings!).logits[1] === 1.5);
    assert.equal(await box.getAttribute('aria-invalid'), 'false');
  });

  it('the Q/K/V editor: one-line labels, errors that stay until fixed, and no silent loss of edits', async () => {
    await page.getByText('Edit Q, K and V').click();
    for (const name of ['q', 'k', 'v']) {
      const lines = await page.getByTestId(`attention-${name}`).evaluate((el) => el.parentElement!.querySelector('span')!.getClientRects().length);
      assert.equal(lines, 1, `the ${name.toUpperCase()} label breaks onto ${lines} lines`);
    }
    const k = page.getByTestId('attention-k');
    const goodK = await k.inputValue();
    await k.fill('1 2 3');
    await k.blur();
    assert.match(await text('attention-status'), /^K: 1 rows, expected 6; the maps use the last valid K\./);
    // Another control changes: the error stays, and so does the red border.
    await page.locator('#attn-scale').selectOption('none');
    await page.waitForFunction(() => /scale s = 1(?!\d)/.test(document.querySelector('[data-testid="attention-status"]')!.textContent ?? ''));
    assert.match(await text('attention-status'), /^K: 1 rows, expected 6; the maps use the last valid K\./);
    assert.equal(await k.getAttribute('aria-invalid'), 'true');
    // Fixing the text clears the error and the border at once, without leaving the box.
    await k.fill(goodK);
    assert.equal(await k.getAttribute('aria-invalid'), 'false');
    assert.notEqual(await k.evaluate((el) => getComputedStyle(el).borderColor), 'rgb(201, 42, 42)');
    await page.waitForFunction(() => !(document.querySelector('[data-testid="attention-status"]')!.textContent ?? '').startsWith('K:'));
    await page.locator('#attn-scale').selectOption('sqrt');

    // A hand edit of Q, then L changes: Q must be redrawn, and the page says so; K's edit is kept.
    const q = page.getByTestId('attention-q');
    await q.fill((await q.inputValue()).replace(/^\S+/, '9.000'));
    await k.fill((await k.inputValue()).replace(/^\S+/, '7.000'));
    await setValue('#attn-l', '7');
    assert.equal(await page.getByTestId('attention-notice').isVisible(), true);
    assert.match(await text('attention-notice'), /^L changed, so your edits to Q were replaced by a new random draw/);
    assert.match(await k.inputValue(), /^7\.000/);
    await setValue('#attn-l', '6');
  });

  it('causal with L > S says the mask is bottom-right aligned, as FlashAttention\'s, and what PyTorch\'s top-left is_causal would do', async () => {
    await page.locator('#attn-causal').check();
    await setValue('#attn-l', '9');
    await setValue('#attn-s', '4');
    await page.waitForFunction(() => /L = 9, S = 4/.test(document.querySelector('[data-testid="attention-status"]')!.textContent ?? ''));
    const status = await text('attention-status');
    assert.match(status, /5 query row\(s\) see no key at all and get zeros/);
    assert.match(status, /bottom-right aligned, as FlashAttention's/);
    assert.match(status, /PyTorch's is_causal is top-left aligned/);
    assert.doesNotMatch(status, /PyTorch would give NaN/);
    await page.locator('#attn-causal').uncheck();
    await setValue('#attn-l', '6');
    await setValue('#attn-s', '6');
  });

  it('training: Enter on Train and Stop keeps focus on the buttons, charts reset per run with "no data yet", and Vega never warns', async () => {
    await page.locator('#train-steps').selectOption('20');
    const start = page.getByTestId('training-start');
    const stop = page.getByTestId('training-stop');
    // Before any run the charts say so instead of drawing an empty axis.
    await start.focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'train-stop', 'focus after Enter on "Train both"');
    for (const id of ['chart-training-loss', 'chart-training-entropy']) {
      assert.equal(await page.getByTestId(id).getAttribute('data-empty'), 'true', `${id} before the first step`);
      assert.equal(await page.getByTestId(id).getByTestId('chart-empty').textContent(), 'no data yet');
    }
    // Let rsqrt and none draw a few steps, then stop.
    await page.waitForFunction(() => JSON.parse(document.querySelector<HTMLElement>('[data-testid="training-run-1"]')?.dataset.losses ?? '[]').length >= 3, null, { timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid="chart-training-loss"]')!.getAttribute('data-empty') === 'false');
    assert.ok((await page.getByTestId('chart-training-loss').locator('svg text').allTextContents()).includes('none'));
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'train-start', 'focus after Enter on "Stop"');

    // New rules, a run stopped before its first step: nothing of the old run may remain.
    await page.locator('#train-rule-b').selectOption('inverse');
    await page.evaluate(() => {
      document.querySelector<HTMLButtonElement>('#train-start')!.click();
      document.querySelector<HTMLButtonElement>('#train-stop')!.click();
    });
    await page.waitForFunction(() => document.querySelector('[data-testid="chart-training-loss"]')!.getAttribute('data-empty') === 'true');
    assert.equal(await page.getByTestId('chart-training-loss').locator('svg').isVisible(), false);
    assert.match((await page.getByTestId('chart-training-loss').getAttribute('aria-label')) ?? '', /no data yet/);
    await page.locator('#train-rule-b').selectOption('none');

    // A whole run: not one "Infinite extent" warning.
    await start.click();
    await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-testid="section-training"]')!.dataset.state === 'idle', null, { timeout: 120_000 });
    assert.match(await text('training-status'), /^Done: 20 steps each/);
    assert.deepEqual(vegaWarnings, []);
    assert.match(await text('training-gradnorm-note'), /median[\s\S]*C3[\s\S]*mean gradient does not vanish/);
    assert.ok(await stop.isDisabled());
  });

  it('every slider announces its name and value, and every chart is an image with a label that summarises it', async () => {
    const sliders = await page.locator('input[type="range"]').evaluateAll((els) => els.map((el) => ({ id: el.id, value: (el as HTMLInputElement).value, text: el.getAttribute('aria-valuetext') ?? '' })));
    assert.ok(sliders.length >= 13);
    for (const slider of sliders) assert.match(slider.text, /\S+ = −?\d/, `#${slider.id} has aria-valuetext "${slider.text}"`);
    await setValue('#scale-a', '0.25');
    await scaleSettled();
    assert.equal(await page.locator('#scale-a').getAttribute('aria-valuetext'), 'scale exponent a = 0.25');
    const charts = await page.locator('.chart').evaluateAll((els) => els.map((el) => ({ id: el.id, role: el.getAttribute('role'), label: el.getAttribute('aria-label') ?? '' })));
    assert.ok(charts.length >= 9);
    for (const chart of charts) {
      assert.equal(chart.role, 'img', `#${chart.id}`);
      assert.match(chart.label, /^[^:]+: (no data yet|.*\d)/, `#${chart.id} is labelled "${chart.label}"`);
    }
    assert.match(charts.find((c) => c.id === 'chart-logits')!.label, /histogram of [\d,]+ logits, standard deviation/);
  });

  it('on a 390 px phone the tables scroll inside their own box, the charts fit, and neither the page nor the report scrolls sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(400);
    const width = 390;
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    for (const id of ['overflow-table', 'training-table']) {
      const box = await page.getByTestId(id).evaluate((table) => {
        const wrap = table.closest('.table-wrap')!;
        const rect = wrap.getBoundingClientRect();
        return { left: rect.left, right: rect.right, scrollWidth: wrap.scrollWidth, tableWidth: table.scrollWidth, overflowX: getComputedStyle(wrap).overflowX };
      });
      assert.ok(box.left >= 0 && box.right <= width, `${id}'s box spans ${box.left}–${box.right}px`);
      assert.equal(box.overflowX, 'auto');
      assert.ok(box.scrollWidth >= box.tableWidth, `${id}: the whole table can be scrolled to`);
    }
    const charts = await page.locator('.chart svg').evaluateAll((svgs) => svgs.map((svg) => ({ id: svg.closest('.chart')!.id, right: svg.getBoundingClientRect().right, visible: svg.getBoundingClientRect().width > 0 })));
    for (const chart of charts.filter((c) => c.visible)) assert.ok(chart.right <= width, `#${chart.id} ends at ${chart.right}px`);
    await page.screenshot({ path: join(screenshots, 'browser-page-phone.png'), fullPage: true });

    const results = runLab({ seed: 1, mode: 'quick', only: ['C1', 'C7'], version: 'test' });
    const report = (await buildReportFiles(results)).find((file) => file.name === 'index.html')!;
    const reportFile = join(opened.root, 'report.html');
    writeFileSync(reportFile, report.content);
    await page.goto(`${opened.served.url}report.html`);
    const reportOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    await page.screenshot({ path: join(screenshots, 'browser-page-report-phone.png'), fullPage: true });
    assert.ok(reportOverflow <= 0, `the report is ${reportOverflow}px wider than the screen`);
  });

  it('logged no console error', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
