import type { FloatDType } from '../tensor/index.js';
import { dtypeArithmetic } from './arithmetic.js';
import type { StridedRow } from './rows.js';

/**
 * softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ), exactly as written, with no guard.
 *
 * Kept on purpose so the lab can show what the max subtraction prevents. It
 * fails as the hardware does, in the dtype's own arithmetic (arithmetic.ts):
 * - exp(xᵢ) rounds to +∞ once xᵢ > ln(max of the dtype) (float32 ≈ 88.72,
 *   float16 ≈ 11.09, bfloat16 ≈ 88.72, float64 ≈ 709.78), and ∞/∞ gives NaN;
 * - a sum that overflows while each term is finite turns every output to 0;
 * - when every exp(xⱼ) underflows to 0 (all logits very negative, or a fully
 *   masked row), 0/0 gives NaN.
 * Use softmaxRowSafe or softmaxRowOnline for real work. `out` may be `x`.
 */
export function softmaxRowNaive(x: StridedRow, out: StridedRow, dtype: FloatDType): void {
  const { store, accumulate } = dtypeArithmetic(dtype);
  const { data, offset, length, stride } = x;
  const o = out.data;
  let l = 0;
  for (let i = 0, p = offset, q = out.offset; i < length; i++, p += stride, q += out.stride) {
    const e = store(Math.exp(data[p]));
    o[q] = e;
    l = accumulate(l + e);
  }
  for (let i = 0, q = out.offset; i < length; i++, q += out.stride) o[q] = store(o[q] / l);
}
