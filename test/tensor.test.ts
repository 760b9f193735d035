import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ScaledotError, Tensor, dtypeInfo, randn, roundBfloat16, roundFloat16, tensor, zeros, broadcastShapes,
} from '../src/tensor/index.js';

/** bfloat16 by bit manipulation of a float32 (round to nearest even on the dropped 16 bits): an independent oracle. */
function bf16FromBits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  if (Number.isNaN(x)) return NaN;
  const lsb = (u[0] >>> 16) & 1;
  u[0] = ((u[0] + 0x7fff + lsb) >>> 16) << 16;
  return f[0];
}

/** float16 decoded from every 16-bit pattern: the full list of representable values. */
function allFloat16(): number[] {
  const out: number[] = [];
  for (let h = 0; h < 0x7c00; h++) {
    const e = h >> 10;
    const m = h & 0x3ff;
    out.push(e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15));
  }
  return out;
}

describe('dtypes', () => {
  it('has the IEEE constants of each format', () => {
    assert.equal(dtypeInfo('float16').max, 65504);
    assert.equal(dtypeInfo('float16').eps, 2 ** -10);
    assert.equal(dtypeInfo('bfloat16').eps, 2 ** -7);
    assert.equal(dtypeInfo('float32').max, 3.4028234663852886e38);
    assert.ok(Math.abs(dtypeInfo('float32').lnMax - 88.7228) < 1e-4);
    assert.ok(Math.abs(dtypeInfo('float16').lnMax - 11.0898) < 1e-4);
  });

  it('float16 rounding maps every representable value to itself and overflows like hardware', () => {
    for (const v of allFloat16()) {
      assert.equal(roundFloat16(v), v);
      assert.equal(roundFloat16(-v), -v);
    }
    assert.equal(roundFloat16(65519.99), 65504);
    assert.equal(roundFloat16(65520), Infinity);
    assert.equal(roundFloat16(-1e6), -Infinity);
    assert.equal(roundFloat16(1 + 2 ** -11), 1); // tie → even mantissa
    assert.equal(roundFloat16(1 + 3 * 2 ** -11), 1 + 2 ** -9); // tie → even mantissa
    assert.equal(roundFloat16(2 ** -25), 0); // half the smallest subnormal: tie → 0
    assert.equal(roundFloat16(1.5 * 2 ** -25), 2 ** -24);
    assert.ok(Number.isNaN(roundFloat16(NaN)));
  });

  it('float16 rounding picks the nearest representable value', () => {
    const values = allFloat16();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: values.length - 2 }), fc.double({ min: 0, max: 1, noNaN: true }), (i, t) => {
        const x = values[i] + t * (values[i + 1] - values[i]);
        const r = roundFloat16(x);
        assert.ok(r === values[i] || r === values[i + 1]);
        assert.ok(Math.abs(r - x) <= Math.abs(values[i] + values[i + 1] - r - x) + 0);
      }),
    );
  });

  it('bfloat16 rounding agrees with bit-level round-to-nearest-even on float32 inputs', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
        assert.equal(roundBfloat16(x), bf16FromBits(x));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('tensor', () => {
  it('stores by dtype and rounds half dtypes', () => {
    const t = tensor([1, 2, 3.0004, 70000], [2, 2], { dtype: 'float16' });
    assert.ok(t.data instanceof Float32Array);
    assert.deepEqual(Array.from(t.data), [1, 2, 3, Infinity]);
    assert.ok(tensor([1], [1], { dtype: 'float64' }).data instanceof Float64Array);
    assert.deepEqual(Array.from(tensor([0, 2, 1], [3], { dtype: 'bool' }).data), [0, 1, 1]);
    assert.equal(tensor([1]).dtype, 'float32');
  });

  it('infers shapes from nested arrays and round-trips toArray', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  });

  it('rejects bad shapes and lengths with ScaledotError', () => {
    const code = (f: () => unknown, c: string) => assert.throws(f, (e: unknown) => e instanceof ScaledotError && e.code === c);
    code(() => tensor([1, 2, 3], [2, 2]), 'E_SHAPE');
    code(() => tensor([1, 2], [2.5]), 'E_SHAPE');
    code(() => tensor([1, 2], [-2]), 'E_SHAPE');
    code(() => zeros([2, NaN]), 'E_SHAPE');
    code(() => tensor([1], [1], { dtype: 'int8' as never }), 'E_DTYPE');
    code(() => tensor([[1, 2], [3]]), 'E_SHAPE');
    code(() => new Tensor(new Float64Array(3), [3], 'float32'), 'E_DTYPE');
  });

  it('randn is reproducible and has the asked moments', () => {
    const a = randn([20000], { seed: 7, std: 2, dtype: 'float64' });
    const b = randn([20000], { seed: 7, std: 2, dtype: 'float64' });
    const c = randn([20000], { seed: 8, std: 2, dtype: 'float64' });
    assert.deepEqual(a.data, b.data);
    assert.notDeepEqual(a.data, c.data);
    const n = a.size;
    const xs = Array.from(a.data);
    const mean = xs.reduce((s, v) => s + v, 0) / n;
    const variance = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
    // Standard errors: mean 2/sqrt(n) ≈ 0.014, variance 4*sqrt(2/n) ≈ 0.04; allow 5 of them.
    assert.ok(Math.abs(mean) < 5 * 2 / Math.sqrt(n));
    assert.ok(Math.abs(variance - 4) < 5 * 4 * Math.sqrt(2 / n));
  });

  it('broadcasts shapes like NumPy', () => {
    assert.deepEqual(broadcastShapes([3, 1, 5], [4, 5]), [3, 4, 5]);
    assert.equal(broadcastShapes([3, 2], [4, 2]), null);
  });
});
