import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Rng } from '../src/tensor/index.js';
import { Var, backward, parameter } from '../src/nn/autograd.js';
import { sinkSoftmax } from '../src/nn/sink-ops.js';
import { adaptiveInverseTemperature, adaptiveTemperature } from '../src/nn/adaptive-temperature.js';
import { attentionStats, entropyLowerBound, exactEntropyMinimum } from '../src/nn/attention-stats.js';
import { MultiHeadAttention } from '../src/nn/attention-layer.js';
import { finiteDifferenceGradient } from './helpers/finite-diff.js';
import { weighted } from './helpers/nn-functional.js';

// The softmax variants C10–C12 train with (ssmax, softmax1, sink), their
// gradients against central finite differences, and the measurements.

function normals(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}

/** Compares backward() with finite differences over every element of every input, all packed in one vector. */
function checkAll(inputs: Var[], f: () => Var, seed: number, tol = 1e-6): void {
  const r = normals(new Rng(seed), f().size);
  for (const x of inputs) x.grad = null;
  backward(weighted(f(), r));
  const analytic = inputs.flatMap((x) => Array.from(x.grad ?? new Float64Array(x.size)));
  const packed = Float64Array.from(inputs.flatMap((x) => Array.from(x.data)));
  const numeric = finiteDifferenceGradient((v) => {
    let o = 0;
    for (const x of inputs) {
      x.data.set(v.subarray(o, o + x.size));
      o += x.size;
    }
    return weighted(f(), r).data[0];
  }, packed);
  let o = 0;
  for (const x of inputs) {
    x.data.set(packed.subarray(o, o + x.size));
    o += x.size;
  }
  numeric.forEach((g, i) => assert.ok(Math.abs(g - analytic[i]) <= tol * (1 + Math.abs(g)), `element ${i}: finite difference ${g}, backward ${analytic[i]}`));
}

describe('sinkSoftmax', () => {
  it('is softmax over the row and the sink together, the sink dropped', () => {
    const x = parameter(Float64Array.from([0.5, -1, 2, 0.1, 0.2, 0.3]), [1, 2, 1, 3]);
    const b = parameter(Float64Array.from([1.5, -0.7]), [2]);
    const y = sinkSoftmax(x, b);
    for (const [head, row] of [[0, [0.5, -1, 2]], [1, [0.1, 0.2, 0.3]]] as const) {
      const denominator = Math.exp(b.data[head]) + row.reduce((a, v) => a + Math.exp(v), 0);
      row.forEach((v, j) => assert.ok(Math.abs(y.data[head * 3 + j] - Math.exp(v) / denominator) < 1e-15));
    }
    // softmax1: the sink at 0, rows sum to 1 − 1/(1 + Σe^x).
    const one = sinkSoftmax(x, null);
    const total = [0.5, -1, 2].reduce((a, v) => a + Math.exp(v), 0);
    assert.ok(Math.abs(one.data[0] + one.data[1] + one.data[2] - total / (1 + total)) < 1e-15);
  });

  it('gradient matches finite differences for x and the sink logits, with masked keys and huge logits', () => {
    const rng = new Rng(4);
    const x = parameter(normals(rng, 2 * 3 * 4 * 5).map((v) => 3 * v), [2, 3, 4, 5]);
    const b = parameter(normals(rng, 3), [3]);
    checkAll([x, b], () => sinkSoftmax(x, b), 1);
    checkAll([x], () => sinkSoftmax(x, null), 2);
    const masked = Float64Array.from([800, -Infinity, 801, -Infinity, -Infinity, -Infinity]);
    const y = sinkSoftmax(parameter(masked, [1, 1, 2, 3]), parameter(Float64Array.from([0]), [1]));
    assert.ok(y.data.every((v) => Number.isFinite(v)), 'no overflow');
    assert.deepEqual(Array.from(y.data.slice(3)), [0, 0, 0], 'a fully masked row goes to the sink');
  });
});

describe('MultiHeadAttention with the new rules', () => {
  for (const rule of ['ssmax', 'softmax1', 'sink'] as const) {
    it(`${rule}: every parameter's gradient matches finite differences`, () => {
      const rng = new Rng(7);
      const x = parameter(normals(rng, 2 * 5 * 8), [2, 5, 8]);
      const attn = new MultiHeadAttention(rng, { width: 8, heads: 2, headDim: 4, rule, softcap: 2, impl: 'reference', dtype: 'float64' });
      // Move the learnt s and sink away from their initial values so their gradients are generic.
      for (const [name, p] of attn.parameters()) if (name === 'logS' || name === 'sinkLogit') p.data.set([0.3, -0.4]);
      checkAll([x, ...attn.parameters().map(([, p]) => p)], () => attn.forward(x), 3);
    });
  }

  it('ssmax at s = 1/ln n equals rsqrt, and the sinks add nothing when the sink logit is −∞', () => {
    const rng = new Rng(8);
    const x = parameter(normals(rng, 1 * 6 * 8), [1, 6, 8]);
    const make = (rule: 'rsqrt' | 'ssmax' | 'sink'): MultiHeadAttention =>
      new MultiHeadAttention(new Rng(1), { width: 8, heads: 2, headDim: 4, rule, softcap: 2, impl: 'reference', dtype: 'float64' });
    const base = make('rsqrt').forward(x).data;
    const ss = make('ssmax');
    ss.logS?.data.fill(-Math.log(Math.log(6)));
    ss.forward(x).data.forEach((v, i) => assert.ok(Math.abs(v - base[i]) < 1e-12));
    const sk = make('sink');
    sk.sinkLogit?.data.fill(-Infinity);
    sk.forward(x).data.forEach((v, i) => assert.ok(Math.abs(v - base[i]) < 1e-12));
  });
});

describe('adaptive temperature', () => {
  it('leaves rows at H ≤ 0.5 alone, never flattens, and follows the published polynomial', () => {
    assert.equal(adaptiveInverseTemperature(0.4), 1);
    // −0.037·2⁴ + 0.481·2³ − 2.3·2² + 4.917·2 − 1.791, = −0.592 + 3.848 − 9.2 + 9.834 − 1.791 = 2.099
    assert.ok(Math.abs(adaptiveInverseTemperature(2) - 2.099) < 1e-12);
    fc.assert(fc.property(fc.double({ min: 0, max: 12, noNaN: true }), (h) => adaptiveInverseTemperature(h) >= 1));
    const row = new Var(Float64Array.from([1, 0.9, 0.8, 0.7, -Infinity]), [5]);
    const out = adaptiveTemperature(row);
    const beta = out.data[0] / row.data[0];
    assert.ok(beta > 1);
    assert.equal(out.data[4], -Infinity);
    assert.equal(out.requiresGrad, false);
  });
});

describe('attention statistics', () => {
  it("no row has less entropy than the exact minimum for its spread; the one-up row (Zhai et al.'s form) is not always that minimum", () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: 2, maxLength: 12 }), (xs) => {
      const stats = attentionStats(Float64Array.from(xs), [1, 1, 1, xs.length], null);
      // The margins are H − bound computed here: finite; the exact one never below −rounding.
      const m = Math.max(...xs);
      const w = xs.map((x) => Math.exp(x - m));
      const total = w.reduce((a, b) => a + b, 0);
      const h = -w.reduce((a, x) => a + (x / total) * Math.log(x / total), 0);
      const spread = m - Math.min(...xs);
      const k = (xs.length - 1) * Math.exp(-spread);
      const oneUp = Math.log1p(k) + (spread * k) / (1 + k);
      return stats.boundRows === 1 && stats.exactViolations === 0 && stats.exactMargin > -1e-9 &&
        Math.abs(stats.boundMargin - (h - oneUp)) < 1e-9 && stats.exactMargin >= stats.boundMargin - 1e-12;
    }));
    // Brute force over rows whose logits sit on a 4-level grid of the spread: none has less entropy than the exact minimum.
    for (const n of [2, 3, 5]) {
      const spread = 2.5;
      let least = Infinity;
      for (let code = 0; code < 4 ** n; code++) {
        const xs = Array.from({ length: n }, (_, i) => (Math.floor(code / 4 ** i) % 4) * (spread / 3));
        if (Math.max(...xs) - Math.min(...xs) !== spread) continue;
        const w = xs.map((x) => Math.exp(x));
        const z = w.reduce((a, b) => a + b, 0);
        least = Math.min(least, -w.reduce((a, x) => a + (x / z) * Math.log(x / z), 0));
      }
      assert.ok(least >= exactEntropyMinimum(spread, n) - 1e-12 && least - exactEntropyMinimum(spread, n) < 1e-12, `n = ${n}`);
    }
    // n = 16, spread 3: two logits at the top have less entropy (1.768) than the one-up row (1.840).
    const twoUp = Float64Array.from([3, 3, ...Array<number>(14).fill(0)]);
    const stats = attentionStats(twoUp, [1, 1, 1, 16], null);
    assert.equal(stats.boundViolations, 1);
    assert.ok(Math.abs(stats.boundMargin - (1.7675 - 1.8404)) < 1e-3);
    assert.ok(Math.abs(stats.exactMargin) < 1e-12);
    assert.ok(Math.abs(entropyLowerBound(3.7, 9) - exactEntropyMinimum(30, 9)) > 0);
    // A uniform row sits on both (spread 0: ln n).
    assert.ok(Math.abs(attentionStats(Float64Array.from([2, 2, 2, 2]), [1, 1, 1, 4], null).exactMargin) < 1e-12);
    const spread = 3.7;
    const n = 9;
    const oneUpRow = [spread, ...Array<number>(n - 1).fill(0)];
    const p = oneUpRow.map((v) => Math.exp(v) / (Math.exp(spread) + n - 1));
    const h = -p.reduce((a, q) => a + q * Math.log(q), 0);
    assert.ok(Math.abs(entropyLowerBound(spread, n) - h) < 1e-12);
  });

  it('reports the max logit, per-head entropy, first-key and sink shares', () => {
    // Two heads, one query row each seeing two keys: logits (0, ln 3) and (ln 2, 0); sink logits 0 and −∞.
    const stats = attentionStats(Float64Array.from([0, Math.log(3), Math.log(2), 0]), [1, 2, 1, 2], [0, -Infinity]);
    assert.equal(stats.maxLogit, Math.log(3));
    assert.ok(Math.abs(stats.firstShare[0] - 1 / 5) < 1e-15 && Math.abs(stats.sinkShare[0] - 1 / 5) < 1e-15);
    assert.ok(Math.abs(stats.firstShare[1] - 2 / 3) < 1e-15 && stats.sinkShare[1] === 0);
    const h0 = -(2 * (1 / 5) * Math.log(1 / 5) + (3 / 5) * Math.log(3 / 5));
    assert.ok(Math.abs(stats.headEntropy[0] - h0) < 1e-15);
  });
});
