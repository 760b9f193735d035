import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserSkip, openPage, screenshots, type OpenedPage } from './helpers/browser.js';

// Section 5 (Length) on a 390 px phone: its charts' labels readable, its adaptive-temperature note shown.

describe('the explainer page, section 5 at 390 px', { skip: browserSkip }, () => {
  let opened: OpenedPage;
  let page: Page;

  before(async () => {
    opened = await openPage();
    page = opened.page;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(opened.served.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    await page.waitForFunction(() => {
      const section = document.querySelector<HTMLElement>('[data-testid="section-length"]')!;
      return section.dataset.rendered !== undefined && section.dataset.rendered === section.dataset.settings;
    }, null, { timeout: 60_000 });
  });

  after(async () => {
    await opened?.close();
  });

  it('no two labels of one axis overlap in either Length chart', async () => {
    for (const id of ['chart-length-needle', 'chart-length-random']) {
      const axes = await page.getByTestId(id).evaluate((chart) =>
        Array.from(chart.querySelectorAll('g.role-axis')).map((axis) =>
          Array.from(axis.querySelectorAll('.role-axis-label text')).map((label) => {
            const r = label.getBoundingClientRect();
            return { text: label.textContent ?? '', left: r.left, right: r.right, top: r.top, bottom: r.bottom };
          })));
      assert.ok(axes.length >= 2, `${id}: ${axes.length} axes`);
      for (const labels of axes) {
        for (let a = 0; a < labels.length; a++) {
          for (let b = a + 1; b < labels.length; b++) {
            const [p, q] = [labels[a], labels[b]];
            const overlap = Math.min(p.right, q.right) - Math.max(p.left, q.left) > 0 && Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top) > 0;
            assert.ok(!overlap, `${id}: labels "${p.text}" and "${q.text}" overlap (${JSON.stringify(labels.map((l) => l.text))})`);
          }
        }
      }
    }
    await page.getByTestId('section-length').screenshot({ path: join(screenshots, 'browser-length-phone.png') });
  });

  it('says where adaptive temperature clamps to 1, and that the default rows are past it', async () => {
    const note = (await page.getByTestId('length-adaptive-note').textContent()) ?? '';
    assert.match(note, /β\(H\) = max\(poly\(H\), 1\) is 1 for every H above \d+\.\d\d nats/);
    assert.match(note, /random row: H = \d+\.\d\d nats, β = 1\.00 \(clamped: adaptive = plain\)/);
    assert.deepEqual(opened.consoleErrors, []);
  });
});
