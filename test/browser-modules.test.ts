import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FLOAT_DTYPES, dtypeInfo, softmax, tensor } from '../src/index.js';
import { rowStats } from '../web/src/scale-stats.js';
import { breakingPoint, compareSoftmax } from '../web/src/overflow.js';
import { attentionMap, parseMatrix } from '../web/src/attention-map.js';
import { dtypeNeighbours, expectedRowFigures, relativeError } from './browser-reference.js';

// The explainer page's computations, in Node: these run even where no Chromium is installed.

describe('explainer page: softmax row figures', () => {
  it('entropy, max probability and Jacobian norm match the explicit n × n formulas, saturated rows included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 40 }),
        // Spread up to 600: past ~37 the top probability rounds to 1 and naive formulas lose every digit.
        fc.double({ min: 0.01, max: 600, noNaN: true }),
        (unit, spread) => {
          const z = Float64Array.from(unit, (u) => u * spread);
          const shown = rowStats(z);
          const expected = expectedRowFigures(z);
          // max p as 1/(1 + Σ others) against the softmax's own: the same to a few ulps.
          assert.ok(relativeError(shown.maxProb, expected.maxProb) < 4e-15, `maxProb: shown ${shown.maxProb}, expected ${expected.maxProb}`);
          for (const key of ['entropy', 'jacobianNorm'] as const) {
            // A one-hot row has exact zeros; elsewhere the relative error must be tiny.
            if (expected[key] < 1e-300) assert.ok(shown[key] < 1e-300, `${key}: ${shown[key]} for a one-hot row`);
            else assert.ok(relativeError(shown[key], expected[key]) < 1e-9, `${key}: shown ${shown[key]}, expected ${expected[key]}, z = [${z.join(', ')}]`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives ln n, 1/n and √(1/n − 1/n²) for a uniform row', () => {
    for (const n of [1, 2, 7, 64]) {
      const stats = rowStats(new Float64Array(n).fill(-0.7));   // equal logits
      assert.ok(Math.abs(stats.entropy - Math.log(n)) < 1e-12);
      assert.ok(Math.abs(stats.maxProb - 1 / n) < 1e-15);
      assert.ok(Math.abs(stats.jacobianNorm - Math.sqrt(1 / n - 1 / n ** 2)) < 1e-12);
    }
  });
});

describe('explainer page: the overflow demo', () => {
  for (const dtype of FLOAT_DTYPES) {
    it(`finds the ${dtype} values either side of ln(max), and the naive softmax breaks exactly between them`, () => {
      const { lnMax } = dtypeInfo(dtype);
      const edge = breakingPoint(dtype);
      const { below, above } = dtypeNeighbours(dtype, lnMax);
      assert.equal(edge.lastFinite, below);
      assert.equal(edge.firstOverflow, above);
      const atEdge = compareSoftmax([below, 0, -3], dtype);
      const past = compareSoftmax([above, 0, -3], dtype);
      assert.deepEqual(atEdge.finite, { naive: true, safe: true, online: true });
      assert.deepEqual(past.finite, { naive: false, safe: true, online: true });
      assert.deepEqual(past.stored, [above, 0, -3]);
      // The error column: against exp(xᵢ − m)/Σ exp(xⱼ − m) in float64 on the stored logits.
      const exps = atEdge.stored.map((x) => Math.exp(x - below));
      const exact = exps.map((e) => e / exps.reduce((a, b) => a + b, 0));
      for (const algorithm of ['naive', 'safe', 'online'] as const) {
        const want = Math.max(...atEdge.outputs[algorithm].map((p, i) => Math.abs(p - exact[i])));
        assert.ok(Math.abs(atEdge.maxError[algorithm] - want) <= 2 ** -52, `${algorithm}: ${atEdge.maxError[algorithm]} vs ${want}`);
        assert.ok(atEdge.maxError[algorithm] <= 4 * dtypeInfo(dtype).eps, `${algorithm} error ${atEdge.maxError[algorithm]} in ${dtype}`);
      }
      assert.ok(Number.isNaN(past.maxError.naive));
    });
  }
});

describe('explainer page: the attention map', () => {
  const inputs = {
    q: [[1, 0], [0, 1], [1, 1]],
    k: [[1, 0], [0, 1], [-1, 0]],
    v: [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]],
  };

  // float64 on the CPU kernels to float64's accuracy; float32 on wasm (the page's fallback from webgpu) to float32's.
  const backends = [{ impl: 'auto', dtype: 'float64', tol: 1e-12 }, { impl: 'wasm', dtype: 'float32', tol: 1e-6 }] as const;
  for (const { tol, ...backend } of backends) it(`the weights are softmax(q·k · s) with the masks, from plain float64 math (${backend.impl}, ${backend.dtype})`, async () => {
    for (const [scaleRule, s] of [['sqrt', 1 / Math.sqrt(2)], ['none', 1], ['linear', 0.5]] as const) {
      for (const causal of [false, true]) {
        for (const padded of [0, 1, 3]) {
          const map = await attentionMap(inputs, { causal, padded, scaleRule }, backend);
          assert.equal(map.scale, s);
          inputs.q.forEach((q, i) => {
            const visible = inputs.k.map((_, j) => j < 3 - padded && (!causal || j <= i));
            const scores = inputs.k.map((k, j) => (visible[j] ? (q[0] * k[0] + q[1] * k[1]) * s : -Infinity));
            const m = Math.max(...scores);
            const exps = scores.map((x) => (m === -Infinity ? 0 : Math.exp(x - m)));
            const total = exps.reduce((x, y) => x + y, 0);
            exps.forEach((e, j) => {
              const want = total === 0 ? 0 : e / total;
              assert.ok(Math.abs(map.weights[i][j] - want) < tol, `${scaleRule} causal=${causal} padded=${padded} P[${i}][${j}]`);
            });
            assert.deepEqual(map.visible[i], visible);
            // O = P V, and a row that sees nothing is all zeros (never NaN).
            for (let c = 0; c < 4; c++) {
              const want = inputs.v.reduce((acc, row, j) => acc + (total === 0 ? 0 : exps[j] / total) * row[c], 0);
              assert.ok(Math.abs(map.output[i][c] - want) < tol * (backend.dtype === 'float32' ? 12 : 1));
            }
          });
        }
      }
    }
  });

  it('reads a matrix back from text, or says what is wrong with it', () => {
    assert.deepEqual(parseMatrix('Q', ' 1 2\n\n3, 4.5 \n', 2, 2), [[1, 2], [3, 4.5]]);
    assert.equal(parseMatrix('Q', '1 2', 2, 2), 'Q: 1 rows, expected 2');
    assert.equal(parseMatrix('K', '1 2\n3', 2, 2), 'K: row 2 has 1 values, expected 2');
    assert.equal(parseMatrix('V', '1 x\n3 4', 2, 2), 'V: row 1, value 2 is not a finite number');
  });
});
