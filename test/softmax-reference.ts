// Float64 references for the softmax family, written as the plain formulas on
// plain arrays, and the error bounds each dtype's arithmetic allows. Shared by
// the test/softmax-*.test.ts files; it imports nothing from src/softmax.
import fc from 'fast-check';
import { dtypeInfo, type FloatDType } from '../src/tensor/index.js';

/** softmax(x)ᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m); all −∞ → 0; k entries +∞ → 1/k there; NaN → NaN. */
export function refSoftmax(x: readonly number[]): number[] {
  if (x.some(Number.isNaN)) return x.map(() => NaN);
  const k = x.filter((v) => v === Infinity).length;
  if (k > 0) return x.map((v) => (v === Infinity ? 1 / k : 0));
  const m = Math.max(...x);
  if (m === -Infinity) return x.map(() => 0);
  const e = x.map((v) => Math.exp(v - m));
  const l = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / l);
}

/** logsumexp(x) = m + ln Σⱼ exp(xⱼ − m); all −∞ or empty → −∞. */
export function refLogsumexp(x: readonly number[]): number {
  if (x.some(Number.isNaN)) return NaN;
  const m = x.length === 0 ? -Infinity : Math.max(...x);
  if (!Number.isFinite(m)) return m;
  return m + Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0));
}

/** logSoftmax(x)ᵢ = xᵢ − logsumexp(x), written as (xᵢ − m) − ln Σ exp(xⱼ − m) so it stays exact far from the max. */
export function refLogSoftmax(x: readonly number[]): number[] {
  if (x.some(Number.isNaN)) return x.map(() => NaN);
  const k = x.filter((v) => v === Infinity).length;
  if (k > 0) return x.map((v) => (v === Infinity ? -Math.log(k) : -Infinity));
  const m = Math.max(...x);
  if (m === -Infinity) return x.map(() => -Infinity);
  const logL = Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0));
  return x.map((v) => v - m - logL);
}

/** ∂L/∂xᵢ = yᵢ (dyᵢ − Σⱼ yⱼ dyⱼ). */
export function refSoftmaxBackward(y: readonly number[], dy: readonly number[]): number[] {
  const s = y.reduce((a, v, j) => a + v * dy[j], 0);
  return y.map((v, i) => v * (dy[i] - s));
}

/**
 * The arithmetic's roundoff units: `u` for one rounding to storage (eps/2 of
 * the dtype), `uAcc` for one step of a float32 (float64 for float64) sum, and
 * `tiny` the spacing of subnormals, the absolute error of a result that underflows.
 */
export function roundoff(dtype: FloatDType): { u: number; uAcc: number; tiny: number } {
  const info = dtypeInfo(dtype);
  const acc = dtypeInfo(dtype === 'float64' ? 'float64' : 'float32');
  return { u: info.unitRoundoff, uAcc: acc.unitRoundoff, tiny: info.minNormal * info.eps };
}

/**
 * First-order error bound of softmax computed in a dtype's arithmetic, per
 * element, against the exact softmax of the same (already rounded) inputs.
 * Each rounding is a relative error ≤ u. Rounding dⱼ = xⱼ − m moves exp(dⱼ) by
 * a relative u·|dⱼ|, and exp itself rounds once, so term j is off by
 * u(|dⱼ| + 1); the sum l is then off by u·Σⱼ yⱼ(|dⱼ| + 1) plus n·uAcc for its
 * n additions; the division adds u. The online algorithm's rescale factors
 * add at most n²·uAcc to l (each rescale k perturbs a part of l of relative
 * size ≤ k·|Δ|·e^−|Δ| ≤ k). The bound is doubled to cover exp's own library
 * error (≤ 1 ulp of float64) and second-order terms, and a result that
 * underflows may be off by 2 subnormal spacings.
 */
export function softmaxTolerance(x: readonly number[], dtype: FloatDType, online = false): number[] {
  const { u, uAcc, tiny } = roundoff(dtype);
  const n = x.length;
  const m = Math.max(...x);
  const y = refSoftmax(x);
  const d = x.map((v) => Math.abs(v - m));
  const spread = y.reduce((a, yj, j) => a + (yj === 0 ? 0 : yj * (d[j] + 1)), 0);
  const sumError = u * spread + n * uAcc + (online ? n * n * uAcc : 0);
  return y.map((yi, i) => 2 * (yi === 0 ? 0 : yi * (u * (d[i] + 2) + sumError)) + 2 * tiny);
}

/** Error bound of logsumexp: the sum's relative error (as above) becomes an absolute one; log, + m and storage round once each. */
export function logsumexpTolerance(x: readonly number[], dtype: FloatDType): number {
  const { u, uAcc } = roundoff(dtype);
  const m = Math.max(...x);
  const y = refSoftmax(x);
  const spread = y.reduce((a, yj, j) => a + (yj === 0 ? 0 : yj * (Math.abs(x[j] - m) + 1)), 0);
  const lse = refLogsumexp(x);
  return 2 * (u * spread + x.length * uAcc + uAcc * (Math.abs(lse - m) + Math.abs(lse)) + u * Math.abs(lse));
}

/** Error bound of logSoftmaxᵢ = (xᵢ − m) − ln l: one rounding of xᵢ − m, the error of ln l, one final rounding. */
export function logSoftmaxTolerance(x: readonly number[], dtype: FloatDType): number[] {
  const { u } = roundoff(dtype);
  const m = Math.max(...x);
  const lseError = logsumexpTolerance(x, dtype) / 2;
  return refLogSoftmax(x).map((z, i) => 2 * (u * Math.abs(x[i] - m) + lseError + u * Math.abs(z)));
}

/**
 * Error bound of yᵢ(dyᵢ − s), s = Σ yⱼdyⱼ: each product rounds (u), the sum
 * adds n·uAcc of Σ|yⱼdyⱼ|, the difference and the final product round once.
 */
export function softmaxBackwardTolerance(y: readonly number[], dy: readonly number[], dtype: FloatDType): number[] {
  const { u, uAcc, tiny } = roundoff(dtype);
  const s = y.reduce((a, v, j) => a + v * dy[j], 0);
  const sAbs = y.reduce((a, v, j) => a + Math.abs(v * dy[j]), 0);
  const sError = (u + y.length * uAcc) * sAbs;
  return y.map((yi, i) => {
    const diff = Math.abs(dy[i] - s);
    return 2 * (Math.abs(yi) * (2 * u * diff + sError) + u * Math.abs(yi * (dy[i] - s))) + 2 * tiny;
  });
}

/** Asserts |actual − expected| ≤ tolerance element by element (equal non-finite values match); names the first miss. */
export function assertClose(actual: ArrayLike<number>, expected: readonly number[], tolerance: readonly number[] | number, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const tol = typeof tolerance === 'number' ? tolerance : tolerance[i];
    if (Object.is(a, e) || a === e) continue;
    if (!(Math.abs(a - e) <= tol)) {
      throw new Error(`${what}: element ${i} is ${a}, expected ${e} ± ${tol} (off by ${Math.abs(a - e)})`);
    }
  }
}

/**
 * Uniform values in [min, max] on a grid of 2^30 steps. fast-check's fc.double
 * favours tiny magnitudes and the range ends, which leaves most of a row's
 * exponentials 0 or 1; the error bounds need rows that spread.
 */
export function uniformDouble(min: number, max: number) {
  return fc.integer({ min: 0, max: 2 ** 30 }).map((k) => min + (max - min) * (k / 2 ** 30));
}
