import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FLOAT_DTYPES, dtypeInfo, tensor, type FloatDType } from '../src/tensor/index.js';
import { logSoftmax, logsumexp, softmax, softmaxBackward } from '../src/softmax/index.js';

/**
 * Theory: exp(x) stored in a dtype rounds to +∞ exactly when
 * exp(x) ≥ max + ulp(max)/2 (round to nearest; the tie goes to the even
 * neighbour 2^(E+1), which overflows). With max = (2 − eps)·2^E and
 * ulp(max) = eps·2^E that is x ≥ (E + 1)·ln 2 + ln(1 − eps/4), a hair above
 * ln(max). The comparison is made as x − (E + 1)·ln 2 ≥ ln(1 − eps/4) with ln 2
 * split in two (fdlibm's ln2_hi + ln2_lo, ln2_hi·n exact), so it stays exact
 * even at float64's resolution next to the threshold.
 */
function overflowsInDtype(x: number, dtype: FloatDType): boolean {
  const LN2_HI = 6.93147180369123816490e-1;
  const LN2_LO = 1.90821492927058770002e-10;
  const { max, eps } = dtypeInfo(dtype);
  const n = Math.log2(max / (2 - eps)) + 1;
  return x - n * LN2_HI - n * LN2_LO >= Math.log1p(-eps / 4);
}

/** The representable values of a dtype nearest ln(max): `count` on each side of it. */
function gridAroundLnMax(dtype: FloatDType, count: number): number[] {
  const { lnMax, eps } = dtypeInfo(dtype);
  const ulp = 2 ** Math.floor(Math.log2(lnMax)) * eps;
  const below = Math.floor(lnMax / ulp) * ulp;
  return Array.from({ length: 2 * count }, (_, i) => below + (i - count + 1) * ulp);
}

const finite = (data: ArrayLike<number>): boolean => Array.from(data).every(Number.isFinite);

describe('the naive softmax overflows exactly where theory says; the safe one never does', () => {
  for (const dtype of FLOAT_DTYPES) {
    it(`${dtype}: a row whose max logit crosses ln(max) = ${dtypeInfo(dtype).lnMax.toFixed(4)}`, () => {
      const grid = gridAroundLnMax(dtype, 3);
      let sawFinite = false;
      let sawOverflow = false;
      for (const top of grid) {
        const x = tensor([top, 0, -1, 2], [4], { dtype });
        assert.equal(x.data[0], top, `${top} is representable in ${dtype}`);
        const overflows = overflowsInDtype(top, dtype);
        sawFinite ||= !overflows;
        sawOverflow ||= overflows;
        const naive = softmax(x, { algorithm: 'naive' });
        assert.equal(finite(naive.data), !overflows, `naive softmax of a row with max ${top} (overflows in theory: ${overflows}): ${naive.data}`);
        if (overflows) assert.ok(Number.isNaN(naive.data[0]), 'exp overflows to ∞ and ∞/∞ is NaN');
        for (const algorithm of ['safe', 'online'] as const) {
          const y = softmax(x, { algorithm });
          assert.ok(finite(y.data), `${algorithm} softmax stays finite at ${top}`);
          assert.ok(y.data[0] > 0.99, `${algorithm}: the large logit takes almost all the mass`);
        }
        assert.ok(finite(logsumexp(x).data) && finite(logSoftmax(x).data));
      }
      assert.ok(sawFinite && sawOverflow, 'the grid straddles the threshold');
    });

    it(`${dtype}: naive gives 0/0 = NaN when every exp underflows, safe gives the uniform row`, () => {
      const { minNormal, eps } = dtypeInfo(dtype);
      // exp(x) rounds to 0 below half the smallest subnormal minNormal·eps, i.e. for x < ln(minNormal·eps) − ln 2.
      const x0 = Math.log(minNormal * eps) - 1;
      const x = tensor([x0, x0, x0], [3], { dtype });
      assert.ok(x.data[0] < Math.log(minNormal * eps) - Math.LN2, 'stored in the dtype it is still below the threshold');
      assert.ok(softmax(x, { algorithm: 'naive' }).data.every(Number.isNaN));
      for (const v of softmax(x).data) assert.ok(Math.abs(v - 1 / 3) <= dtypeInfo(dtype).eps);
    });
  }

  it('float16 logits far past ln(65504) stay finite in the safe and online softmax', () => {
    const x = tensor([60000, 30000, 11.1, -60000, 59999], [5], { dtype: 'float16' });
    for (const algorithm of ['safe', 'online'] as const) assert.ok(finite(softmax(x, { algorithm }).data));
    assert.ok(!finite(softmax(x, { algorithm: 'naive' }).data));
  });
});

describe('special rows', () => {
  for (const dtype of FLOAT_DTYPES) {
    it(`${dtype}: a fully masked row gives zeros, logsumexp −∞, logSoftmax −∞, a zero gradient`, () => {
      const x = tensor([-Infinity, -Infinity, -Infinity, 1, 2, 3], [2, 3], { dtype });
      for (const algorithm of ['safe', 'online'] as const) {
        const y = softmax(x, { algorithm });
        assert.deepEqual(Array.from(y.data.subarray(0, 3)), [0, 0, 0]);
        assert.ok(y.data.subarray(3).every((v) => v > 0 && v < 1));
      }
      assert.deepEqual(Array.from(logsumexp(x).data.subarray(0, 1)), [-Infinity]);
      assert.deepEqual(Array.from(logSoftmax(x).data.subarray(0, 3)), [-Infinity, -Infinity, -Infinity]);
      const dx = softmaxBackward(softmax(x), tensor([1, 2, 3, 4, 5, 6], [2, 3], { dtype }));
      assert.deepEqual(Array.from(dx.data.subarray(0, 3)), [0, 0, 0]);
    });

    it(`${dtype}: k entries of +∞ share the mass (the limit as they grow together)`, () => {
      const x = tensor([Infinity, 1, Infinity, -Infinity, Infinity, 0], [6], { dtype });
      for (const algorithm of ['safe', 'online'] as const) {
        const y = softmax(x, { algorithm });
        const third = tensor([1 / 3], [1], { dtype }).data[0];
        assert.deepEqual(Array.from(y.data), [third, 0, third, 0, third, 0]);
      }
      assert.equal(logsumexp(x).data[0], Infinity);
      const logThird = tensor([-Math.log(3)], [1], { dtype }).data[0];
      assert.deepEqual(Array.from(logSoftmax(x).data), [logThird, -Infinity, logThird, -Infinity, logThird, -Infinity]);
    });

    it(`${dtype}: NaN in a row gives NaN for that row only`, () => {
      const x = tensor([1, NaN, 2, 1, 2, 3], [2, 3], { dtype });
      for (const algorithm of ['safe', 'online'] as const) {
        const y = softmax(x, { algorithm });
        assert.ok(y.data.subarray(0, 3).every(Number.isNaN));
        assert.ok(y.data.subarray(3).every(Number.isFinite));
      }
      assert.ok(Number.isNaN(logsumexp(x).data[0]) && Number.isFinite(logsumexp(x).data[1]));
      assert.ok(logSoftmax(x).data.subarray(0, 3).every(Number.isNaN));
    });
  }

  it('an empty axis: softmax is empty, logsumexp is −∞ (the log of an empty sum)', () => {
    const x = tensor([], [2, 0], { dtype: 'float64' });
    assert.deepEqual(softmax(x).shape, [2, 0]);
    assert.deepEqual(Array.from(logsumexp(x).data), [-Infinity, -Infinity]);
    assert.deepEqual(logsumexp(tensor([], [0, 3], { dtype: 'float32' })).shape, [0]);
  });
});
