import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { roundBfloat16, roundFloat16, tensor, type FloatDType } from '../src/tensor/index.js';
import { softmax } from '../src/softmax/index.js';
import { uniformDouble } from './softmax-reference.js';

/**
 * The dtype policy, emulated step by step as half-precision hardware runs it:
 * every elementwise result (x − m, exp, the quotient) rounds to the storage
 * format, the running sum is float32. The library must give these bits exactly,
 * so the lab's float16/bfloat16 figures are the hardware's, not float64's.
 */
const HALF: Record<'float16' | 'bfloat16', (v: number) => number> = { float16: roundFloat16, bfloat16: roundBfloat16 };

function emulatedSafe(x: number[], store: (v: number) => number): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => store(Math.exp(store(v - m))));
  let l = 0;
  for (const v of e) l = Math.fround(l + v);
  return e.map((v) => store(v / l));
}

/** One pass for m and l (l rescaled by exp(m_old − m) in float32 when m grows), one to write. */
function emulatedOnline(x: number[], store: (v: number) => number): number[] {
  const f = Math.fround;
  let m = -Infinity;
  let l = 0;
  for (const v of x) {
    if (v > m) {
      l = f(f(l * f(Math.exp(f(m - v)))) + 1);
      m = v;
    } else {
      l = f(l + store(Math.exp(store(v - m))));
    }
  }
  return x.map((v) => store(store(Math.exp(store(v - m))) / l));
}

function emulatedNaive(x: number[], store: (v: number) => number): number[] {
  const e = x.map((v) => store(Math.exp(v)));
  let l = 0;
  for (const v of e) l = Math.fround(l + v);
  return e.map((v) => store(v / l));
}

describe('half dtypes compute as the hardware does: storage rounding per op, float32 accumulation', () => {
  for (const dtype of Object.keys(HALF) as (keyof typeof HALF)[]) {
    it(`${dtype}: safe, online and naive softmax reproduce the emulation bit for bit`, () => {
      const store = HALF[dtype];
      fc.assert(
        fc.property(fc.array(uniformDouble(-20, 20), { minLength: 1, maxLength: 40 }), (values) => {
          const x = tensor(values, [values.length], { dtype: dtype as FloatDType });
          const row = Array.from(x.data);
          assert.deepEqual(Array.from(softmax(x).data), emulatedSafe(row, store));
          assert.deepEqual(Array.from(softmax(x, { algorithm: 'online' }).data), emulatedOnline(row, store));
          assert.deepEqual(Array.from(softmax(x, { algorithm: 'naive' }).data), emulatedNaive(row, store));
        }),
        { numRuns: 100, seed: 3 },
      );
    });
  }

  it('float16 accumulation really is float32: 4096 equal terms sum past float16 precision', () => {
    // 4096 zeros: each term is exactly 1; a float16 sum would stall at 2048 (2048 + 1 rounds to 2048), float32 reaches 4096.
    const y = softmax(tensor(new Array(4096).fill(0), [4096], { dtype: 'float16' }));
    assert.equal(y.data[0], roundFloat16(1 / 4096));
  });
});
