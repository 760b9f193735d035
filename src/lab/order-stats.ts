import { Rng } from '../tensor/index.js';
import { quantilesWithErrors } from './stats.js';

/**
 * The gap G = z₍₁₎ − z₍₂₎ between the two largest of n iid standard normals,
 * sampled directly (no softmax, no dot product): the independent side of the
 * C3 predictions. For logits σz the top two probabilities are, to first
 * order, 1/(1 + e^(−σG)) and its complement, so every quantile of the
 * Jacobian norm follows from a quantile of G.
 */
export function topTwoGaps(n: number, drawCount: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const gaps = new Float64Array(drawCount);
  for (let r = 0; r < drawCount; r++) {
    let first = -Infinity;
    let second = -Infinity;
    for (let j = 0; j < n; j++) {
      const z = rng.normal();
      if (z > first) {
        second = first;
        first = z;
      } else if (z > second) {
        second = z;
      }
    }
    gaps[r] = first - second;
  }
  return gaps;
}

/** Quantiles of the top-two gap with bootstrap standard errors. */
export function gapQuantiles(n: number, drawCount: number, ps: readonly number[], seed: number): { p: number; value: number; se: number }[] {
  const gaps = topTwoGaps(n, drawCount, seed);
  return quantilesWithErrors(gaps, ps, { seed: seed ^ 0x5eed, resampleCount: 200 }).map((q, i) => ({ p: ps[i], ...q }));
}

/**
 * ‖diag(p) − ppᵀ‖_F for a softmax with two live entries whose logits differ
 * by x: p = (1 − ε, ε), ε = 1/(1 + eˣ), norm 2ε(1 − ε) = 1/(2 cosh²(x/2)).
 * Returned as a logarithm, ln 2 − x − 2 ln(1 + e^(−x)), finite for any x.
 */
export function logTwoKeyJacobianNorm(x: number): number {
  const a = Math.abs(x);
  return Math.log(2) - a - 2 * Math.log1p(Math.exp(-a));
}
