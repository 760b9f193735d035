import { ScaledotError, formatShape } from '../tensor/index.js';
import { Var, allocLike } from './autograd.js';

/**
 * Adaptive temperature (Veličković et al. 2024, "softmax is not enough", their
 * listing): at inference, a row whose attention entropy H exceeds 0.5 nats has
 * its logits multiplied by β(H) = max(poly(H), 1), where poly is their degree-4
 * fit of the inverse temperature that restores a sharp row's entropy:
 *
 *   poly(H) = −0.037 H⁴ + 0.481 H³ − 2.3 H² + 4.917 H − 1.791
 *
 * β ≥ 1 never flattens a row; rows at H ≤ 0.5 are left alone. An inference-time
 * transform: the result carries no gradient (it is never trained through).
 * x: [..., S] logits with −∞ where masked.
 */
export const ADAPTIVE_POLY = [-0.037, 0.481, -2.3, 4.917, -1.791] as const;

/** β(H): 1 for a row of entropy H ≤ 0.5 nats, else max(poly(H), 1) (see ADAPTIVE_POLY). */
export function adaptiveInverseTemperature(entropy: number): number {
  if (!(entropy > 0.5)) return 1;
  const poly = ADAPTIVE_POLY.reduce((acc, c) => acc * entropy + c, 0);
  return Math.max(poly, 1);
}

/** x [..., S] with every row's logits multiplied by β of its own entropy; no gradient flows through. */
export function adaptiveTemperature(x: Var): Var {
  if (x.shape.length < 1) throw new ScaledotError('E_SHAPE', `adaptiveTemperature: x has shape ${formatShape(x.shape)}; expected [..., S]`);
  const s = x.shape[x.shape.length - 1];
  const out = allocLike(x.data, x.size);
  for (let o = 0; o < x.size; o += s) {
    let m = -Infinity;
    for (let j = 0; j < s; j++) if (x.data[o + j] > m) m = x.data[o + j];
    let l = 0;
    for (let j = 0; j < s; j++) l += Math.exp(x.data[o + j] - m);
    // H = ln l − Σ pⱼ (xⱼ − m): no per-entry log, and exact for masked (p = 0) entries.
    let mean = 0;
    for (let j = 0; j < s; j++) {
      const p = Math.exp(x.data[o + j] - m) / l;
      if (p > 0) mean += p * (x.data[o + j] - m);
    }
    const beta = m === -Infinity ? 1 : adaptiveInverseTemperature(Math.log(l) - mean);
    for (let j = 0; j < s; j++) out[o + j] = x.data[o + j] * beta;
  }
  return new Var(out, x.shape, false);
}
