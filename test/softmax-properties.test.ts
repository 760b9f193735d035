import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FLOAT_DTYPES, dtypeInfo, tensor, type FloatDType } from '../src/tensor/index.js';
import { logSoftmax, logsumexp, softmax } from '../src/softmax/index.js';
import { refSoftmax, roundoff, softmaxTolerance, uniformDouble } from './softmax-reference.js';

const RUNS = { numRuns: 80, seed: 7 };
const ALGORITHMS = ['safe', 'online'] as const;

/**
 * Grids on which x + c and x − max(x) are exact in each dtype, so shifting a
 * row must give bit-identical outputs: multiples of `step` up to `span`,
 * integer shifts up to `shift`; |x + c| and |x − m| then need at most the
 * dtype's significand bits (float16 11, bfloat16 8).
 */
const EXACT_GRID: Record<FloatDType, { step: number; span: number; shift: number }> = {
  float64: { step: 2 ** -10, span: 1000, shift: 1e6 },
  float32: { step: 2 ** -10, span: 1000, shift: 1e4 },
  float16: { step: 2 ** -2, span: 16, shift: 64 },
  bfloat16: { step: 2 ** -1, span: 8, shift: 32 },
};

/** Finite values of a dtype, including its extremes, ±1e30 where finite, and values far past ln(max). */
function extremeValue(dtype: FloatDType) {
  const { max, lnMax } = dtypeInfo(dtype);
  const big = Math.min(1e30, max);
  return fc.oneof(
    fc.double({ min: -max, max, noNaN: true }),
    uniformDouble(-4 * lnMax, 4 * lnMax),
    uniformDouble(-16, 16),
    fc.constantFrom(max, -max, big, -big, 0, lnMax * 3, -lnMax * 3),
  );
}

for (const dtype of FLOAT_DTYPES) {
  describe(`softmax properties [${dtype}]`, () => {
    const { u, uAcc } = roundoff(dtype);

    for (const algorithm of ALGORITHMS) {
      it(`${algorithm}: finite input, even extreme, gives finite output in [0, 1] summing to 1`, () => {
        fc.assert(
          fc.property(fc.array(extremeValue(dtype), { minLength: 1, maxLength: 16 }), (values) => {
            const x = tensor(values, [values.length], { dtype });
            assert.ok(x.data.every(Number.isFinite), 'the generator keeps inputs finite in the dtype');
            const y = softmax(x, { algorithm });
            const row = Array.from(x.data);
            for (const v of y.data) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `${v} from ${row}`);
            // |Σ yᵢ − 1| is at most the sum of the per-element bounds.
            const slack = softmaxTolerance(row, dtype, algorithm === 'online').reduce((a, b) => a + b, 0);
            const sum = Array.from(y.data).reduce((a, b) => a + b, 0);
            assert.ok(Math.abs(sum - 1) <= slack, `sum ${sum} from ${row}`);
            for (const v of logsumexp(x).data) assert.ok(Number.isFinite(v), `logsumexp ${v} from ${row}`);
          }),
          RUNS,
        );
      });

      it(`${algorithm}: softmax(x + c) equals softmax(x) bit for bit when x + c is exact`, () => {
        const { step, span, shift } = EXACT_GRID[dtype];
        const gridValue = fc.integer({ min: -span / step, max: span / step }).map((k) => k * step);
        fc.assert(
          fc.property(fc.array(gridValue, { minLength: 1, maxLength: 16 }), fc.integer({ min: -shift, max: shift }), (values, c) => {
            const x = tensor(values, [values.length], { dtype });
            const shifted = tensor(values.map((v) => v + c), [values.length], { dtype });
            assert.deepEqual(Array.from(shifted.data), values.map((v) => v + c), 'the shift is exact in the dtype');
            assert.deepEqual(Array.from(softmax(shifted, { algorithm }).data), Array.from(softmax(x, { algorithm }).data));
          }),
          RUNS,
        );
      });

      it(`${algorithm}: permuting a row permutes its softmax (up to the sum's order of rounding)`, () => {
        fc.assert(
          fc.property(
            fc.array(uniformDouble(-30, 30), { minLength: 1, maxLength: 16 }).chain((values) =>
              fc.tuple(fc.constant(values), fc.shuffledSubarray(values.map((_, i) => i), { minLength: values.length, maxLength: values.length })),
            ),
            ([values, perm]) => {
              const x = tensor(values, [values.length], { dtype });
              const px = tensor(perm.map((i) => x.data[i]), [values.length], { dtype });
              const y = softmax(x, { algorithm });
              const py = softmax(px, { algorithm });
              const n = values.length;
              const exact = refSoftmax(Array.from(x.data));
              // Reordering changes only the rounding of the sum (n·uAcc each way, more online) and so the division (u).
              perm.forEach((i, k) => {
                const tol = exact[i] * 2 * (2 * n * uAcc + 2 * u + (algorithm === 'online' ? 2 * n * n * uAcc : 0)) + 4 * dtypeInfo(dtype).minNormal * dtypeInfo(dtype).eps;
                assert.ok(Math.abs(py.data[k] - y.data[i]) <= tol, `position ${k} (from ${i}): ${py.data[k]} vs ${y.data[i]}`);
              });
            },
          ),
          RUNS,
        );
      });
    }

    it('online equals safe within both error bounds', () => {
      fc.assert(
        fc.property(fc.array(extremeValue(dtype), { minLength: 1, maxLength: 16 }), (values) => {
          const x = tensor(values, [values.length], { dtype });
          const row = Array.from(x.data);
          const safe = softmax(x).data;
          const online = softmax(x, { algorithm: 'online' }).data;
          const tolSafe = softmaxTolerance(row, dtype);
          const tolOnline = softmaxTolerance(row, dtype, true);
          row.forEach((_, i) => assert.ok(Math.abs(safe[i] - online[i]) <= tolSafe[i] + tolOnline[i], `element ${i} of ${row}: ${safe[i]} vs ${online[i]}`));
        }),
        RUNS,
      );
    });

    it('logSoftmax of finite input is never NaN, and finite where its true value is in range', () => {
      fc.assert(
        fc.property(fc.array(fc.oneof(uniformDouble(-dtypeInfo(dtype).max / 2, dtypeInfo(dtype).max / 2), fc.double({ min: -dtypeInfo(dtype).max / 2, max: dtypeInfo(dtype).max / 2, noNaN: true })), { minLength: 1, maxLength: 16 }), (values) => {
          const z = logSoftmax(tensor(values, [values.length], { dtype }));
          for (const v of z.data) assert.ok(Number.isFinite(v), `${v}`);
        }),
        RUNS,
      );
    });
  });
}
