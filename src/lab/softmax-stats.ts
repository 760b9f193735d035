import { Tensor } from '../tensor/index.js';
import { softmax } from '../softmax/index.js';

/** Per-row figures of a batch of softmax rows [rows, n]. */
export interface SoftmaxRowStats {
  maxProb: Float64Array;
  /** 1 − max p, summed from the other probabilities: exact even when max p rounds to 1. */
  gapToOneHot: Float64Array;
  /** −Σ p ln p in nats: 0 for one-hot, ln n for uniform. */
  entropy: Float64Array;
  /** Frobenius norm of the softmax Jacobian diag(p) − p pᵀ. */
  jacobianNorm: Float64Array;
}

/** softmax of float64 logits [rows, n] by the library (safe algorithm), as a flat array. */
export function softmaxRows(logits: Float64Array, rows: number, n: number): Float64Array {
  return softmax(new Tensor(logits, [rows, n], 'float64')).data as Float64Array;
}

/**
 * ‖diag(p) − ppᵀ‖_F² = Σᵢ pᵢ²(1 − pᵢ)² + Σ_{i≠j} pᵢ²pⱼ².
 *
 * Written around the top probability t so nothing cancels when p is nearly
 * one-hot (the regime the lab is about): 1 − p_t = Σ_{j≠t} pⱼ, and
 * Σ_{i≠j} pᵢ²pⱼ² = 2 p_t² R₂ + (R₂² − R₄) with R_k = Σ_{j≠t} pⱼᵏ. The
 * textbook form Σp² − 2Σp³ + (Σp²)² loses every digit once 1 − p_t < 1e-8.
 * For two live entries (1 − ε, ε) it is 2ε(1 − ε).
 */
export function rowStats(probs: Float64Array, rows: number, n: number): SoftmaxRowStats {
  const maxProb = new Float64Array(rows);
  const gapToOneHot = new Float64Array(rows);
  const entropy = new Float64Array(rows);
  const jacobianNorm = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let top = o;
    for (let j = o + 1; j < o + n; j++) if (probs[j] > probs[top]) top = j;
    const pt = probs[top];
    let rest = 0;
    let r2 = 0;
    let r4 = 0;
    let h = 0;
    let diag = 0;
    for (let j = o; j < o + n; j++) {
      const p = probs[j];
      if (p > 0) h -= p * Math.log(p);
      if (j === top) continue;
      rest += p;
      r2 += p * p;
      r4 += p ** 4;
      diag += (p * (1 - p)) ** 2;
    }
    diag += (pt * rest) ** 2;
    maxProb[r] = pt;
    gapToOneHot[r] = rest;
    entropy[r] = h;
    jacobianNorm[r] = Math.sqrt(diag + 2 * pt * pt * r2 + Math.max(r2 * r2 - r4, 0));
  }
  return { maxProb, gapToOneHot, entropy, jacobianNorm };
}
