import { rounder, type FloatDType } from '../tensor/index.js';

/**
 * How a softmax-family kernel computes in a dtype, as the hardware it imitates does:
 *
 * - `store` rounds the result of each elementwise op (x − m, exp, the division,
 *   a product) to the dtype's storage format.
 * - `accumulate` rounds each step of a reduction (the running sum, the running
 *   max's rescale factor, log of the sum) to the accumulator format.
 *
 * float64: both exact float64. float32: both float32 (Math.fround after every
 * op). float16 and bfloat16: storage rounds to the half format, accumulation is
 * float32, as GPU kernels accumulate half tensors.
 *
 * Each op is done in float64 and rounded once. For +, −, ×, ÷ of float32 values
 * that gives exactly the IEEE float32 result; for exp and log it gives the
 * correctly rounded value, where float32 hardware libraries are within 1–2 ulp.
 * The rounding of exp(x) is what makes the naive softmax overflow exactly where
 * the dtype does: exp(x) rounds to +Infinity once x > ln(max) (float32 ≈ 88.72,
 * float16 ≈ 11.09, bfloat16 ≈ 88.72).
 */
export interface DTypeArithmetic {
  dtype: FloatDType;
  store: (x: number) => number;
  accumulate: (x: number) => number;
}

const ARITHMETIC: Record<FloatDType, DTypeArithmetic> = {
  float64: { dtype: 'float64', store: rounder('float64'), accumulate: rounder('float64') },
  float32: { dtype: 'float32', store: Math.fround, accumulate: Math.fround },
  float16: { dtype: 'float16', store: rounder('float16'), accumulate: Math.fround },
  bfloat16: { dtype: 'bfloat16', store: rounder('bfloat16'), accumulate: Math.fround },
};

/** How the softmax kernels compute in `dtype`: the rounding of each elementwise op and of each reduction step (see DTypeArithmetic). */
export function dtypeArithmetic(dtype: FloatDType): DTypeArithmetic {
  return ARITHMETIC[dtype];
}
