import { averageWithError, linearFit, logLogSlope, type LineFit } from '../stats.js';

/**
 * Fits as the experiments use them. A grid too small for a fit (a caller's
 * own `dims`, say) gives NaN figures, which `within` turns into an
 * inconclusive check, rather than an exception halfway through a run.
 */
export const NO_FIT: LineFit = { slope: NaN, intercept: NaN, se: NaN, n: 0 };

function enough(xs: readonly number[], ses?: readonly number[]): boolean {
  return xs.length >= (ses ? 2 : 3) && new Set(xs).size >= 2;
}

/**
 * With per-point errors the slope's error is the larger of the propagated
 * error and the residual one (when there are ≥ 3 points): the propagated
 * error trusts each point's own error estimate, which a heavy tail can
 * understate, while the residuals show the scatter the points actually have.
 */
function guarded(fit: (ses?: readonly number[]) => LineFit, n: number, ses?: readonly number[]): LineFit {
  const propagated = fit(ses);
  if (!ses || n < 3) return propagated;
  return { ...propagated, se: Math.max(propagated.se, fit(undefined).se) };
}

export function lineFit(xs: readonly number[], ys: readonly number[], ses?: readonly number[]): LineFit {
  return enough(xs, ses) ? guarded((e) => linearFit(xs, ys, e), xs.length, ses) : NO_FIT;
}

export function logLogFit(xs: readonly number[], ys: readonly number[], ses?: readonly number[]): LineFit {
  return enough(xs, ses) && xs.every((x) => x > 0) && ys.every((y) => y > 0) ? guarded((e) => logLogSlope(xs, ys, e), xs.length, ses) : NO_FIT;
}

/**
 * Power-law exponents fitted per series and pooled: the lab often predicts one
 * exponent for several n at once, and the average of independent per-n slopes
 * has standard error sqrt(Σ seᵢ²)/m.
 */
export interface PooledSlope {
  slope: number;
  se: number;
  perSeries: { series: number | string; fit: LineFit }[];
}

export function pooledLogLogSlope(
  groups: { series: number | string; xs: number[]; ys: number[]; ses: number[] }[],
): PooledSlope {
  const perSeries = groups.map((g) => ({ series: g.series, fit: logLogFit(g.xs, g.ys, g.ses) })).filter((s) => Number.isFinite(s.fit.slope));
  if (perSeries.length === 0) return { slope: NaN, se: NaN, perSeries: [] };
  const { value: slope, se } = averageWithError(perSeries.map((s) => s.fit.slope), perSeries.map((s) => s.fit.se));
  return { slope, se, perSeries };
}
