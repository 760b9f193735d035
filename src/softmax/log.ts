import type { FloatDType } from '../tensor/index.js';
import { dtypeArithmetic, type DTypeArithmetic } from './arithmetic.js';
import type { StridedRow } from './rows.js';
import { logSoftmaxSpecialRow, rowMax } from './special-rows.js';

/** l = Σⱼ exp(xⱼ − m), each term rounded as in softmaxRowSafe; ≥ 1 when m is the finite row max. */
function shiftedSum(x: StridedRow, m: number, { store, accumulate }: DTypeArithmetic): number {
  const { data, offset, length, stride } = x;
  let l = 0;
  for (let i = 0, p = offset; i < length; i++, p += stride) l = accumulate(l + store(Math.exp(store(data[p] - m))));
  return l;
}

/**
 * logsumexp(x) = m + ln Σⱼ exp(xⱼ − m),   m = maxⱼ xⱼ
 *
 * The sum is ≥ 1 (the max term is exactly 1), so its log is ≥ 0 and finite.
 * Returns the value in the accumulator format (float64 for float64, float32
 * otherwise); the tensor op rounds it to the dtype. All −∞ (or empty): −∞;
 * any +∞: +∞; any NaN: NaN.
 */
export function logsumexpRow(x: StridedRow, dtype: FloatDType): number {
  const arithmetic = dtypeArithmetic(dtype);
  const m = rowMax(x);
  if (!Number.isFinite(m)) return m;
  const { accumulate } = arithmetic;
  return accumulate(m + accumulate(Math.log(shiftedSum(x, m, arithmetic))));
}

/**
 * logSoftmax(x)ᵢ = (xᵢ − m) − ln Σⱼ exp(xⱼ − m)
 *
 * Computed as a difference of logs rather than log(softmax(x)), which would
 * give −∞ wherever softmax underflows. Finite input gives finite output unless
 * the true value lies outside the dtype's range (e.g. float16 −60000 − 60000).
 * Special rows: all −∞ gives −∞ everywhere; k entries +∞ give −ln k there and
 * −∞ elsewhere; NaN gives NaN. `out` may be `x`.
 */
export function logSoftmaxRow(x: StridedRow, out: StridedRow, dtype: FloatDType): void {
  const arithmetic = dtypeArithmetic(dtype);
  const { store, accumulate } = arithmetic;
  const m = rowMax(x);
  if (logSoftmaxSpecialRow(x, out, m, store)) return;
  const logL = accumulate(Math.log(shiftedSum(x, m, arithmetic)));
  const { data, offset, length, stride } = x;
  const o = out.data;
  for (let i = 0, p = offset, q = out.offset; i < length; i++, p += stride, q += out.stride) {
    o[q] = store(store(data[p] - m) - logL);
  }
}
