import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { softmaxRowStats } from '../src/kernels.js';

// The one function for a softmax row's figures (src/softmax/row-stats.ts),
// against the plain float64 formulas: p from exp and a sum, H = −Σ p ln p, and
// the Jacobian diag(p) − p pᵀ built entry by entry.

function plain(x: number[], sink = -Infinity) {
  const all = [...x, sink];
  const m = Math.max(...all);
  const e = all.map((v) => (v === -Infinity ? 0 : Math.exp(v - m)));
  const l = e.reduce((a, v) => a + v, 0);
  const p = e.map((v) => v / l);
  const keys = p.slice(0, x.length);
  const entropy = -p.reduce((a, v) => (v > 0 ? a + v * Math.log(v) : a), 0);
  const maxProb = Math.max(...keys);
  let frob = 0;
  for (let i = 0; i < keys.length; i++) {
    for (let j = 0; j < keys.length; j++) frob += ((i === j ? keys[i] : 0) - keys[i] * keys[j]) ** 2;
  }
  return { entropy, maxProb, gapToOneHot: 1 - maxProb, jacobianNorm: Math.sqrt(frob), sinkWeight: p[x.length], lse: m + Math.log(l) };
}

const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

describe('softmaxRowStats', () => {
  it('matches the plain float64 formulas, with and without a sink and masked keys', () => {
    const logit = fc.oneof(fc.double({ min: -8, max: 8, noNaN: true }), fc.constant(-Infinity));
    fc.assert(fc.property(
      fc.array(logit, { minLength: 1, maxLength: 12 }).filter((x) => x.some((v) => v > -Infinity)),
      fc.option(fc.double({ min: -8, max: 8, noNaN: true }), { nil: undefined }),
      (x, sink) => {
        const got = softmaxRowStats(Float64Array.from(x), { sink });
        const want = plain(x, sink);
        for (const key of ['entropy', 'maxProb', 'gapToOneHot', 'jacobianNorm', 'sinkWeight', 'lse'] as const) close(got[key], want[key], 1e-12, key);
        close(got.topOdds, (1 - want.maxProb) / want.maxProb, 1e-9, 'topOdds');
        assert.equal(got.keys, x.filter((v) => v > -Infinity).length);
      },
    ), { numRuns: 500 });
  });

  it('reads a row at an offset and a length, and is unchanged by a constant added to every logit and the sink', () => {
    const x = [9, 9, 0.5, -1, 2, 9];
    const shifted = softmaxRowStats([0.5 + 40, -1 + 40, 2 + 40], { sink: 1 + 40 });
    const inPlace = softmaxRowStats(x, { offset: 2, length: 3, sink: 1 });
    for (const key of ['entropy', 'maxProb', 'gapToOneHot', 'jacobianNorm', 'sinkWeight'] as const) close(shifted[key], inPlace[key], 1e-14, key);
  });

  it('keeps its digits near one-hot: two keys give 1 − p = ε and a norm of 2ε(1 − ε) exactly', () => {
    for (const gap of [1, 10, 30, 40, 60, 300]) {
      const eps = 1 / (1 + Math.exp(gap));
      const s = softmaxRowStats([gap, 0]);
      close(s.gapToOneHot / eps, 1, 1e-14, `1 − p at ${gap}`);
      close(s.jacobianNorm / (2 * eps * (1 - eps)), 1, 1e-14, `norm at ${gap}`);
      // H = ε(1 + gap) − ε ln ε … to first order: −(1 − ε) ln(1 − ε) − ε ln ε.
      close(s.entropy, -(1 - eps) * Math.log1p(-eps) - eps * Math.log(eps), 1e-12, `entropy at ${gap}`);
    }
  });

  it('a uniform row of n keys: max p 1/n, entropy ln n, norm √(n − 1)/n', () => {
    for (const n of [1, 2, 7, 1000]) {
      const s = softmaxRowStats(new Float64Array(n).fill(0.3));
      close(s.maxProb, 1 / n, 1e-15, 'maxProb');
      close(s.entropy, Math.log(n), 1e-13, 'entropy');
      close(s.jacobianNorm, Math.sqrt(n - 1) / n, 1e-13, 'norm');
    }
  });

  it('edge cases as its comment defines them: fully masked, one key, −∞ entries, sink', () => {
    assert.deepEqual(softmaxRowStats([-Infinity, -Infinity]), { entropy: 0, maxProb: 0, gapToOneHot: 1, topOdds: NaN, jacobianNorm: 0, sinkWeight: 0, lse: -Infinity, keys: 0 });
    assert.deepEqual(softmaxRowStats([-Infinity], { sink: 0.5 }), { entropy: 0, maxProb: 0, gapToOneHot: 1, topOdds: NaN, jacobianNorm: 0, sinkWeight: 1, lse: 0.5, keys: 0 });
    assert.deepEqual(softmaxRowStats([3]), { entropy: 0, maxProb: 1, gapToOneHot: 0, topOdds: 0, jacobianNorm: 0, sinkWeight: 0, lse: 3, keys: 1 });
    const one = softmaxRowStats([0, -Infinity], { sink: 0 });   // one key and a sink of the same logit: (½, ½)
    close(one.maxProb, 0.5, 0, 'maxProb');
    close(one.entropy, Math.LN2, 1e-15, 'entropy');
    close(one.jacobianNorm, 0.25, 0, 'norm p_t · p_b');
    close(one.sinkWeight, 0.5, 0, 'sinkWeight');
    // A sink far above the keys: every figure finite, the keys' weights tiny but exact.
    const sunk = softmaxRowStats([0, 0], { sink: 700 });
    close(sunk.maxProb / Math.exp(-700), 1, 1e-12, 'maxProb under a dominant sink');
    close(sunk.gapToOneHot, 1, 1e-15, '1 − p');
    assert.ok(Number.isNaN(softmaxRowStats([1, Infinity]).entropy));
    assert.ok(Number.isNaN(softmaxRowStats([1, NaN]).maxProb));
  });
});
