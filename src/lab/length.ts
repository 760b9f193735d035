import { ruleScale } from '../nn/scale-rules.js';
import { rowStats, softmaxRows } from './softmax-stats.js';

/**
 * What the length experiment (C9) and the page's "Length" section share: the
 * needle row, the factors that multiply the logits as n grows, and a random
 * row's figures. Pure and browser-safe.
 */

/** The needle row of SSMax's figure: one logit +3, the other n − 1 at −2 (a gap of 5). */
export const NEEDLE_HIGH = 3;
export const NEEDLE_LOW = -2;
export const NEEDLE_GAP = NEEDLE_HIGH - NEEDLE_LOW;

/** How the logits are multiplied at length n. */
export type LengthFactor =
  | { kind: 'plain' }
  /** SSMax: s · ln n (Nakanishi 2025), s learnt per head; here fixed. */
  | { kind: 'ssmax'; s: number }
  /** Su's entropy-invariant factor ln n / ln 512, the library's `log-length` rule without its 1/√d_k. */
  | { kind: 'su' };

export function lengthFactor(factor: LengthFactor, n: number): number {
  switch (factor.kind) {
    case 'plain':
      return 1;
    case 'ssmax':
      return factor.s * Math.log(n);
    case 'su':
      return ruleScale('log-length', 1, n);
  }
}

export function factorLabel(factor: LengthFactor): string {
  switch (factor.kind) {
    case 'plain':
      return 'plain';
    case 'ssmax':
      return `s·ln n, s = ${factor.s}`;
    case 'su':
      return 'ln n / ln 512 (Su)';
  }
}

/**
 * The needle's probability in closed form, 1/(1 + odds) with
 *   odds = (n − 1) e^(−gap·f) = exp(ln(n − 1) − gap·f),
 * computed in the log domain so that neither (n − 1) n^(−5s) nor e^(−gap·f)
 * overflows or underflows on the way, and 1 − max p = odds/(1 + odds) keeps its
 * digits when max p is near 1. For f = s ln n: odds = (n − 1) n^(−5s).
 */
export function needleClosedForm(n: number, f: number): { maxProb: number; gapToOneHot: number; odds: number } {
  const odds = n > 1 ? Math.exp(Math.log(n - 1) - NEEDLE_GAP * f) : 0;
  return { maxProb: 1 / (1 + odds), gapToOneHot: odds / (1 + odds), odds };
}

/** The needle's probability measured by the library's softmax on a real row of length n (float64). */
export function needleBySoftmax(n: number, f: number): { maxProb: number; gapToOneHot: number } {
  const row = new Float64Array(n).fill(NEEDLE_LOW * f);
  row[0] = NEEDLE_HIGH * f;
  const p = softmaxRows(row, 1, n);
  // 1 − max p summed from the other keys, so it keeps its digits when max p ≈ 1 (as softmaxRowStats sums it).
  let rest = 0;
  for (let j = 1; j < n; j++) rest += p[j];
  return { maxProb: p[0], gapToOneHot: rest };
}

/** Per-row max p and entropy of the softmax of `rows` rows of n logits (already scaled), by softmaxRowStats. */
export function randomRowFigures(logits: Float64Array, rows: number, n: number): { maxProb: Float64Array; entropy: Float64Array } {
  const { maxProb, entropy } = rowStats(logits, rows, n);
  return { maxProb, entropy };
}

/**
 * Gaussian logits of std σ over n keys, in the regime where the sum Σ e^z is
 * a law of large numbers (σ² < 2 ln n, the "high-temperature" side of the
 * random energy model): H = ln Σe^z − Σ p z → ln n + σ²/2 − σ² = ln n − σ²/2.
 * Past σ² = 2 ln n a few keys carry the row and H stays O(1) (null: no formula here).
 */
export function gaussianEntropyGap(sigma: number, n: number): number | null {
  return sigma * sigma < 2 * Math.log(n) ? (sigma * sigma) / 2 : null;
}
