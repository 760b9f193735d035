import { Rng, ScaledotError } from '../tensor/index.js';

/**
 * The statistics the lab's verdicts rest on. Every tolerance in the report is
 * a multiple of a standard error computed here from the data, so these are
 * tested against cases small enough to work out by hand.
 */

export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) throw new ScaledotError('E_ARG', 'mean: values is empty; need at least one value');
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** Unbiased sample variance Σ(x − x̄)² / (n − 1). */
export function variance(values: ArrayLike<number>): number {
  if (values.length < 2) throw new ScaledotError('E_ARG', `variance: values has ${values.length} element(s); need at least 2`);
  const m = mean(values);
  let ss = 0;
  for (let i = 0; i < values.length; i++) ss += (values[i] - m) ** 2;
  return ss / (values.length - 1);
}

/** Standard error of the mean: sqrt(variance / n). */
export function standardError(values: ArrayLike<number>): number {
  return Math.sqrt(variance(values) / values.length);
}

/**
 * The sample variance with its standard error. For n iid draws,
 * Var(s²) ≈ (μ₄ − σ⁴) / n with μ₄ the fourth central moment; this holds for
 * any distribution with a finite fourth moment (it is 2σ⁴/n for a normal), so
 * heavy-tailed products such as q·k get an honest, wider error.
 */
export function varianceWithError(values: ArrayLike<number>): { value: number; se: number } {
  const n = values.length;
  const value = variance(values);
  const m = mean(values);
  let m4 = 0;
  for (let i = 0; i < n; i++) m4 += (values[i] - m) ** 4;
  m4 /= n;
  const spread = Math.max(m4 - value * value, 0);
  return { value, se: Math.sqrt(spread / n) };
}

/**
 * The average of m independent estimates with its standard error
 * sqrt(Σ seᵢ²)/m: how the experiments pool one figure measured at several
 * grid points (NaN for no estimates).
 */
export function averageWithError(values: readonly number[], ses: readonly number[]): { value: number; se: number } {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    squares += ses[i] ** 2;
  }
  return { value: sum / values.length, se: Math.sqrt(squares) / values.length };
}

/** The p-quantile, linear interpolation between order statistics (R type 7, NumPy's default). */
export function quantile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) throw new ScaledotError('E_ARG', 'quantile: values is empty; need at least one value');
  if (!(p >= 0 && p <= 1)) throw new ScaledotError('E_ARG', `quantile: p is ${p}; expected a number in [0, 1]`);
  const sorted = Float64Array.from(values).sort();
  return quantileSorted(sorted, p);
}

function quantileSorted(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** The median: quantile(values, 0.5), interpolated between the middle two for an even count. */
export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

/**
 * Bootstrap standard error of a statistic: the standard deviation of the
 * statistic over `resampleCount` resamples drawn with replacement, seeded so the
 * report is reproducible. Used where no formula for the error is at hand
 * (quantiles, logs of means).
 */
export function bootstrapSe(
  values: ArrayLike<number>,
  statistic: (sample: Float64Array) => number,
  options: { resampleCount?: number; seed: number },
): number {
  const { resampleCount = 200, seed } = options;
  const n = values.length;
  if (n < 2) throw new ScaledotError('E_ARG', `bootstrapSe: values has ${n} element(s); need at least 2`);
  const rng = new Rng(seed);
  const sample = new Float64Array(n);
  const stats = new Float64Array(resampleCount);
  for (let b = 0; b < resampleCount; b++) {
    for (let i = 0; i < n; i++) sample[i] = values[rng.int(n)];
    stats[b] = statistic(sample);
  }
  return Math.sqrt(variance(stats));
}

/** Bootstrap standard errors of several quantiles at once (one sort per resample). */
export function quantilesWithErrors(
  values: ArrayLike<number>,
  ps: readonly number[],
  options: { resampleCount?: number; seed: number },
): { value: number; se: number }[] {
  const { resampleCount = 200, seed } = options;
  const n = values.length;
  const sorted = Float64Array.from(values).sort();
  const rng = new Rng(seed);
  const sample = new Float64Array(n);
  const draws = ps.map(() => new Float64Array(resampleCount));
  for (let b = 0; b < resampleCount; b++) {
    for (let i = 0; i < n; i++) sample[i] = values[rng.int(n)];
    sample.sort();
    ps.forEach((p, j) => (draws[j][b] = quantileSorted(sample, p)));
  }
  return ps.map((p, j) => ({ value: quantileSorted(sorted, p), se: Math.sqrt(variance(draws[j])) }));
}

export interface LineFit {
  slope: number;
  intercept: number;
  /**
   * Standard error of the slope. With per-point errors given, it is the error
   * those errors propagate into the least-squares slope, Σ wᵢ² seᵢ² with
   * wᵢ = (xᵢ − x̄)/Sxx (points independent). Without them, the classical
   * residual estimate sqrt(RSS / (n − 2) / Sxx).
   */
  se: number;
  n: number;
}

/** Ordinary least squares y = intercept + slope·x. */
export function linearFit(xs: readonly number[], ys: readonly number[], ses?: readonly number[]): LineFit {
  const n = xs.length;
  if (n !== ys.length || (ses !== undefined && ses.length !== n)) {
    throw new ScaledotError('E_ARG', `linearFit: xs has ${n} values, ys ${ys.length}${ses ? `, ses ${ses.length}` : ''}; they must match`);
  }
  if (n < 2 || (ses === undefined && n < 3)) {
    throw new ScaledotError('E_ARG', `linearFit: ${n} point(s) cannot give a slope and its error; need at least ${ses ? 2 : 3}`);
  }
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  if (sxx === 0) throw new ScaledotError('E_ARG', 'linearFit: all xs are equal; a slope needs at least two distinct x');
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let se: number;
  if (ses !== undefined) {
    let v = 0;
    for (let i = 0; i < n; i++) v += ((xs[i] - mx) / sxx) ** 2 * ses[i] ** 2;
    se = Math.sqrt(v);
  } else {
    let rss = 0;
    for (let i = 0; i < n; i++) rss += (ys[i] - intercept - slope * xs[i]) ** 2;
    se = Math.sqrt(rss / (n - 2) / sxx);
  }
  return { slope, intercept, se, n };
}

/**
 * The exponent b of a power law y ∝ xᵇ: the slope of ln y on ln x. Per-point
 * standard errors of y, if given, become errors of ln y by the delta method
 * (se(ln y) = se(y)/y).
 */
export function logLogSlope(xs: readonly number[], ys: readonly number[], ses?: readonly number[]): LineFit {
  for (let i = 0; i < xs.length; i++) {
    if (!(xs[i] > 0) || !(ys[i] > 0)) {
      throw new ScaledotError('E_ARG', `logLogSlope: point ${i} is (${xs[i]}, ${ys[i]}); both coordinates must be positive`);
    }
  }
  return linearFit(xs.map(Math.log), ys.map(Math.log), ses?.map((s, i) => s / ys[i]));
}

export type Verdict = 'holds' | 'fails' | 'inconclusive';

/**
 * Standard errors per statistical tolerance. A default run makes about 50
 * statistical checks; at 3 standard errors each would wrongly fail with
 * probability 0.27%, so about one run in eight would show a false "fails"
 * somewhere. At 4 the Bonferroni bound for the whole run is 50 × 6.3e-5 ≈ 0.3%.
 * Fixed here once for every experiment, before any data is seen.
 */
export const TOLERANCE_SIGMAS = 4;

/**
 * Which way a check's claim points. 'equal': the value is `predicted` (a law,
 * a closed form). 'at-least' / 'at-most': a bound ("no less than", "no more
 * than"): the data contradict it only when they fall beyond it by more than
 * the tolerance. 'above' / 'below': an effect ("beats", "lowers"): it holds
 * only when the data clear `predicted` by more than the tolerance, fails when
 * they fall on the wrong side by more than it, and is inconclusive between.
 */
export type Side = 'equal' | 'at-least' | 'at-most' | 'above' | 'below';

/** A verdict and, when it is inconclusive, why (null otherwise). */
export interface Decision {
  verdict: Verdict;
  reason: string | null;
}

/**
 * The lab's one decision rule, stated so anyone can recompute a verdict from
 * the figures in results.json (VERDICT_RULE says it in words):
 *  - inconclusive if the measurement or the tolerance is not a finite number;
 *  - 'equal': fails if |measured − predicted| > tolerance;
 *    'at-least': fails if measured < predicted − tolerance ('at-most' mirrored);
 *    'above': fails if measured < predicted − tolerance, holds only if
 *    measured > predicted + tolerance, else inconclusive ('below' mirrored);
 *  - inconclusive if an alternative is given and |measured − alternative| ≤
 *    tolerance as well (the error is too large to tell theory from rival);
 *  - holds otherwise.
 */
export function decide(measured: number, predicted: number, tolerance: number, alternative: number | null = null, side: Side = 'equal'): Decision {
  if (!Number.isFinite(measured) || !Number.isFinite(tolerance) || tolerance < 0) {
    return { verdict: 'inconclusive', reason: `the measurement (${measured}) or its tolerance (${tolerance}) is not a finite number` };
  }
  const excess = side === 'at-most' || side === 'below' ? measured - predicted : predicted - measured; // > 0: on the claim's wrong side
  if (side === 'equal' ? Math.abs(measured - predicted) > tolerance : excess > tolerance) return { verdict: 'fails', reason: null };
  if ((side === 'above' || side === 'below') && -excess <= tolerance) {
    return { verdict: 'inconclusive', reason: `the effect (${fmtShort(-excess)}) is within the tolerance ±${fmtShort(tolerance)} of none: too noisy to decide` };
  }
  if (alternative !== null && Math.abs(measured - alternative) <= tolerance) {
    return { verdict: 'inconclusive', reason: `the rival value ${fmtShort(alternative)} is within tolerance of the measurement too: the data cannot tell the prediction from the rival` };
  }
  return { verdict: 'holds', reason: null };
}

/** decide()'s verdict alone, for a two-sided claim. */
export function within(measured: number, predicted: number, tolerance: number, alternative?: number | null): Verdict {
  return decide(measured, predicted, tolerance, alternative ?? null, 'equal').verdict;
}

const fmtShort = (x: number): string => String(Number(x.toPrecision(3)));

export const VERDICT_RULE =
  `Statistical tolerances are ${TOLERANCE_SIGMAS} standard errors taken from the data (chosen so that a run of ~50 checks shows a false "fails" with probability below 0.5%); exact claims get the exact bound. ` +
  'A claim of equality holds when |measured − predicted| ≤ tolerance and fails otherwise. ' +
  'A bound ("at least", "at most") fails only when the measurement lies beyond it by more than the tolerance. ' +
  'An effect ("above", "below": one thing beats another) holds only when the measurement clears the prediction by more than the tolerance, fails when it lies on the wrong side by more than the tolerance, and is inconclusive in between. ' +
  'Where a rival value is named, a check that would hold is inconclusive when the rival is within tolerance too. ' +
  'Implementation checks compare the library with a closed form and can only fail through a bug; they are listed apart from the evidence. ' +
  'A claim holds when all its checks hold, fails when any check fails, and is inconclusive otherwise; every inconclusive check says why.';

/** A claim's verdict from its checks' verdicts (the rule in VERDICT_RULE). */
export function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.includes('fails')) return 'fails';
  if (verdicts.length > 0 && verdicts.every((v) => v === 'holds')) return 'holds';
  return 'inconclusive';
}

/**
 * The complementary error function erfc(x) = 1 − erf(x), by the Chebyshev
 * fit of Numerical Recipes (erfcc): relative error below 1.2e-7 everywhere,
 * and accurate in the far tail where 1 − erf(x) would cancel to 0.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(|Z| > x) for a standard normal Z. */
export function twoSidedNormalTail(x: number): number {
  return erfc(Math.abs(x) / Math.SQRT2);
}
