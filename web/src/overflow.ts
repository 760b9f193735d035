import { dtypeInfo, softmax, tensor, type FloatDType, type SoftmaxAlgorithm } from '../../src/index.js';
import { rounder } from '../../src/kernels.js';

/** Columns in the order the page explains them: the broken one first. */
export const ALGORITHMS: readonly SoftmaxAlgorithm[] = ['naive', 'safe', 'online'];

export interface OverflowResult {
  dtype: FloatDType;
  /** The logits as the dtype stores them. */
  stored: number[];
  outputs: Record<SoftmaxAlgorithm, number[]>;
  /** Whether every output of an algorithm is finite. */
  finite: Record<SoftmaxAlgorithm, boolean>;
  /** max over i of |pᵢ − pᵢ exact|, against the float64 safe softmax of the same stored logits (NaN once non-finite). */
  maxError: Record<SoftmaxAlgorithm, number>;
}

/** The three softmax algorithms of the library on one row of logits in one dtype. */
export function compareSoftmax(logits: readonly number[], dtype: FloatDType): OverflowResult {
  const x = tensor([...logits], [logits.length], { dtype });
  // The stored logits are exact in float64, so this is the true softmax of what the dtype holds.
  const exact = softmax(x.astype('float64')).data;
  const outputs = {} as Record<SoftmaxAlgorithm, number[]>;
  const finite = {} as Record<SoftmaxAlgorithm, boolean>;
  const maxError = {} as Record<SoftmaxAlgorithm, number>;
  for (const algorithm of ALGORITHMS) {
    const values = Array.from(softmax(x, { algorithm }).data);
    outputs[algorithm] = values;
    finite[algorithm] = values.every(Number.isFinite);
    maxError[algorithm] = finite[algorithm] ? Math.max(...values.map((v, i) => Math.abs(v - exact[i]))) : NaN;
  }
  return { dtype, stored: Array.from(x.data), outputs, finite, maxError };
}

/**
 * The two values of the dtype on either side of ln(max): exp of the lower one
 * is finite, exp of the upper one rounds to Infinity. These are the exact
 * logits where the naive softmax breaks, as opposed to ln(max) itself, which
 * the dtype usually cannot hold.
 */
export function breakingPoint(dtype: FloatDType): { lnMax: number; lastFinite: number; firstOverflow: number } {
  const { lnMax, eps } = dtypeInfo(dtype);
  const round = rounder(dtype);
  // Spacing of the dtype's values in the binade of ln(max) (always a normal number).
  const ulp = eps * 2 ** Math.floor(Math.log2(lnMax));
  const nearest = round(lnMax);
  const lastFinite = nearest <= lnMax ? nearest : round(nearest - ulp);
  const firstOverflow = nearest > lnMax ? nearest : round(nearest + ulp);
  return { lnMax, lastFinite, firstOverflow };
}
