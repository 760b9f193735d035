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

/** The figures of one softmax row. */
export interface SoftmaxRowFigures {
  maxProb: number;
  gapToOneHot: number;
  entropy: number;
  jacobianNorm: number;
}

/**
 * Max probability, 1 − max p, entropy −Σ p ln p and the Frobenius norm of the
 * softmax Jacobian of the row p[offset .. offset + n), in O(n):
 *
 *   ‖diag(p) − ppᵀ‖_F² = Σᵢ pᵢ²(1 − pᵢ)² + Σ_{i≠j} pᵢ²pⱼ²
 *
 * Written around the top probability t so nothing cancels when p is nearly
 * one-hot (the regime the lab is about): 1 − p_t is the sum of the others
 * (rest), ln p_t is log1p(−rest), and Σ_{i≠j} pᵢ²pⱼ² = 2 p_t² R₂ + (R₂² − R₄)
 * with R_k = Σ_{j≠t} pⱼᵏ. The textbook form Σp² − 2Σp³ + (Σp²)² loses every
 * digit once 1 − p_t < 1e-8. For two live entries (1 − ε, ε) it is 2ε(1 − ε).
 */
export function softmaxRowFigures(p: ArrayLike<number>, offset = 0, n = p.length - offset): SoftmaxRowFigures {
  let top = offset;
  for (let j = offset + 1; j < offset + n; j++) if (p[j] > p[top]) top = j;
  const pt = p[top];
  let rest = 0;
  let r2 = 0;
  let r4 = 0;
  let h = 0;
  let diag = 0;
  for (let j = offset; j < offset + n; j++) {
    if (j === top) continue;
    const pj = p[j];
    if (pj > 0) h -= pj * Math.log(pj);
    rest += pj;
    r2 += pj * pj;
    r4 += pj ** 4;
    diag += (pj * (1 - pj)) ** 2;
  }
  if (pt > 0) h -= pt * Math.log1p(-rest);
  diag += (pt * rest) ** 2;
  return { maxProb: pt, gapToOneHot: rest, entropy: h, jacobianNorm: Math.sqrt(diag + 2 * pt * pt * r2 + Math.max(r2 * r2 - r4, 0)) };
}

/** softmaxRowFigures of every row of a batch of softmax rows [rows, n]. */
export function rowStats(probs: Float64Array, rows: number, n: number): SoftmaxRowStats {
  const stats: SoftmaxRowStats = {
    maxProb: new Float64Array(rows),
    gapToOneHot: new Float64Array(rows),
    entropy: new Float64Array(rows),
    jacobianNorm: new Float64Array(rows),
  };
  for (let r = 0; r < rows; r++) {
    const f = softmaxRowFigures(probs, r * n, n);
    stats.maxProb[r] = f.maxProb;
    stats.gapToOneHot[r] = f.gapToOneHot;
    stats.entropy[r] = f.entropy;
    stats.jacobianNorm[r] = f.jacobianNorm;
  }
  return stats;
}
