import type { FloatDType } from '../tensor/index.js';
import { dtypeArithmetic } from './arithmetic.js';
import type { StridedRow } from './rows.js';
import { softmaxSpecialRow } from './special-rows.js';

/**
 * The same softmax in one pass over the input for the statistics (Milakov &
 * Gimelshein 2018; the heart of FlashAttention), then one pass to write:
 *
 *   m ← max(m, xᵢ),   l ← l · exp(m_old − m) + exp(xᵢ − m)
 *   softmax(x)ᵢ = exp(xᵢ − m) / l
 *
 * When the running max grows, the sum so far is rescaled by exp(m_old − m) ≤ 1,
 * so every exponent stays ≤ 0 as in the safe softmax. m and l are accumulator
 * values (float32 for half dtypes); each term is rounded as in softmaxRowSafe,
 * so the two differ only by the roundings of the rescale factors.
 * Special rows (NaN, all −∞, +∞ entries) as in special-rows.ts. `out` may be `x`.
 */
export function softmaxRowOnline(x: StridedRow, out: StridedRow, dtype: FloatDType): void {
  const { store, accumulate } = dtypeArithmetic(dtype);
  const { data, offset, length, stride } = x;
  let m = -Infinity;
  let l = 0;
  let sawNaN = false;
  for (let i = 0, p = offset; i < length; i++, p += stride) {
    const v = data[p];
    if (v > m) {
      // exp(−∞) = 0 drops the empty sum at the first finite entry; exp(m − ∞) = 0 restarts it at +∞.
      l = accumulate(accumulate(l * accumulate(Math.exp(accumulate(m - v)))) + 1);
      m = v;
    } else if (v > -Infinity) {
      l = accumulate(l + store(Math.exp(store(v - m))));
    } else if (v !== v) {
      sawNaN = true;
    }
  }
  if (softmaxSpecialRow(x, out, sawNaN ? NaN : m, store)) return;
  const o = out.data;
  for (let i = 0, p = offset, q = out.offset; i < length; i++, p += stride, q += out.stride) {
    o[q] = store(store(Math.exp(store(data[p] - m))) / l);
  }
}
