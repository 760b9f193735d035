import assert from 'node:assert/strict';
import { dtypeInfo, type FloatDType } from '../../src/tensor/index.js';

/**
 * The epsilon of the arithmetic every backend must at least compute in:
 * float64 for float64 inputs, float32 for the others (what hardware does for
 * half-precision storage). Tolerances below scale with it.
 */
export function accumulationEps(dtype: FloatDType): number {
  return dtypeInfo(dtype === 'float64' ? 'float64' : 'float32').eps;
}

/**
 * The absolute error one operation may add below the accumulation
 * arithmetic's smallest normal: fl(a ∘ b) = (a ∘ b)(1 + δ) + η with
 * |η| <= half its smallest subnormal, which no relative term covers. A sum of
 * n terms that underflow gathers up to n of them (fast-check found gradients
 * of order 1e-45 in float32 and 1e-323 in float64 off by two subnormal steps).
 */
export function accumulationTiny(dtype: FloatDType): number {
  const info = dtypeInfo(dtype === 'float64' ? 'float64' : 'float32');
  return info.minNormal * info.eps;
}

/**
 * Asserts |actual[i] − expected[i]| <= tolerance(i) for every i, with equal
 * infinities accepted and any NaN rejected. The message names the worst index.
 */
export function assertClose(
  actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number | ((i: number) => number), what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  let worst = -1;
  let worstRatio = 1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(a) || Number.isNaN(e)) assert.fail(`${what}[${i}]: got ${a}, expected ${e} (NaN)`);
    if (a === e) continue;
    const tol = typeof tolerance === 'number' ? tolerance : tolerance(i);
    const ratio = Math.abs(a - e) / tol;
    if (!(ratio <= worstRatio)) {
      worst = i;
      worstRatio = ratio;
    }
  }
  if (worst >= 0) {
    const tol = typeof tolerance === 'number' ? tolerance : tolerance(worst);
    assert.fail(`${what}[${worst}]: got ${actual[worst]}, expected ${expected[worst]}, error ${Math.abs(actual[worst] - expected[worst])} > tolerance ${tol}`);
  }
}

/** The largest |x| (0 for an empty array). */
export function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

const SAFETY = 4;

/**
 * The absolute error of one attention weight where the arithmetic flushes
 * to zero instead of producing subnormals: the wasm kernels' exp gives 0 for
 * a weight below float32's smallest normal 2⁻¹²⁶ (assembly/exp2.ts,
 * docs/attention.md), where float64 would give up to 2⁻¹²⁶. 0 for float64.
 */
export function flushedWeight(dtype: FloatDType): number {
  return dtype === 'float64' ? 0 : dtypeInfo('float32').minNormal;
}

/**
 * The error allowed in one attention output element, from a forward error
 * analysis of o_c = Σ_j P̃_j v_jc computed in arithmetic of epsilon ε_acc and
 * stored in `dtype`:
 *   ε(dtype) · |o|                the one rounding to the output dtype
 * + ε_acc · (S + 4) · A           the sum of S terms and the softmax normalisation
 * + ε_acc · 2(E + 2) · σ · A      score errors δs ≤ (E + 2) ε_acc σ move each weight by P δs,
 *                                 so o by at most 2 δs A
 * + (S + 4) · η               underflow below the smallest normal (accumulationTiny)
 * + S · φ · max|v|            weights flushed to zero (flushedWeight φ), each off by at most φ
 * times a safety factor of 4, plus the smallest subnormal step of the dtype,
 * where A = Σ_j |P̃_j v_jc| and σ = max_j |scale| Σ_e |q_e k_je| + |M_j|.
 */
export function outputTolerance(dtype: FloatDType, s: number, e: number, exact: number, absSum: number, scoreMag: number, vMax: number): number {
  const info = dtypeInfo(dtype);
  const acc = accumulationEps(dtype);
  const flushed = s * flushedWeight(dtype) * vMax;
  return SAFETY * (info.eps * Math.abs(exact) + acc * absSum * (s + 4 + 2 * (e + 2) * scoreMag) + (s + 4) * accumulationTiny(dtype) + flushed) +
    info.minNormal * info.eps;
}

/**
 * The error allowed in one lse_i = m + log Σ_j exp(s_j − m): the score error
 * (E + 2) ε_acc σ, the sum and log of S terms, and the float32 rounding of the
 * stored lse for every dtype but float64.
 */
export function lseTolerance(dtype: FloatDType, s: number, e: number, exact: number, scoreMag: number): number {
  const acc = accumulationEps(dtype);
  const stored = dtype === 'float64' ? 0 : dtypeInfo('float32').eps * Math.abs(exact);
  return SAFETY * (acc * ((e + 2) * scoreMag + s + 4 + Math.abs(exact)) + stored);
}

/**
 * The error allowed in a gradient element, normwise: the rounding of the
 * element to `dtype`, plus accumulation errors over the n = L + S + E + Ev
 * terms the chain rule sums, amplified by score errors, relative to the
 * largest gradient element of the tensor (the backward subtracts D_i, so
 * errors scale with the row, not the element), and the underflow of those
 * n terms (accumulationTiny).
 */
export function gradTolerance(dtype: FloatDType, n: number, scoreMag: number, exact: number, scaleOfTensor: number): number {
  const info = dtypeInfo(dtype);
  const acc = accumulationEps(dtype);
  return 2 * SAFETY * (info.eps * Math.abs(exact) + acc * (n + 4) * (1 + scoreMag) * scaleOfTensor + (n + 4) * accumulationTiny(dtype)) +
    info.minNormal * info.eps;
}
