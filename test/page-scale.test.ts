import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dotTable, emptyDotTable, growDotTable, QUERY_ROWS, DK_GRID } from '../web/src/scale-stats.js';
import { histogram, ScaleModel } from '../web/src/scale-view.js';
import { expectedScaleFigures, relativeError } from './browser-reference.js';

// Section 1's worker-side computation, in Node (no browser needed).

describe('explainer page, section 1: the grown dot table and the view the worker posts', () => {
  it('shows the figures of the stated recipe (σ folded into the logits as σ²) for any n, d_k, a, σ and seed', () => {
    const model = new ScaleModel();
    for (const settings of [
      { dk: 64, n: 64, a: 0.5, std: 1, seed: 1 },
      { dk: 4096, n: 16, a: 0, std: 1, seed: 1 },
      { dk: 8, n: 256, a: 0.25, std: 2.35, seed: 1 },
      { dk: 512, n: 4, a: 1, std: 0.25, seed: 9 },
      { dk: 1, n: 32, a: 0.75, std: 3, seed: 9 },
    ]) {
      const { figures } = model.view(settings);
      const expected = expectedScaleFigures(settings);
      for (const key of ['entropy', 'maxProb', 'jacobianNorm'] as const) {
        assert.ok(relativeError(figures[key], expected[key]) < 1e-9, `${key} ${figures[key]} vs ${expected[key]} at ${JSON.stringify(settings)}`);
      }
    }
  });

  it('grows key by key to the same table as one draw, and a stop keeps every key it finished', () => {
    const whole = dotTable(48, 5);
    const grown = emptyDotTable(5);
    let asked = 0;
    assert.equal(growDotTable(grown, 48, () => ++asked > 7), false);
    assert.equal(grown.keys, 7);
    assert.equal(growDotTable(grown, 20), true);
    assert.equal(growDotTable(grown, 48), true);
    assert.equal(grown.keys, 48);
    for (let g = 0; g < DK_GRID.length; g++) assert.deepEqual(grown.dots[g].subarray(0, 48 * QUERY_ROWS), whole.dots[g].subarray(0, 48 * QUERY_ROWS));
  });

  it('bins every logit exactly once, each inside its bin', () => {
    fc.assert(
      // Logits on a 1/64 grid over ±10⁴, with a random spread; the page's are q·k·s of that order.
      fc.property(fc.array(fc.integer({ min: -640_000, max: 640_000 }), { minLength: 1, maxLength: 300 }), fc.constantFrom(1, 1e-3, 1e3), (ints, spread) => {
        const x = ints.map((i) => (i / 64) * spread);
        const bins = histogram(x);
        assert.equal(bins.reduce((sum, b) => sum + b.count, 0), x.length);
        assert.ok(bins.length <= 2 * 40 + 2, `${bins.length} bins`);
        for (const value of x) assert.ok(bins.some((b) => b.count > 0 && b.start <= value && value <= b.end), `${value} is in no bin`);
      }),
      { numRuns: 200 },
    );
  });
});
