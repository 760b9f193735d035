import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randn, tensor, type Tensor } from '../src/tensor/index.js';
import { refAttention, refAttentionBackward, type RefAttentionOptions } from './helpers/attention-reference.js';
import { assertClose, maxAbs } from './helpers/close.js';
import { dot, finiteDifferenceGradient } from './helpers/finite-diff.js';

// The yardsticks of the attention tests are themselves checked here, against
// closed forms and finite differences, so a wrong helper cannot pass a wrong backend.
describe('test helper: refAttention', () => {
  it('gives the closed form of two keys: a sigmoid-weighted average', () => {
    // One query, two keys: P_0 = 1 / (1 + exp(s_1 − s_0)), lse = log(exp s_0 + exp s_1).
    const q = tensor([1, 2], [1, 2], { dtype: 'float64' });
    const k = tensor([3, -1, 0.5, 0.25], [2, 2], { dtype: 'float64' });
    const v = tensor([10, -4], [2, 1], { dtype: 'float64' });
    const s0 = (1 * 3 + 2 * -1) / Math.SQRT2;
    const s1 = (1 * 0.5 + 2 * 0.25) / Math.SQRT2;
    const p0 = 1 / (1 + Math.exp(s1 - s0));
    const { output, lse } = refAttention(q, k, v);
    assert.ok(Math.abs(output[0] - (p0 * 10 + (1 - p0) * -4)) < 1e-13);
    assert.ok(Math.abs(lse[0] - Math.log(Math.exp(s0) + Math.exp(s1))) < 1e-13);
  });

  it('broadcasts a mask right-aligned and applies causal bottom-right aligned', () => {
    // v = identity, q = 0: output row i is the attention weights of row i.
    const [l, s] = [3, 4];
    const q = tensor(new Array(2 * l).fill(0), [2, 1, l, 1], { dtype: 'float64' });
    const k = tensor(new Array(2 * s).fill(1), [2, 1, s, 1], { dtype: 'float64' });
    const v = tensor(Array.from({ length: 2 * s * s }, (_, i) => (Math.floor(i / s) % s === i % s ? 1 : 0)), [2, 1, s, s], { dtype: 'float64' });
    const padding = tensor([1, 1, 1, 0, 1, 1, 0, 0], [2, 1, 1, s], { dtype: 'bool' }); // batch 1 sees keys 0, 1 only
    const { output } = refAttention(q, k, v, { attnMask: padding, isCausal: true });
    // Causal with L = 3, S = 4: row i sees j <= i + 1.
    const expected = [
      [1 / 2, 1 / 2, 0, 0], [1 / 3, 1 / 3, 1 / 3, 0], [1 / 3, 1 / 3, 1 / 3, 0], // batch 0: key 3 padded
      [1 / 2, 1 / 2, 0, 0], [1 / 2, 1 / 2, 0, 0], [1 / 2, 1 / 2, 0, 0], // batch 1: keys 2, 3 padded
    ].flat();
    assertClose(output, expected, 1e-15, 'weights');
  });

  it('applies softcap, ALiBi, window, keyLengths and a sink as issue 9 writes them (two keys, by hand)', () => {
    // One query (L = 1), keyLengths [2] of S = 3: off = 2 − 1 = 1, so key 2 is masked and the query sits at 1.
    const q = tensor([2, 0], [1, 1, 2], { dtype: 'float64' });
    const k = tensor([1, 0, -1, 0, 5, 5], [1, 3, 2], { dtype: 'float64' });
    const v = tensor([3, 7, 100], [1, 3, 1], { dtype: 'float64' });
    const [c, slope, sink] = [1.5, 0.25, 0.4];
    const t0 = c * Math.tanh(2 / c) - slope * 1; // |i + off − j| = |0 + 1 − 0| = 1
    const t1 = c * Math.tanh(-2 / c) - slope * 0;
    const z = Math.exp(sink) + Math.exp(t0) + Math.exp(t1);
    const opts = { scale: 1, softcap: c, alibiSlopes: [slope], keyLengths: [2], sinks: [sink], window: [1, 0] as [number, number] };
    const { output, lse } = refAttention(q, k, v, opts);
    assertClose(output, [(3 * Math.exp(t0) + 7 * Math.exp(t1)) / z], 1e-14, 'output');
    assertClose(lse, [Math.log(z)], 1e-14, 'lse');
    // window [0, 0] leaves only key j = i + off = 1.
    const only = refAttention(q, k, v, { ...opts, window: [0, 0] });
    assertClose(only.output, [(7 * Math.exp(t1)) / (Math.exp(sink) + Math.exp(t1))], 1e-14, 'window [0, 0]');
  });
});

describe('test helper: refAttentionBackward', () => {
  const cases: { name: string; shapes: number[][]; opts: (mask: Tensor) => RefAttentionOptions }[] = [
    { name: 'plain', shapes: [[1, 2, 3, 4], [1, 2, 5, 4], [1, 2, 5, 3]], opts: () => ({}) },
    { name: 'GQA, causal L > S, additive mask, scale', shapes: [[1, 4, 5, 3], [1, 2, 3, 3], [1, 2, 3, 2]], opts: (mask) => ({ isCausal: true, attnMask: mask, scale: 0.7 }) },
    {
      name: 'dropout',
      shapes: [[2, 1, 3, 3], [2, 1, 4, 3], [2, 1, 4, 3]],
      opts: () => ({ dropoutP: 0.4, keep: (row: number, col: number) => (row * 7 + col * 3) % 5 !== 0 }),
    },
    {
      name: 'softcap, ALiBi, window, keyLengths, sinks, GQA',
      shapes: [[2, 4, 3, 3], [2, 2, 5, 3], [2, 2, 5, 2]],
      opts: () => ({ softcap: 0.9, alibiSlopes: [0.5, 0.1, 0.3, 0.2], window: [2, 1], keyLengths: [5, 3], sinks: [0.2, -0.4, 1, 0], isCausal: true }),
    },
  ];
  for (const c of cases) {
    it(`matches central finite differences of refAttention (${c.name})`, () => {
      const [qs, ks, vs] = c.shapes;
      const q = randn(qs, { seed: 1, dtype: 'float64' });
      const k = randn(ks, { seed: 2, dtype: 'float64' });
      const v = randn(vs, { seed: 3, dtype: 'float64' });
      const dO = randn([...qs.slice(0, -1), vs[vs.length - 1]], { seed: 4, dtype: 'float64' });
      const mask = tensor([0, -1, -Infinity, 2, 0.5, 0, -Infinity, -Infinity, -Infinity, 1, 1, 1, 0, 3, -2], [5, 3], { dtype: 'float64' });
      const opts = c.opts(mask);
      const f64 = (x: Float64Array, like: Tensor) => tensor(x, like.shape, { dtype: 'float64' });
      const loss = (qq: Tensor, kk: Tensor, vv: Tensor) => dot(refAttention(qq, kk, vv, opts).output, dO.data);
      const grads = refAttentionBackward(q, k, v, dO, opts);
      const numeric = {
        dq: finiteDifferenceGradient((x) => loss(f64(x, q), k, v), q.data as Float64Array),
        dk: finiteDifferenceGradient((x) => loss(q, f64(x, k), v), k.data as Float64Array),
        dv: finiteDifferenceGradient((x) => loss(q, k, f64(x, v)), v.data as Float64Array),
      };
      for (const name of ['dq', 'dk', 'dv'] as const) {
        assert.ok(maxAbs(numeric[name]) > 1e-3, `${name} is not trivially zero`);
        assertClose(grads[name], numeric[name], 1e-7 * (1 + maxAbs(numeric[name])), name);
      }
      if (opts.sinks) {
        const sinkLoss = (x: Float64Array) => dot(refAttention(q, k, v, { ...opts, sinks: Array.from(x) }).output, dO.data);
        const numericSinks = finiteDifferenceGradient(sinkLoss, Float64Array.from(opts.sinks));
        assert.ok(maxAbs(numericSinks) > 1e-3, 'dsinks is not trivially zero');
        assertClose(grads.dsinks, numericSinks, 1e-7 * (1 + maxAbs(numericSinks)), 'dsinks');
      }
    });
  }
});
