import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { N_GRID, VARIANTS, adaptiveClampEntropy, lengthCurvePoints, lengthFigures } from '../web/src/length-stats.js';
import { adaptiveNote } from '../web/src/section-length.js';
import { adaptiveInverseTemperature } from '../src/nn/index.js';

// Section 5's numbers, in Node (no browser needed); the page at 390 px is in browser-page.test.ts.

describe('explainer page, section 5: the current row and the curves', () => {
  it('draws the current row by the curves\' own rule (seed + n), so at a grid n the dot is the line\'s point', () => {
    const settings = { s: 0.43, sigma: 1, seed: 1 };
    for (const n of [N_GRID[10], N_GRID[14], N_GRID[20]]) {
      const figures = lengthFigures({ ...settings, n });
      const points = lengthCurvePoints(settings, n);
      for (const variant of VARIANTS) {
        const point = points.find((p) => p.variant === variant)!;
        assert.equal(figures.random[variant].relEntropy, point.randomRelEntropy, `random ${variant} at n = ${n}`);
        assert.equal(figures.needle[variant].maxProb, point.needleMaxProb, `needle ${variant} at n = ${n}`);
      }
    }
  });

  it('says where adaptive temperature clamps to 1, and that the default row is past it', () => {
    const h = adaptiveClampEntropy();
    assert.ok(adaptiveInverseTemperature(h - 1e-6) > 1 && adaptiveInverseTemperature(h) === 1, `clamp at ${h}`);
    for (let x = h; x < Math.log(1e5); x += 0.01) assert.equal(adaptiveInverseTemperature(x), 1, `β(${x})`);
    const figures = lengthFigures({ n: 1000, s: 0.43, sigma: 1, seed: 1 });
    assert.ok(figures.random.beta.entropy > h && figures.random.beta.beta === 1);
    const note = adaptiveNote(figures.needle.beta, figures.random.beta);
    assert.match(note, new RegExp(`above ${h.toFixed(2)} nats`));
    assert.match(note, /random row: H = \d+\.\d\d nats, β = 1\.00 \(clamped: adaptive = plain\)/);
  });
});
