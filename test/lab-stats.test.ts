import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Rng, roundFloat16 } from '../src/tensor/index.js';
import { softmax, softmaxBackward } from '../src/softmax/index.js';
import { tensor } from '../src/tensor/index.js';
import {
  bootstrapSe, combineVerdicts, erfc, linearFit, logLogSlope, mean, median, quantile, quantilesWithErrors, standardError,
  twoSidedNormalTail, variance, varianceWithError, within, decide,
} from '../src/lab/stats.js';
import { deriveSeed, fmt, makeCheck } from '../src/lab/experiment.js';
import { rowStats } from '../src/lab/softmax-stats.js';
import { logTwoKeyJacobianNorm, topTwoGaps } from '../src/lab/order-stats.js';
import { scoresMatrix, rowDots } from '../src/lab/sampling.js';
import { toCsv } from '../src/lab/report/csv.js';

const close = (a: number, b: number, tol: number, what = ''): void => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

/**
 * float16 rounding the slow, obvious way (exponent by log2, then round the
 * scaled value to an integer, ties to even): an independent check of the
 * library's table-driven roundFloat16, which C7 uses for its float16 matmul.
 */
function referenceRoundFloat16(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  const ulp = 2 ** (Math.max(e, -14) - 10);
  const q = a / ulp;
  const fl = Math.floor(q);
  const frac = q - fl;
  const r = (frac > 0.5 || (frac === 0.5 && fl % 2 === 1) ? fl + 1 : fl) * ulp;
  if (r > 65504) return x > 0 ? Infinity : -Infinity;
  return x > 0 ? r : -r;
}

describe('lab statistics', () => {
  it('mean, variance and standard error of a small sample', () => {
    assert.equal(mean([1, 2, 3, 4]), 2.5);
    close(variance([1, 2, 3, 4]), 5 / 3, 1e-15);
    close(standardError([1, 2, 3, 4]), Math.sqrt(5 / 3 / 4), 1e-15);
    assert.throws(() => variance([1]), { code: 'E_ARG' });
    assert.throws(() => mean([]), { code: 'E_ARG' });
  });

  it('the variance error uses the fourth moment: [0,0,0,4] has s² = 4, μ₄ = 21, se = √(5/4)', () => {
    const { value, se } = varianceWithError([0, 0, 0, 4]);
    close(value, 4, 1e-15);
    close(se, Math.sqrt(5 / 4), 1e-15);
  });

  it('quantiles interpolate between order statistics (type 7)', () => {
    assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
    close(quantile([1, 2, 3, 4], 0.1), 1.3, 1e-15);
    assert.equal(quantile([1, 2, 3, 4], 0), 1);
    assert.equal(quantile([1, 2, 3, 4], 1), 4);
    assert.equal(median([5, 1, 3]), 3);
    assert.throws(() => quantile([1], 1.5), { code: 'E_ARG' });
  });

  it('least squares: slope, intercept and the residual standard error worked by hand', () => {
    // y = (0, 1, 3) on x = (0, 1, 2): slope 3/2, intercept −1/6, RSS = 1/6, se = sqrt(RSS/(n−2)/Sxx) = sqrt(1/12).
    const fit = linearFit([0, 1, 2], [0, 1, 3]);
    close(fit.slope, 1.5, 1e-15);
    close(fit.intercept, -1 / 6, 1e-15);
    close(fit.se, Math.sqrt(1 / 12), 1e-15);
  });

  it('least squares with per-point errors propagates them: weights (x − x̄)/Sxx', () => {
    // x = (0, 1, 2): weights (−1/2, 0, 1/2), so se = sqrt(1/4 + 1/4) for unit errors.
    close(linearFit([0, 1, 2], [5, 5, 5], [1, 1, 1]).se, Math.sqrt(0.5), 1e-15);
    close(linearFit([0, 1, 2], [5, 5, 5], [0, 7, 0]).se, 0, 1e-15);
  });

  it('log-log slope recovers the exponent of an exact power law, and rejects non-positive points', () => {
    fc.assert(
      fc.property(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: 0.1, max: 10, noNaN: true }), (b, c) => {
        const xs = [1, 2, 4, 8, 16];
        const fit = logLogSlope(xs, xs.map((x) => c * x ** b));
        close(fit.slope, b, 1e-9);
      }),
    );
    // delta method: a 10% error on y is 0.1 on ln y
    close(logLogSlope([1, Math.E], [1, 1], [0.1, 0.1]).se, Math.hypot(0.1, 0.1), 1e-12);
    assert.throws(() => logLogSlope([1, 2, 3], [1, 0, 2]), { code: 'E_ARG' });
  });

  it('within: holds, fails and inconclusive by the stated rule', () => {
    assert.equal(within(1.02, 1, 0.05), 'holds');
    assert.equal(within(1.5, 1, 0.5), 'holds'); // the boundary counts as within
    assert.equal(within(1.06, 1, 0.05), 'fails');
    assert.equal(within(0.5, 1, 0.6, 0), 'inconclusive'); // cannot tell 1 from the rival 0
    assert.equal(within(0.9, 1, 0.3, 0), 'holds');
    assert.equal(within(NaN, 1, 0.1), 'inconclusive');
    assert.equal(within(1, 1, Infinity), 'inconclusive');
    assert.equal(combineVerdicts(['holds', 'holds']), 'holds');
    assert.equal(combineVerdicts(['holds', 'inconclusive']), 'inconclusive');
    assert.equal(combineVerdicts(['inconclusive', 'fails']), 'fails');
    assert.equal(makeCheck({ id: 'x', statement: '', quantity: '', measured: 2, predicted: 1, tolerance: 0.5, toleranceBasis: '' }).verdict, 'fails');
  });

  it('decide: one-sided bounds and effects are tested one-sided, and every inconclusive verdict says why', () => {
    // A bound "at most 0" (no loss): a rise of any size is consistent with it; only a drop beyond the tolerance fails it.
    assert.equal(decide(0.0875, 0, 0.05, null, 'at-least').verdict, 'holds');
    assert.equal(decide(5, 0, 0.05, null, 'at-least').verdict, 'holds');
    assert.equal(decide(-0.06, 0, 0.05, null, 'at-least').verdict, 'fails');
    assert.equal(decide(-0.04, 0, 0.05, null, 'at-least').verdict, 'holds');
    assert.equal(decide(7, 1, 0.5, null, 'at-most').verdict, 'fails');
    assert.equal(decide(-7, 1, 0.5, null, 'at-most').verdict, 'holds');
    // An effect "above 0" (A beats B) needs the data to clear 0 by the tolerance.
    assert.equal(decide(0.2, 0, 0.1, null, 'above').verdict, 'holds');
    const noisy = decide(0.05, 0, 0.1, null, 'above');
    assert.equal(noisy.verdict, 'inconclusive');
    assert.match(noisy.reason ?? '', /too noisy/);
    assert.equal(decide(-0.2, 0, 0.1, null, 'above').verdict, 'fails');
    assert.equal(decide(-0.2, 0, 0.1, null, 'below').verdict, 'holds');
    assert.match(decide(NaN, 0, 0.1).reason ?? '', /not a finite number/);
    assert.match(decide(0.5, 1, 0.6, 0).reason ?? '', /rival value 0/);
    assert.equal(decide(1, 1, 0.1).reason, null);
    const untestable = makeCheck({ id: 'y', statement: '', quantity: '', measured: NaN, predicted: 1, tolerance: 0.1, toleranceBasis: '', untestable: 'no run stalled' });
    assert.deepEqual([untestable.verdict, untestable.reason, untestable.kind, untestable.side], ['inconclusive', 'no run stalled', 'evidence', 'equal']);
  });

  it('erfc and the normal tail match tabulated values', () => {
    close(erfc(0), 1, 1.2e-7); // the fit's stated relative accuracy
    close(erfc(1), 0.157299207050285, 2e-8);
    close(erfc(-1), 2 - 0.157299207050285, 2e-8);
    close(twoSidedNormalTail(1.959963984540054), 0.05, 1e-8);
    close(twoSidedNormalTail(6) / 1.973175290075e-9, 1, 1e-6); // relative accuracy deep in the tail
  });

  it('bootstrap standard errors agree with the formula for a mean and scale for quantiles', () => {
    const rng = new Rng(7);
    const sample = Array.from({ length: 400 }, () => rng.normal());
    const boot = bootstrapSe(sample, (s) => mean(s), { seed: 3, resampleCount: 400 });
    close(boot / standardError(sample), 1, 0.2, 'bootstrap/formula');
    const [q50] = quantilesWithErrors(sample, [0.5], { seed: 4, resampleCount: 400 });
    // The median of a normal has se ≈ 1.2533 σ/√n.
    close(q50.se / (1.2533 / Math.sqrt(400)), 1, 0.3, 'median se');
  });

  it('deriveSeed is deterministic and separates labels and run seeds', () => {
    assert.equal(deriveSeed(1, ['C1', 'q', 4]), deriveSeed(1, ['C1', 'q', 4]));
    assert.notEqual(deriveSeed(1, ['C1', 'q', 4]), deriveSeed(1, ['C1', 'k', 4]));
    assert.notEqual(deriveSeed(1, ['C1', 'q', 4]), deriveSeed(2, ['C1', 'q', 4]));
  });

  it('fmt writes 3 significant digits and powers of ten', () => {
    assert.equal(fmt(0.5), '0.5');
    assert.equal(fmt(-0.123456), '−0.123');
    assert.equal(fmt(1234567), '1.23×10⁶');
    assert.equal(fmt(-2.5e-7), '−2.5×10⁻⁷');
    assert.equal(fmt(NaN), 'NaN');
    assert.equal(fmt(Infinity), '∞');
  });
});

describe('lab numerics', () => {
  it('the library float16 rounding C7 uses equals a log2-based rounding on every kind of input', () => {
    const specials = [0, -0, 1, 65504, 65519.99, 65520, -65520, 2 ** -25, 1.5 * 2 ** -25, 2 ** -24, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -14, 1e-30, 65536, Infinity, -Infinity];
    for (const x of specials) assert.equal(roundFloat16(x), referenceRoundFloat16(x), `x = ${x}`);
    assert.ok(Number.isNaN(roundFloat16(NaN)));
    fc.assert(fc.property(fc.double({ noNaN: true }), (x) => roundFloat16(x) === referenceRoundFloat16(x)), { numRuns: 20000 });
    fc.assert(fc.property(fc.double({ min: -70000, max: 70000, noNaN: true }), (x) => roundFloat16(x) === referenceRoundFloat16(x)), { numRuns: 20000 });
  });

  it('the Jacobian norm equals the Frobenius norm of the columns softmaxBackward gives', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: 2, maxLength: 8 }), (logits) => {
        const n = logits.length;
        const p = softmax(tensor(logits, [1, n], { dtype: 'float64' })).data as Float64Array;
        let frob = 0;
        for (let i = 0; i < n; i++) {
          const e = new Float64Array(n);
          e[i] = 1;
          const column = softmaxBackward(tensor(p, [1, n], { dtype: 'float64' }), tensor(e, [1, n], { dtype: 'float64' })).data;
          for (const v of column) frob += v * v;
        }
        close(rowStats(Float64Array.from(logits), 1, n).jacobianNorm[0], Math.sqrt(frob), 1e-12);
      }),
    );
  });

  it('the Jacobian norm keeps its digits near one-hot: two keys give 2ε(1 − ε) exactly', () => {
    for (const x of [1, 10, 30, 40, 60]) {
      const eps = 1 / (1 + Math.exp(x));
      const norm = rowStats(Float64Array.from([x, 0]), 1, 2).jacobianNorm[0];
      close(norm / (2 * eps * (1 - eps)), 1, 1e-9, `x = ${x}`);
      close(Math.log(norm), logTwoKeyJacobianNorm(x), 1e-9, `log, x = ${x}`);
    }
  });

  it('row statistics: max p, distance from one-hot and entropy of a uniform row', () => {
    const s = rowStats(new Float64Array([1.5, 1.5, 1.5, 1.5]), 1, 4);
    assert.equal(s.maxProb[0], 0.25);
    close(s.gapToOneHot[0], 0.75, 1e-15);
    close(s.entropy[0], Math.log(4), 1e-15);
  });

  it('the top-two gap of 2 normals is |z₁ − z₂|, a half-normal of scale √2 (median √2 · 0.6745)', () => {
    const gaps = topTwoGaps(2, 20000, 11);
    const [m] = quantilesWithErrors(gaps, [0.5], { seed: 1, resampleCount: 100 });
    close(m.value, Math.SQRT2 * 0.6744897501960817, 4 * m.se);
  });

  it('scoresMatrix and rowDots compute plain dot products', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 7 }), fc.integer(), (l, s, e, seed) => {
        const rng = new Rng(seed);
        const q = Float64Array.from({ length: l * e }, () => rng.normal());
        const k = Float64Array.from({ length: s * e }, () => rng.normal());
        const out = scoresMatrix(q, k, l, s, e);
        for (let i = 0; i < l; i++) for (let j = 0; j < s; j++) {
          let dot = 0;
          for (let t = 0; t < e; t++) dot += q[i * e + t] * k[j * e + t];
          close(out[i * s + j], dot, 1e-12);
        }
        const same = rowDots(q, q, l, e);
        for (let i = 0; i < l; i++) close(same[i], q.subarray(i * e, (i + 1) * e).reduce((a, v) => a + v * v, 0), 1e-12);
      }),
    );
  });

  it('CSV quotes what needs quoting and writes non-finite numbers by name', () => {
    assert.equal(toCsv([{ a: 1, b: 'x,y' }, { a: NaN, c: 'say "hi"' }]), 'a,b,c\n1,"x,y",\nNaN,,"say ""hi"""\n');
  });
});
