import { randn } from '../../src/index.js';
import { adaptiveInverseTemperature } from '../../src/nn/index.js';
import { rowStats } from '../../src/lab/softmax-stats.js';
import { NEEDLE_HIGH, NEEDLE_LOW } from '../../src/lab/length.js';

/** The knobs of section 5. */
export interface LengthSettings {
  /** Keys in the row. */
  n: number;
  /** The log-n factor's s: logits times s·ln n (SSMax; the needle is kept iff s ≥ 1/5). */
  s: number;
  /** Standard deviation of the random row's logits. */
  sigma: number;
  seed: number;
}

export const VARIANTS = ['plain', 'log-n', 'adaptive'] as const;
export type Variant = (typeof VARIANTS)[number];

/** One row's figures: the needle's (key 0's) weight or the largest, and H / ln n. */
export interface RowFigures {
  maxProb: number;
  relEntropy: number;
}

/** The plain row's entropy H (nats) and the β(H) adaptive temperature multiplied its logits by. */
export interface AdaptiveFigures {
  entropy: number;
  beta: number;
}

/** The needle of SSMax's figure (C9's): one logit +3, n − 1 at −2. */
export function needleRow(n: number): Float64Array {
  const row = new Float64Array(n).fill(NEEDLE_LOW);
  row[0] = NEEDLE_HIGH;
  return row;
}

/** A random row of n logits N(0, σ²), from the library's seeded randn (the same numbers in Node and the browser). */
export function randomRow(n: number, sigma: number, seed: number): Float64Array {
  return randn([n], { seed, std: sigma, dtype: 'float64' }).data as Float64Array;
}

/** The softmax figures of the logits times `factor`: the lab's rowStats, as C9 takes them. */
function figuresOf(logits: Float64Array, factor: number): RowFigures {
  const n = logits.length;
  const { maxProb: [maxProb], entropy: [entropy] } = rowStats(factor === 1 ? logits : logits.map((x) => x * factor), 1, n);
  return { maxProb, relEntropy: n > 1 ? entropy / Math.log(n) : 0 };
}

/**
 * A row under the three rules, by the lab's row figures: plain; logits times
 * s·ln n; and adaptive temperature (Veličković et al.), which multiplies the
 * plain row's logits by β(H) from the plain row's entropy H.
 */
export function rowUnderVariants(logits: Float64Array, s: number): Record<Variant, RowFigures> & { beta: AdaptiveFigures } {
  const n = logits.length;
  const plain = figuresOf(logits, 1);
  const entropy = plain.relEntropy * Math.log(n);
  const beta = adaptiveInverseTemperature(entropy);
  return { plain, 'log-n': figuresOf(logits, s * Math.log(n)), adaptive: figuresOf(logits, beta), beta: { entropy, beta } };
}

/**
 * The entropy (nats) above which β(H) = max(poly(H), 1) is clamped to 1 for
 * every longer row the page draws (up to ln 10⁵): the paper's fit falls below
 * 1 there, so adaptive temperature leaves such a row as it is. By bisection on
 * the library's own β, so the page's sentence and the function cannot disagree.
 */
export function adaptiveClampEntropy(): number {
  // β > 1 at 3 nats (inside the fit's hump, which is where poly > 1) and β = 1 at ln 10⁵: the bracket.
  let lo = 3, hi = Math.log(1e5);
  for (let step = 0; step < 60; step++) {
    const mid = (lo + hi) / 2;
    if (adaptiveInverseTemperature(mid) > 1) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The current n's figures for the needle and the random row. The random row
 * is seeded from seed + n, as every point of its curve is (lengthCurvePoints),
 * so the current row's dot is the curve's own rule at that n.
 */
export function lengthFigures(settings: LengthSettings): { needle: ReturnType<typeof rowUnderVariants>; random: ReturnType<typeof rowUnderVariants> } {
  return {
    needle: rowUnderVariants(needleRow(settings.n), settings.s),
    random: rowUnderVariants(randomRow(settings.n, settings.sigma, settings.seed + settings.n), settings.s),
  };
}

/** The n grid of the curves: 2 to 10⁵, five points a decade. */
export const N_GRID: readonly number[] = Array.from({ length: 25 }, (_, i) => Math.round(2 * (1e5 / 2) ** (i / 24)));

/** One point of a curve, per variant: the needle's max p or the random row's H / ln n. */
export interface LengthPoint {
  n: number;
  variant: Variant;
  needleMaxProb: number;
  randomRelEntropy: number;
}

/** Both curves at one n of N_GRID (its random row seeded from the seed and n); the page computes them one n at a time. */
export function lengthCurvePoints(settings: Omit<LengthSettings, 'n'>, n: number): LengthPoint[] {
  const needle = rowUnderVariants(needleRow(n), settings.s);
  const random = rowUnderVariants(randomRow(n, settings.sigma, settings.seed + n), settings.s);
  return VARIANTS.map((variant) => ({ n, variant, needleMaxProb: needle[variant].maxProb, randomRelEntropy: random[variant].relEntropy }));
}
