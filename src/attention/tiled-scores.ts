import type { AttentionProblem } from './problem.js';
import { endKey, firstKey } from './visible.js';

/**
 * Turns a block of scaled scores t = scale · q·k (rows i0.., columns j0..,
 * row stride ld) of head h of batch element b into the scores the softmax
 * sees, in the contract's order:
 *
 *   softcap:  t = c · tanh(t / c)          (capSlope, when given, gets 1 − tanh²: dt_capped/dt)
 *   ALiBi:    t −= slope_h · |i + off − j|
 *   attnMask: + M (additive) or −∞ where a bool mask is false
 *   causal, window, keyLengths: −∞ outside [firstKey(i), endKey(i))
 *
 * Only rows whose visible interval cuts the block pay for the last step.
 */
export function adjustScoreBlock(
  p: AttentionProblem, b: number, h: number, off: number, maskOff: number,
  scores: Float64Array, ld: number, i0: number, br: number, j0: number, bc: number,
  capSlope: Float64Array | null,
): void {
  const { softcap, alibi, mask } = p;
  if (softcap > 0) {
    // A division, not a product with 1 / softcap: below 5.6e-309 that is +∞, and 0 · ∞ = NaN for a score of 0.
    for (let r = 0; r < br; r++) {
      for (let c = 0, at = r * ld; c < bc; c++, at++) {
        const t = Math.tanh(scores[at] / softcap);
        scores[at] = softcap * t;
        if (capSlope) capSlope[at] = 1 - t * t;
      }
    }
  }
  if (alibi) {
    const slope = alibi[h];
    for (let r = 0; r < br; r++) {
      const diag = i0 + r + off;
      for (let c = 0, at = r * ld; c < bc; c++, at++) scores[at] -= slope * Math.abs(diag - j0 - c);
    }
  }
  if (mask) {
    const { data, rowStride, colStride } = mask;
    if (mask.kind === 'bool') {
      for (let r = 0; r < br; r++) {
        let mi = maskOff + (i0 + r) * rowStride + j0 * colStride;
        for (let c = 0, row = r * ld; c < bc; c++, mi += colStride) if (data[mi] === 0) scores[row + c] = -Infinity;
      }
    } else {
      for (let r = 0; r < br; r++) {
        let mi = maskOff + (i0 + r) * rowStride + j0 * colStride;
        for (let c = 0, row = r * ld; c < bc; c++, mi += colStride) scores[row + c] += data[mi];
      }
    }
  }
  if (p.causal || p.window !== null || p.keyLengths !== null) {
    for (let r = 0; r < br; r++) {
      const row = r * ld;
      const lo = Math.min(bc, Math.max(0, firstKey(p, off, i0 + r) - j0));
      const hi = Math.max(lo, Math.min(bc, endKey(p, b, off, i0 + r) - j0));
      if (lo > 0) scores.fill(-Infinity, row, row + lo);
      if (hi < bc) scores.fill(-Infinity, row + hi, row + bc);
    }
  }
}
