import { dtypeInfo, rounder, tensor, type FloatDType, type Tensor } from '../../tensor/index.js';
import { softmax, SOFTMAX_ALGORITHMS, type SoftmaxAlgorithm } from '../../softmax/index.js';
import { normals } from '../sampling.js';
import { softmaxRows } from '../softmax-stats.js';

// Two of C7's three measurements, each returning a typed summary: where the
// naive softmax starts to overflow, and the error of all three softmax
// algorithms against float64 across logit magnitudes (the third, float16
// scores q·k, is in c7-scores.ts).

export const C7_DTYPES: readonly FloatDType[] = ['float32', 'bfloat16', 'float16'];
/** Logits per softmax row. */
export const WIDTH = 16;
export type SeedFor = (...parts: (string | number)[]) => number;

function allFinite(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/** The spacing of representable values of a dtype around x > 0. */
export function spacing(dtype: FloatDType, x: number): number {
  return 2 ** (Math.floor(Math.log2(x)) - Math.round(-Math.log2(dtypeInfo(dtype).eps)));
}

/**
 * First-order bounds on max |p̂ − p| for one row of n logits, from the
 * roundings each algorithm makes (src/softmax/safe.ts, online.ts), with u_s
 * the unit roundoff of storage and u_a of accumulation (float32 for the half
 * dtypes). Safe: x − m and exp each round once (relative u_s, plus u_s·|x − m|
 * through exp), the sum n − 1 times (u_a each), the division once; with
 * pⱼ|xⱼ − m| ≤ 1/e and Σ pⱼ|xⱼ − m| ≤ ln n this gives
 * u_s(3 + 1/e + ln n) + (n − 1)u_a. Online adds the rescales of the running
 * sum: at most n, each rounding the difference, the exp, the product and the
 * sum (3 + k/e roundings of u_a at the k-th), so 3n·u_a + n²u_a/(2e) more.
 */
export function errorBound(dtype: FloatDType, algorithm: 'safe' | 'online', n: number): number {
  const us = dtypeInfo(dtype).unitRoundoff;
  const ua = dtype === 'float16' || dtype === 'bfloat16' ? dtypeInfo('float32').unitRoundoff : us;
  const safe = us * (3 + 1 / Math.E + Math.log(n)) + (n - 1) * ua;
  return algorithm === 'safe' ? safe : safe + ua * (3 * n + (n * n) / (2 * Math.E));
}

function softmaxIn(dtype: FloatDType, algorithm: SoftmaxAlgorithm, values: ArrayLike<number>, rows: number, n: number): Tensor {
  return softmax(tensor(values, [rows, n], { dtype }), { algorithm });
}

export interface Threshold {
  dtype: FloatDType;
  /** The smallest logit x for which the naive softmax of [x, 0] is not finite. */
  naiveThreshold: number;
  lnMax: number;
  /** The dtype's spacing of inputs at ln(max): how finely the bisection can place the threshold. */
  inputSpacing: number;
}

/** Per dtype, the smallest input x (representable in the dtype) for which the naive softmax of [x, 0] is not finite, by bisection. */
export function measureThresholds(): Threshold[] {
  return C7_DTYPES.map((dtype) => {
    const round = rounder(dtype);
    const fails = (x: number): boolean => !allFinite(softmaxIn(dtype, 'naive', [round(x), 0], 1, 2).data);
    let lo = 0;
    let hi = 1000;
    for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
      const mid = (lo + hi) / 2;
      if (fails(mid)) hi = mid;
      else lo = mid;
    }
    const lnMax = dtypeInfo(dtype).lnMax;
    return { dtype, naiveThreshold: round(hi), lnMax, inputSpacing: spacing(dtype, lnMax) };
  });
}

/** One (dtype, algorithm, magnitude) cell of the error sweep; `measured: false` where the inputs are not finite in the dtype. */
export type ErrorCell = { dtype: FloatDType; algorithm: SoftmaxAlgorithm; magnitude: number } & (
  | { measured: false }
  | {
    measured: true;
    rows: number;
    nonFiniteRows: number;
    /** max |p − p₆₄| over the finite outputs; null when no row was finite. */
    maxAbsError: number | null;
    /** errorBound for safe and online; null for naive, which has none. */
    bound: number | null;
  });

export interface SoftmaxErrors {
  cells: ErrorCell[];
  rowsPerCell: number;
  /** Rows whose inputs are finite in their dtype, over all dtypes. */
  finiteRows: number;
  /** Rows with a non-finite output, per algorithm. */
  nonFiniteRows: Record<SoftmaxAlgorithm, number>;
  /** Rows whose largest logit is at or past the naive threshold, and how many of those the naive softmax returned non-finite. */
  naiveBeyond: { rows: number; nonFinite: number };
  /** The largest max|p − p₆₄| divided by the algorithm's bound, over every cell. */
  worstRatio: Record<'safe' | 'online', number>;
}

/** Magnitudes of the largest logit: dense where the thresholds are (1 … 10⁴), then every decade to 10³⁸. */
const MAGNITUDES = [...Array.from({ length: 16 }, (_, i) => 10 ** (i / 4)), ...Array.from({ length: 35 }, (_, i) => 10 ** (i + 4))];
export const MAGNITUDES_TEXT = '10^(k/4) for k = 0…15, 10^k for k = 4…38, and ±max';

/** Rows of one dtype's sweep: Gaussian rows rescaled so their largest |logit| is each magnitude, then the format's extremes. */
function sweepInputs(dtype: FloatDType, rowsPerCell: number, seedFor: SeedFor): { magnitude: number; values: Float64Array }[] {
  const round = rounder(dtype);
  const inputs = MAGNITUDES.map((magnitude) => {
    const z = normals(rowsPerCell, WIDTH, seedFor('logits', dtype, magnitude));
    for (let r = 0; r < rowsPerCell; r++) {
      let big = 0;
      for (let j = 0; j < WIDTH; j++) big = Math.max(big, Math.abs(z[r * WIDTH + j]));
      for (let j = 0; j < WIDTH; j++) z[r * WIDTH + j] = round((magnitude * z[r * WIDTH + j]) / big);
    }
    return { magnitude, values: z };
  });
  // The extremes of the format: every entry at ±max, and max beside −max.
  const max = dtypeInfo(dtype).max;
  const extremes = new Float64Array(3 * WIDTH);
  for (let j = 0; j < WIDTH; j++) {
    extremes[j] = max;
    extremes[WIDTH + j] = -max;
    extremes[2 * WIDTH + j] = j % 2 === 0 ? max : -max;
  }
  inputs.push({ magnitude: max, values: extremes });
  return inputs;
}

/** The error of each softmax algorithm against float64 on the same rounded inputs, in every dtype and magnitude. */
export function measureSoftmaxErrors(thresholds: readonly Threshold[], quick: boolean, seedFor: SeedFor, progress: (fraction: number) => void): SoftmaxErrors {
  const rowsPerCell = quick ? 16 : 32;
  const out: SoftmaxErrors = {
    cells: [], rowsPerCell, finiteRows: 0, nonFiniteRows: { safe: 0, online: 0, naive: 0 },
    naiveBeyond: { rows: 0, nonFinite: 0 }, worstRatio: { safe: 0, online: 0 },
  };
  C7_DTYPES.forEach((dtype, dtypeIndex) => {
    const threshold = thresholds.find((t) => t.dtype === dtype)!.naiveThreshold;
    for (const { magnitude, values } of sweepInputs(dtype, rowsPerCell, seedFor)) {
      const cellRows = values.length / WIDTH;
      if (!allFinite(values)) {
        for (const algorithm of SOFTMAX_ALGORITHMS) out.cells.push({ dtype, algorithm, magnitude, measured: false });
        continue;
      }
      out.finiteRows += cellRows;
      // The float64 reference on the same (already rounded) inputs, once per cell for all three algorithms.
      const reference = softmaxRows(values, cellRows, WIDTH);
      for (const algorithm of SOFTMAX_ALGORITHMS) {
        const p = softmaxIn(dtype, algorithm, values, cellRows, WIDTH).data;
        let maxErr = 0;
        let bad = 0;
        for (let r = 0; r < cellRows; r++) {
          let rowBad = false;
          let rowMax = -Infinity;
          for (let j = 0; j < WIDTH; j++) {
            const v = p[r * WIDTH + j];
            if (!Number.isFinite(v)) rowBad = true;
            else maxErr = Math.max(maxErr, Math.abs(v - reference[r * WIDTH + j]));
            rowMax = Math.max(rowMax, values[r * WIDTH + j]);
          }
          if (rowBad) bad++;
          if (algorithm === 'naive' && rowMax >= threshold) {
            out.naiveBeyond.rows++;
            if (rowBad) out.naiveBeyond.nonFinite++;
          }
        }
        out.nonFiniteRows[algorithm] += bad;
        const bound = algorithm === 'naive' ? null : errorBound(dtype, algorithm, WIDTH);
        if (algorithm !== 'naive') out.worstRatio[algorithm] = Math.max(out.worstRatio[algorithm], maxErr / errorBound(dtype, algorithm, WIDTH));
        out.cells.push({ dtype, algorithm, magnitude, measured: true, rows: cellRows, nonFiniteRows: bad, maxAbsError: bad === cellRows ? null : maxErr, bound });
      }
    }
    progress((dtypeIndex + 1) / C7_DTYPES.length);
  });
  return out;
}
