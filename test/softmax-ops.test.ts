import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FLOAT_DTYPES, dtypeInfo, rounder, tensor, type FloatDType, type Tensor } from '../src/tensor/index.js';
import { logSoftmax, logSoftmaxBackward, logsumexp, softmax, softmaxBackward } from '../src/softmax/index.js';
import {
  assertClose, logSoftmaxTolerance, logsumexpTolerance, refLogSoftmax, refLogsumexp, refSoftmax, refSoftmaxBackward,
  roundoff, softmaxBackwardTolerance, softmaxTolerance, uniformDouble,
} from './softmax-reference.js';

/** A batch of `rows` rows of length `n`, values up to ±scale (clipped to the dtype's range), stored in the dtype. */
function batchOf(dtype: FloatDType) {
  const max = dtypeInfo(dtype).max;
  return fc
    .record({
      rows: fc.integer({ min: 1, max: 4 }),
      n: fc.integer({ min: 1, max: 12 }),
      scale: fc.constantFrom(1, 8, 100, 1e4, 1e30, max),
    })
    .chain(({ rows, n, scale }) =>
      fc
        .array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: rows * n, maxLength: rows * n })
        .map((unit) => tensor(unit.map((v) => Math.max(-max, Math.min(max, v * scale))), [rows, n], { dtype })),
    );
}

/** The rows of a [rows, n] tensor as plain arrays of the stored values. */
function rowsOf(t: Tensor): number[][] {
  const [rows, n] = t.shape;
  return Array.from({ length: rows }, (_, r) => Array.from(t.data.subarray(r * n, (r + 1) * n)));
}

/** Every value is one the dtype can hold: the kernel rounded its last op to storage. */
function assertStored(t: Tensor, dtype: FloatDType): void {
  const round = rounder(dtype);
  for (const v of t.data) assert.ok(Object.is(round(v), v), `${v} is not a ${dtype} value`);
}

const RUNS = { numRuns: 60, seed: 20261128 };

for (const dtype of FLOAT_DTYPES) {
  describe(`softmax family vs the float64 reference [${dtype}]`, () => {
    for (const algorithm of ['safe', 'online'] as const) {
      it(`softmax (${algorithm}) is within the dtype's error bound`, () => {
        fc.assert(
          fc.property(batchOf(dtype), (x) => {
            const y = softmax(x, { algorithm });
            assert.equal(y.dtype, dtype);
            assert.deepEqual(y.shape, x.shape);
            assertStored(y, dtype);
            rowsOf(x).forEach((row, r) => {
              const n = row.length;
              assertClose(y.data.subarray(r * n, (r + 1) * n), refSoftmax(row), softmaxTolerance(row, dtype, algorithm === 'online'), `row ${r} of ${JSON.stringify(row)}`);
            });
          }),
          RUNS,
        );
      });
    }

    it('naive softmax matches the reference where nothing overflows (logits in [-8, 8])', () => {
      fc.assert(
        fc.property(fc.array(uniformDouble(-8, 8), { minLength: 1, maxLength: 12 }), (values) => {
          const x = tensor(values, [values.length], { dtype });
          const row = Array.from(x.data);
          // Without the shift each term has |dⱼ| = |xⱼ| instead of |xⱼ − m|; bound it with a row holding 0 as its max.
          const tol = softmaxTolerance([...row.map((v) => -Math.abs(v)), 0], dtype).slice(0, row.length).map((t, i) => t + softmaxTolerance(row, dtype)[i]);
          assertClose(softmax(x, { algorithm: 'naive' }).data, refSoftmax(row), tol, JSON.stringify(row));
        }),
        RUNS,
      );
    });

    it('logsumexp removes the axis and is within the error bound', () => {
      fc.assert(
        fc.property(batchOf(dtype), (x) => {
          const lse = logsumexp(x);
          assertStored(lse, dtype);
          assert.deepEqual(lse.shape, [x.shape[0]]);
          assert.equal(lse.dtype, dtype);
          rowsOf(x).forEach((row, r) => {
            assertClose([lse.data[r]], [refLogsumexp(row)], [logsumexpTolerance(row, dtype)], JSON.stringify(row));
          });
        }),
        RUNS,
      );
    });

    it('logSoftmax is within the error bound', () => {
      fc.assert(
        fc.property(batchOf(dtype), (x) => {
          const z = logSoftmax(x);
          assertStored(z, dtype);
          rowsOf(x).forEach((row, r) => {
            const n = row.length;
            const expected = refLogSoftmax(row);
            // A true value beyond the dtype's range rounds to −∞, as the hardware would.
            const representable = expected.map((v) => (rounder(dtype)(v) === -Infinity ? -Infinity : v));
            assertClose(z.data.subarray(r * n, (r + 1) * n), representable, logSoftmaxTolerance(row, dtype), JSON.stringify(row));
          });
        }),
        RUNS,
      );
    });

    it('softmaxBackward is within the error bound', () => {
      fc.assert(
        fc.property(batchOf(dtype), fc.integer({ min: 0, max: 1000 }), (x, salt) => {
          const y = softmax(x);
          const dyValues = Array.from(x.data, (_, i) => Math.sin(i * 12.9898 + salt) * 4);
          const dy = tensor(dyValues, x.shape, { dtype });
          const dx = softmaxBackward(y, dy);
          assertStored(dx, dtype);
          const [rows, n] = x.shape;
          for (let r = 0; r < rows; r++) {
            const yr = Array.from(y.data.subarray(r * n, (r + 1) * n));
            const dyr = Array.from(dy.data.subarray(r * n, (r + 1) * n));
            assertClose(dx.data.subarray(r * n, (r + 1) * n), refSoftmaxBackward(yr, dyr), softmaxBackwardTolerance(yr, dyr, dtype), `y ${yr} dy ${dyr}`);
          }
        }),
        RUNS,
      );
    });

    it('logSoftmaxBackward is dz − exp(z)·Σdz within the error bound', () => {
      const { u, uAcc, tiny } = roundoff(dtype);
      fc.assert(
        fc.property(batchOf(dtype), fc.integer({ min: 0, max: 1000 }), (x, salt) => {
          const z = logSoftmax(x);
          const dz = tensor(Array.from(x.data, (_, i) => Math.cos(i * 7.1 + salt) * 3), x.shape, { dtype });
          const dx = logSoftmaxBackward(z, dz);
          assertStored(dx, dtype);
          const [rows, n] = x.shape;
          for (let r = 0; r < rows; r++) {
            const zr = Array.from(z.data.subarray(r * n, (r + 1) * n));
            const dzr = Array.from(dz.data.subarray(r * n, (r + 1) * n));
            const s = dzr.reduce((a, b) => a + b, 0);
            const sAbs = dzr.reduce((a, b) => a + Math.abs(b), 0);
            const expected = zr.map((zi, i) => dzr[i] - Math.exp(zi) * s);
            // exp(zᵢ) rounds twice (u·|zᵢ| from the argument, u itself), the sum n·uAcc, the product and difference once each.
            const tol = zr.map((zi, i) => 2 * (Math.exp(zi) * (Math.abs(s) * u * (Math.abs(zi) + 3) + n * uAcc * sAbs) + u * Math.abs(expected[i])) + 2 * tiny);
            assertClose(dx.data.subarray(r * n, (r + 1) * n), expected, tol, `z ${zr} dz ${dzr}`);
          }
        }),
        RUNS,
      );
    });
  });
}

describe('softmax family along an axis other than the last', () => {
  const shape = [2, 3, 4];
  const values = Array.from({ length: 24 }, (_, i) => Math.cos(i * 1.7) * 5 + (i % 5));
  /** x[i][j][k] by nested indexing, independent of any stride arithmetic. */
  const nested = tensor(values, shape, { dtype: 'float64' }).toArray() as number[][][];
  const at = (t: Tensor, i: number, j: number, k: number): number => (t.toArray() as number[][][])[i][j][k];
  /** The line of indices along `axis` through (i, j, k). */
  const line = (axis: number, i: number, j: number, k: number): [number, number, number][] =>
    Array.from({ length: shape[axis] }, (_, t) => (axis === 0 ? [t, j, k] : axis === 1 ? [i, t, k] : [i, j, t]));

  for (const axis of [0, 1, 2, -1, -2, -3]) {
    const a = axis < 0 ? axis + 3 : axis;
    it(`axis ${axis}: softmax, logSoftmax, logsumexp and softmaxBackward per line`, () => {
      const x = tensor(values, shape, { dtype: 'float64' });
      const y = softmax(x, { axis });
      const yOnline = softmax(x, { axis, algorithm: 'online' });
      const z = logSoftmax(x, { axis });
      const lse = logsumexp(x, { axis });
      const dy = tensor(values.map((v) => v * v - 3), shape, { dtype: 'float64' });
      const dx = softmaxBackward(y, dy, { axis });
      assert.deepEqual(lse.shape, shape.filter((_, d) => d !== a));
      const lseNested = lse.toArray() as number[][];
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) {
        const idx = line(a, i, j, k);
        const row = idx.map(([p, q, r]) => nested[p][q][r]);
        const pos = a === 0 ? i : a === 1 ? j : k;
        const ref = refSoftmax(row)[pos];
        const tol = softmaxTolerance(row, 'float64')[pos];
        assert.ok(Math.abs(at(y, i, j, k) - ref) <= tol, `softmax at ${[i, j, k]}`);
        assert.ok(Math.abs(at(yOnline, i, j, k) - ref) <= softmaxTolerance(row, 'float64', true)[pos], `online at ${[i, j, k]}`);
        assert.ok(Math.abs(at(z, i, j, k) - refLogSoftmax(row)[pos]) <= logSoftmaxTolerance(row, 'float64')[pos], `logSoftmax at ${[i, j, k]}`);
        const yRow = idx.map(([p, q, r]) => at(y, p, q, r));
        const dyRow = idx.map(([p, q, r]) => at(dy, p, q, r));
        assert.ok(Math.abs(at(dx, i, j, k) - refSoftmaxBackward(yRow, dyRow)[pos]) <= softmaxBackwardTolerance(yRow, dyRow, 'float64')[pos], `softmaxBackward at ${[i, j, k]}`);
        const kept = [i, j, k].filter((_, d) => d !== a);
        assert.ok(Math.abs(lseNested[kept[0]][kept[1]] - refLogsumexp(row)) <= logsumexpTolerance(row, 'float64'), `logsumexp at ${kept}`);
      }
    });
  }
});
