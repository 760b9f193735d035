import { Tensor } from '../tensor/index.js';
import { softmax, softmaxRowStats } from '../softmax/index.js';

/** Per-row figures of the softmax of a batch of logit rows [rows, n]. */
export interface SoftmaxRowBatchStats {
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

/** softmaxRowStats (src/softmax/row-stats.ts, the one formula) of every row of float64 logits [rows, n]. */
export function rowStats(logits: Float64Array, rows: number, n: number): SoftmaxRowBatchStats {
  const stats: SoftmaxRowBatchStats = {
    maxProb: new Float64Array(rows),
    gapToOneHot: new Float64Array(rows),
    entropy: new Float64Array(rows),
    jacobianNorm: new Float64Array(rows),
  };
  for (let r = 0; r < rows; r++) {
    const f = softmaxRowStats(logits, { offset: r * n, length: n });
    stats.maxProb[r] = f.maxProb;
    stats.gapToOneHot[r] = f.gapToOneHot;
    stats.entropy[r] = f.entropy;
    stats.jacobianNorm[r] = f.jacobianNorm;
  }
  return stats;
}
