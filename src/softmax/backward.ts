import type { FloatDType } from '../tensor/index.js';
import { dtypeArithmetic } from './arithmetic.js';
import type { StridedRow } from './rows.js';

/**
 * The vector-Jacobian product of softmax: with y = softmax(x) and dy = ∂L/∂y,
 *
 *   ∂L/∂xᵢ = yᵢ (dyᵢ − Σⱼ yⱼ dyⱼ)
 *
 * since ∂yⱼ/∂xᵢ = yⱼ (δᵢⱼ − yᵢ). The Jacobian is symmetric, so this is also
 * the JVP. Products and differences round to storage, the sum accumulates
 * (arithmetic.ts). A fully masked row (y all 0) gets a zero gradient.
 * `out` may be `dy` or `y`: each element is read before it is written.
 */
export function softmaxBackwardRow(y: StridedRow, dy: StridedRow, out: StridedRow, dtype: FloatDType): void {
  const { store, accumulate } = dtypeArithmetic(dtype);
  const { length } = y;
  const yd = y.data;
  const dd = dy.data;
  let s = 0;
  for (let i = 0, p = y.offset, r = dy.offset; i < length; i++, p += y.stride, r += dy.stride) {
    s = accumulate(s + store(yd[p] * dd[r]));
  }
  const o = out.data;
  for (let i = 0, p = y.offset, r = dy.offset, q = out.offset; i < length; i++, p += y.stride, r += dy.stride, q += out.stride) {
    o[q] = store(yd[p] * store(dd[r] - s));
  }
}

/**
 * The vector-Jacobian product of logSoftmax: with z = logSoftmax(x) and
 * dz = ∂L/∂z,
 *
 *   ∂L/∂xᵢ = dzᵢ − exp(zᵢ) Σⱼ dzⱼ
 *
 * since ∂zⱼ/∂xᵢ = δᵢⱼ − softmax(x)ᵢ. A fully masked row (z all −∞) gets a
 * zero gradient, as softmaxBackward and attention give: its softmax is zeros
 * by definition here, a constant, so nothing flows back to x. (The formula
 * alone would pass dz through unchanged, exp(−∞) being 0.) In a row with a
 * finite entry the formula holds everywhere. `out` may be `z` or `dz`.
 */
export function logSoftmaxBackwardRow(z: StridedRow, dz: StridedRow, out: StridedRow, dtype: FloatDType): void {
  const { store, accumulate } = dtypeArithmetic(dtype);
  const { length } = z;
  const zd = z.data;
  const dd = dz.data;
  let s = 0;
  let masked = true;
  for (let i = 0, p = z.offset, r = dz.offset; i < length; i++, p += z.stride, r += dz.stride) {
    s = accumulate(s + dd[r]);
    if (zd[p] !== -Infinity) masked = false;
  }
  const o = out.data;
  for (let i = 0, p = z.offset, r = dz.offset, q = out.offset; i < length; i++, p += z.stride, r += dz.stride, q += out.stride) {
    o[q] = masked ? 0 : store(dd[r] - store(store(Math.exp(zd[p])) * s));
  }
}
