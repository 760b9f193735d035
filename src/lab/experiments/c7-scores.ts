import { roundFloat16 } from '../../tensor/index.js';
import { normals } from '../sampling.js';
import { twoSidedNormalTail } from '../stats.js';
import type { SeedFor } from './c7-softmax.js';

// C7's third measurement: how often float16 scores q·k overflow, by where the
// scale is applied and how the matmul accumulates, against the normal tail.

export const ACTIVATION_STDS: readonly number[] = [1, 4, 16, 32, 64, 128];
/** |x| from which a float16 store rounds to Infinity: halfway between 65504 and the next power of two. */
const F16_STORE_OVERFLOW = 65520;

export const PLACEMENTS = ['scale after the matmul', 'scale q before', '√scale on q and k'] as const;
export type Placement = (typeof PLACEMENTS)[number];
type Accumulation = 'float16' | 'float32';

/**
 * One float16 dot product as a matmul unit computes it. float16 accumulation:
 * every product and every partial sum rounded to float16. float32
 * accumulation (tensor cores): products of float16 values are exact in
 * float32, partial sums round to float32, the result is stored as float16.
 */
function dotFloat16(q: Float64Array, k: Float64Array, qo: number, ko: number, d: number, acc: Accumulation): number {
  let s = 0;
  if (acc === 'float16') {
    for (let t = 0; t < d; t++) s = roundFloat16(s + roundFloat16(q[qo + t] * k[ko + t]));
    return s;
  }
  for (let t = 0; t < d; t++) s = Math.fround(s + q[qo + t] * k[ko + t]);
  return roundFloat16(s);
}

/** One (d_k, activation std, placement) cell: overflow counts of `pairCount` float16 scores and the count the normal tail predicts. */
export interface ScoreCell {
  d: number;
  activationStd: number;
  placement: Placement;
  pairCount: number;
  overflowsF32: number;
  overflowsF16: number;
  /** Σ P(|N(0, s²|q|²)| > 65520) over the pairs: the expected overflow count with float32 accumulation. */
  predictedF32: number;
}

export interface ScoreOverflow {
  cells: ScoreCell[];
  pairCount: number;
  /** Scores per placement over the whole grid. */
  scoreCount: number;
  /** Per placement, over the grid: the predicted count, its binomial variance, and the measured count (float32 accumulation). */
  totals: Record<Placement, { predicted: number; variance: number; measured: number }>;
}

/** float16 scores q·k over d_k × activation std, by where the scale is applied and how the matmul accumulates. */
export function measureScoreOverflow(dims: readonly number[], quick: boolean, seedFor: SeedFor, progress: (fraction: number) => void): ScoreOverflow {
  const pairCount = quick ? 48 : 128;
  const totals = Object.fromEntries(PLACEMENTS.map((p) => [p, { predicted: 0, variance: 0, measured: 0 }])) as ScoreOverflow['totals'];
  const cells: ScoreCell[] = [];
  const cellCount = dims.length * ACTIVATION_STDS.length;
  for (const d of dims) {
    for (const s of ACTIVATION_STDS) {
      const q = normals(pairCount, d, seedFor('q16', d, s), s).map(roundFloat16);
      const k = normals(pairCount, d, seedFor('k16', d, s), s).map(roundFloat16);
      const scales: Record<Placement, { qScale: number; kScale: number; after: number }> = {
        'scale after the matmul': { qScale: 1, kScale: 1, after: 1 / Math.sqrt(d) },
        'scale q before': { qScale: 1 / Math.sqrt(d), kScale: 1, after: 1 },
        '√scale on q and k': { qScale: d ** -0.25, kScale: d ** -0.25, after: 1 },
      };
      for (const placement of PLACEMENTS) {
        const { qScale, kScale, after } = scales[placement];
        const qs = qScale === 1 ? q : q.map((v) => roundFloat16(v * qScale));
        const ks = kScale === 1 ? k : k.map((v) => roundFloat16(v * kScale));
        const overflows: Record<Accumulation, number> = { float16: 0, float32: 0 };
        let expected = 0;
        let expectedVariance = 0;
        for (let i = 0; i < pairCount; i++) {
          let qNorm = 0;
          for (let t = i * d; t < (i + 1) * d; t++) qNorm += qs[t] * qs[t];
          // Given q, q·k is N(0, (kScale·s)²|q|²) exactly (Gaussian keys), whatever d is.
          const p = twoSidedNormalTail(F16_STORE_OVERFLOW / (kScale * s * Math.sqrt(qNorm)));
          expected += p;
          expectedVariance += p * (1 - p);
          for (const acc of ['float16', 'float32'] as const) {
            if (!Number.isFinite(roundFloat16(dotFloat16(qs, ks, i * d, i * d, d, acc) * after))) overflows[acc]++;
          }
        }
        totals[placement].predicted += expected;
        totals[placement].variance += expectedVariance;
        totals[placement].measured += overflows.float32;
        cells.push({ d, activationStd: s, placement, pairCount, overflowsF32: overflows.float32, overflowsF16: overflows.float16, predictedF32: expected });
      }
      progress(cells.length / PLACEMENTS.length / cellCount);
    }
  }
  return { cells, pairCount, scoreCount: cellCount * pairCount, totals };
}
