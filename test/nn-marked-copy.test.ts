import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Rng, ScaledotError } from '../src/tensor/index.js';
import { IGNORE, MARKED_COPY_DEFAULTS, entropyLowerBound, largestEigenvalue, markedCopyBatch, trainSync } from '../src/nn/index.js';

// The marked-copy task (C12's sink-inducing task) and the head tracer (C11's
// learnt temperature, Zhai's σ and the L2 form of his bound).

describe('markedCopyBatch', () => {
  const spec = MARKED_COPY_DEFAULTS;
  const mark = spec.symbols;
  const bos = spec.symbols + 1;

  it('opens every sequence with BOS; a symbol is its own target, a MARK targets the symbol after BOS', () => {
    fc.assert(fc.property(fc.nat(1e6), fc.integer({ min: 1, max: 8 }), (seed, batch) => {
      const b = markedCopyBatch(new Rng(seed), batch, spec);
      assert.equal(b.length, spec.length + 1);
      for (let s = 0; s < batch; s++) {
        const row = Array.from(b.ids.subarray(s * b.length, (s + 1) * b.length));
        const targets = Array.from(b.targets.subarray(s * b.length, (s + 1) * b.length));
        assert.equal(row[0], bos);
        assert.equal(targets[0], IGNORE);
        assert.ok(row[1] < spec.symbols, 'position 1 is a symbol, never MARK');
        for (let t = 1; t < b.length; t++) {
          assert.ok(row[t] !== bos);
          assert.equal(targets[t], row[t] === mark ? row[1] : row[t]);
        }
      }
    }), { numRuns: 50 });
  });

  it('is deterministic for a seed, and marks about markShare of the positions from 2 on', () => {
    const a = markedCopyBatch(new Rng(5), 400, spec);
    const b = markedCopyBatch(new Rng(5), 400, spec);
    assert.deepEqual(a.ids, b.ids);
    let marks = 0;
    for (let s = 0; s < 400; s++) for (let t = 2; t < a.length; t++) if (a.ids[s * a.length + t] === mark) marks++;
    const n = 400 * (a.length - 2);
    const share = marks / n;
    // 4 standard errors of a binomial share
    assert.ok(Math.abs(share - spec.markShare) < 4 * Math.sqrt((spec.markShare * (1 - spec.markShare)) / n), `share ${share}`);
  });

  it('refuses a bad spec before any work', () => {
    assert.throws(() => markedCopyBatch(new Rng(1), 2, { ...spec, symbols: 1 }), (e: unknown) => e instanceof ScaledotError && /symbols is 1/.test(e.message));
    assert.throws(() => markedCopyBatch(new Rng(1), 2, { ...spec, length: 1 }), (e: unknown) => e instanceof ScaledotError && /length is 1/.test(e.message));
    assert.throws(() => markedCopyBatch(new Rng(1), 2, { ...spec, markShare: 2 }), (e: unknown) => e instanceof ScaledotError && /markShare is 2/.test(e.message));
  });

  it('trains: the copy is learnt, so the loss falls well below chance (ln 16)', () => {
    const r = trainSync({ task: 'markedcopy', scaleRule: 'rsqrt', headDim: 8, width: 32, layers: 2, steps: 60, lr: 1e-2, batchSize: 32, seed: 1, evalEvery: 60, validationSize: 64 });
    assert.ok(r.final.valLoss < 0.5 * Math.log(spec.symbols), `val loss ${r.final.valLoss}`);
  });
});

describe('largestEigenvalue', () => {
  it('matches the 2×2 closed form and power iteration on random symmetric matrices', () => {
    fc.assert(fc.property(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), (a, b, c) => {
      const exact = (a + c) / 2 + Math.sqrt(((a - c) / 2) ** 2 + b * b);
      assert.ok(Math.abs(largestEigenvalue([a, b, b, c], 2) - exact) < 1e-9 * (1 + Math.abs(exact)));
    }));
    const rng = new Rng(3);
    for (const n of [3, 8, 17]) {
      const x = Array.from({ length: n * n }, () => rng.normal());
      const g = new Float64Array(n * n); // XᵀX: positive semidefinite, so power iteration finds the largest
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) g[i * n + j] += x[k * n + i] * x[k * n + j];
      let v = new Float64Array(n).fill(1);
      let lambda = 0;
      for (let it = 0; it < 5000; it++) {
        const w = new Float64Array(n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w[i] += g[i * n + j] * v[j];
        lambda = Math.hypot(...w);
        v = w.map((y) => y / lambda);
      }
      assert.ok(Math.abs(largestEigenvalue(g, n) - lambda) < 1e-8 * lambda, `n = ${n}`);
    }
  });
});

describe('head tracer (traceHeadsEvery)', () => {
  const config = { task: 'recall' as const, headDim: 8, width: 32, layers: 2, steps: 6, lr: 0.1, batchSize: 4, seed: 2, evalEvery: 6, recallPairs: 2, recallSymbols: 8, validationSize: 8, trackAttention: true, traceHeadsEvery: 3 };

  it('traces every head at step 1 and every traceHeadsEvery steps, finite, entropy never below its bound; the same for a seed', () => {
    for (const rule of ['rsqrt', 'qk-norm', 'sink'] as const) {
      const r = trainSync({ ...config, scaleRule: rule });
      assert.deepEqual([...new Set(r.headTraces.map((t) => t.step))], [1, 3, 6]);
      assert.equal(r.headTraces.length, 3 * 2 * 4);
      for (const t of r.headTraces) {
        assert.ok([t.sigma, t.entropy, t.entropyBound].every(Number.isFinite), JSON.stringify(t));
        assert.ok(t.entropy >= t.entropyBound - 1e-9, `${rule}: ${JSON.stringify(t)}`);
        if (rule === 'rsqrt') assert.equal(t.learnt, null);
        else assert.ok(Number.isFinite(t.learnt));
      }
      if (rule === 'qk-norm') assert.ok(Math.abs((r.headTraces[0].learnt as number) - Math.sqrt(8)) < 1e-12, 'τ starts at √d_k');
      // every causal row of two or more keys (sink rules: one more key), every step, both layers
      const length = 4 * config.recallPairs;
      const rowsPerStep = config.batchSize * 4 * (rule === 'sink' ? length : length - 1);
      assert.equal(r.l2Bound.rows, rowsPerStep * 2 * config.steps);
      assert.equal(r.l2Bound.violations, 0);
      assert.deepEqual(trainSync({ ...config, scaleRule: rule }).headTraces, r.headTraces);
    }
  });

  it('the L2 form is tight: the one-up row meets its own bound', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 40 }), fc.double({ min: 0, max: 30, noNaN: true }), (n, top) => {
      const x = Array.from({ length: n }, (_, j) => (j === 0 ? top : 0));
      const mean = top / n;
      const r = Math.hypot(...x.map((v) => v - mean));
      const z = Math.exp(top) + n - 1;
      const h = Math.log(z) - (top * Math.exp(top)) / z;
      assert.ok(Math.abs(h - entropyLowerBound(r * Math.sqrt(n / (n - 1)), n)) < 1e-9);
    }));
  });

  it('needs trackAttention', () => {
    assert.throws(() => trainSync({ ...config, scaleRule: 'rsqrt', trackAttention: false }), (e: unknown) => e instanceof ScaledotError && /traceHeadsEvery is 3 but trackAttention is off/.test(e.message));
  });
});
