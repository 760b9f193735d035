import type { FloatDType } from '../tensor/index.js';
import { dtypeArithmetic } from './arithmetic.js';
import type { StridedRow } from './rows.js';
import { rowMax, softmaxSpecialRow } from './special-rows.js';

/**
 * softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m),   m = maxⱼ xⱼ
 *
 * Subtracting m changes nothing mathematically, keeps every exponent ≤ 0 (no
 * overflow in any dtype) and makes one term exactly 1 (the sum cannot
 * underflow to 0, so no 0/0). Finite input gives finite output in [0, 1].
 * Rows with a non-finite max follow special-rows.ts: a fully masked (all −∞)
 * row gives zeros. Arithmetic follows the dtype policy of arithmetic.ts.
 * `out` may be `x` itself.
 */
export function softmaxRowSafe(x: StridedRow, out: StridedRow, dtype: FloatDType): void {
  const { store, accumulate } = dtypeArithmetic(dtype);
  const m = rowMax(x);
  if (softmaxSpecialRow(x, out, m, store)) return;
  const { data, offset, length, stride } = x;
  const o = out.data;
  let l = 0;
  for (let i = 0, p = offset, q = out.offset; i < length; i++, p += stride, q += out.stride) {
    const e = store(Math.exp(store(data[p] - m)));
    o[q] = e;
    l = accumulate(l + e);
  }
  for (let i = 0, q = out.offset; i < length; i++, q += out.stride) o[q] = store(o[q] / l);
}
