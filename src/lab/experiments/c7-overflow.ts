import { dtypeInfo } from '../../tensor/index.js';
import { fmt, makeCheck, verdictPhrase, type Check, type Experiment } from '../experiment.js';
import { TOLERANCE_SIGMAS } from '../stats.js';
import type { Row } from '../types.js';
import { overflowCharts } from './c7-charts.js';
import { MAGNITUDES_TEXT, WIDTH, measureSoftmaxErrors, measureThresholds, type SoftmaxErrors, type Threshold } from './c7-softmax.js';
import { ACTIVATION_STDS, PLACEMENTS, measureScoreOverflow, type Placement, type ScoreOverflow } from './c7-scores.js';

/** The activation std the prose quotes float16 score overflow at. */
const PROSE_STD = 32;

function thresholdChecks(thresholds: readonly Threshold[]): Check[] {
  return thresholds.map(({ dtype, naiveThreshold, lnMax, inputSpacing }, i) => makeCheck({
    id: `C7.${'abc'[i]}`,
    statement: `${dtype}: the naive softmax first overflows at ln(max) = ${fmt(lnMax, 5)}.`,
    quantity: `smallest ${dtype} logit x for which naive softmax([x, 0]) is not finite (bisection)`,
    measured: naiveThreshold, predicted: lnMax, kind: 'implementation',
    tolerance: inputSpacing + 2 * dtypeInfo(dtype).unitRoundoff,
    toleranceBasis: `one ${dtype} input spacing at ln(max), plus the half-ulp band in which exp still rounds down to max`,
  }));
}

function errorChecks(errors: SoftmaxErrors): Check[] {
  const { naiveBeyond, finiteRows, nonFiniteRows, worstRatio } = errors;
  return [
    makeCheck({
      id: 'C7.d', statement: 'Every row whose largest logit is past that threshold comes out Infinity/NaN from the naive softmax.',
      quantity: `share of such rows (of ${naiveBeyond.rows}) with a non-finite output`,
      measured: naiveBeyond.rows === 0 ? NaN : naiveBeyond.nonFinite / naiveBeyond.rows, predicted: 1, tolerance: 0, kind: 'implementation',
      toleranceBasis: 'none: the claim is exact',
    }),
    makeCheck({
      id: 'C7.e', statement: 'The safe softmax never returns Infinity/NaN for finite input.',
      quantity: `rows with a non-finite output, of ${finiteRows} finite rows in all three dtypes`, measured: nonFiniteRows.safe, predicted: 0, tolerance: 0, kind: 'implementation',
      toleranceBasis: 'none: the claim is exact',
    }),
    makeCheck({
      id: 'C7.f', statement: 'Nor does the online softmax.',
      quantity: `rows with a non-finite output, of ${finiteRows} finite rows`, measured: nonFiniteRows.online, predicted: 0, tolerance: 0, kind: 'implementation',
      toleranceBasis: 'none: the claim is exact',
    }),
    makeCheck({
      id: 'C7.g', statement: 'The safe softmax stays within its rounding-error bound at every magnitude, in every dtype.',
      quantity: 'largest max|p − p₆₄| divided by the first-order bound u_s(3 + 1/e + ln n) + (n − 1)u_a', measured: worstRatio.safe, predicted: 0, tolerance: 1, side: 'at-most', kind: 'implementation',
      toleranceBasis: 'the bound itself: the error must be at most 1 bound',
    }),
    makeCheck({
      id: 'C7.h', statement: 'So does the online softmax, within its bound (which adds the rescales of the running sum).',
      quantity: 'largest max|p − p₆₄| divided by the online bound', measured: worstRatio.online, predicted: 0, tolerance: 1, side: 'at-most', kind: 'implementation',
      toleranceBasis: 'the bound itself: the error must be at most 1 bound',
    }),
  ];
}

function scoreChecks(scores: ScoreOverflow): Check[] {
  return PLACEMENTS.map((placement, i) => {
    const total = scores.totals[placement];
    return makeCheck({
      id: `C7.${'ijk'[i]}`, statement: `float16 scores with ${placement} (float32 accumulation) overflow as often as P(|N(0, s²|q|²)| > 65520) predicts.`,
      quantity: `scores that overflowed, of ${scores.scoreCount} (d_k × s grid)`, measured: total.measured, predicted: total.predicted,
      tolerance: TOLERANCE_SIGMAS * Math.sqrt(total.variance),
      toleranceBasis: `${TOLERANCE_SIGMAS} binomial standard errors of the predicted count`,
    });
  });
}

/** The report's table: one row per threshold, per error cell and per score cell. */
function overflowRows(thresholds: readonly Threshold[], errors: SoftmaxErrors, scores: ScoreOverflow): Row[] {
  return [
    ...thresholds.map((t): Row => ({ part: 'threshold', dtype: t.dtype, naiveThreshold: t.naiveThreshold, lnMax: t.lnMax, inputSpacing: t.inputSpacing })),
    ...errors.cells.map((c): Row => (c.measured
      ? {
        part: 'error', dtype: c.dtype, algorithm: c.algorithm, magnitude: c.magnitude, maxAbsError: c.maxAbsError, nonFiniteRows: c.nonFiniteRows,
        rows: c.rows, status: c.nonFiniteRows > 0 ? 'Infinity/NaN in output' : 'finite', bound: c.bound,
      }
      : { part: 'error', dtype: c.dtype, algorithm: c.algorithm, magnitude: c.magnitude, maxAbsError: null, nonFiniteRows: null, status: 'input not finite in dtype' })),
    ...scores.cells.map((c): Row => ({
      part: 'float16 scores', d: c.d, activationStd: c.activationStd, placement: c.placement, pairs: c.pairCount,
      overflowShareF32: c.overflowsF32 / c.pairCount, overflowShareF16: c.overflowsF16 / c.pairCount, predictedShareF32: c.predictedF32 / c.pairCount,
    })),
  ];
}

/**
 * C7. exp(x) is finite only for x ≤ ln(max) of the dtype; the naive softmax
 * computes exp(x) of the raw logits and so overflows there, while the safe
 * and online softmax only ever take exp of x − max ≤ 0.
 */
export const overflow: Experiment = {
  id: 'C7',
  slug: 'overflow',
  title: 'The naive softmax overflows; max-subtraction never does',
  statement:
    'The naive softmax returns Infinity/NaN once the largest logit passes ln(max) of the dtype (float32 ≈ 88.72, bfloat16 ≈ 88.72, float16 ≈ 11.09); the safe and online softmax never do for finite input, and in float16 the scores q·k themselves overflow 65504 unless the scale is applied before the matmul.',
  theory:
    'exp(x) exceeds the largest finite value once x > ln(max), and ∞/∞ is NaN; subtracting the row max makes every exponent ≤ 0 and one term exactly 1, so neither overflow nor a zero sum can occur, and the error stays within a few unit roundoffs (bounds in the checks). ' +
    'In a float16 matmul with float32 accumulation a score overflows when it is stored: given q, q·k ~ N(0, s²|q|²) for keys of std s, so P(overflow) = P(|Z| > 65520/(s|q|)). Scaling q by 1/√d_k first (or both by d_k^(−1/4), as the ONNX Attention spec does) divides that standard deviation by √d_k.',
  run({ settings, seedFor, progress }) {
    const quick = settings.mode === 'quick';
    const thresholds = measureThresholds();
    progress(0.1);
    const errors = measureSoftmaxErrors(thresholds, quick, seedFor, (f) => progress(0.1 + 0.3 * f));
    const scores = measureScoreOverflow(settings.dims, quick, seedFor, (f) => progress(0.4 + 0.6 * f));
    const checks = [...thresholdChecks(thresholds), ...errorChecks(errors), ...scoreChecks(scores)];
    const verdictOf = (id: string): string => verdictPhrase(checks.find((c) => c.id === id)!);

    const dMax = Math.max(...settings.dims);
    /** The share of float16 scores at d_k = dMax and activation std PROSE_STD that overflowed, in percent. */
    const percent = (placement: Placement, accumulation: 'F32' | 'F16'): string => {
      const cell = scores.cells.find((c) => c.placement === placement && c.activationStd === PROSE_STD && c.d === dMax);
      return fmt(cell === undefined ? NaN : 100 * (cell[`overflows${accumulation}`] / cell.pairCount));
    };
    const preScaled = scores.cells.filter((c) => c.placement === 'scale q before');
    const preScaledStds = [...new Set(preScaled.filter((c) => c.overflowsF32 > 0 || c.overflowsF16 > 0).map((c) => c.activationStd))];
    const preScaledCount = (accumulation: 'F32' | 'F16'): number => preScaled.reduce((a, c) => a + c[`overflows${accumulation}`], 0);
    const threshold = (dtype: string): string => fmt(thresholds.find((t) => t.dtype === dtype)!.naiveThreshold, 5);
    return {
      checks,
      rows: overflowRows(thresholds, errors, scores),
      meaning:
        `The naive softmax broke at x = ${threshold('float32')} in float32, ${threshold('bfloat16')} in bfloat16 and ${threshold('float16')} in float16 — ` +
        `ordinary logits for an unscaled head (C1: std √d_k = ${fmt(Math.sqrt(dMax))} at d_k = ${dMax}). Of ${errors.finiteRows} finite rows up to 10³⁸ the safe softmax gave a non-finite output on ${errors.nonFiniteRows.safe} and the online on ${errors.nonFiniteRows.online}, ` +
        `and their largest errors were ${fmt(errors.worstRatio.safe)} and ${fmt(errors.worstRatio.online)} times their error bounds (${verdictOf('C7.g')}; ${verdictOf('C7.h')}). ` +
        `In float16 at d_k = ${dMax} with activations of std ${PROSE_STD}, ${percent('scale after the matmul', 'F32')}% of scores overflowed when the scale came after the matmul and ` +
        `${percent('scale q before', 'F32')}% when q was scaled first.`,
      findings: [
        `Accumulating in float16 overflows earlier than the final score would: a partial sum can pass 65504 before later terms cancel it. ` +
          `At d_k = ${dMax} with activations of std ${PROSE_STD} and the scale after the matmul, ${percent('scale after the matmul', 'F16')}% of scores overflowed with float16 accumulation ` +
          `against ${percent('scale after the matmul', 'F32')}% with float32 accumulation; with q scaled first, ${percent('scale q before', 'F16')}% and ` +
          `${percent('scale q before', 'F32')}%. ` +
          (preScaledStds.length === 0
            ? `Scaling q first prevented every overflow on the grid (activation std up to ${ACTIVATION_STDS[ACTIVATION_STDS.length - 1]}).`
            : `Scaling q first overflowed only from activation std ${Math.min(...preScaledStds)} on, where the scaled score itself (std s²) reaches 65504: ` +
              `${preScaledCount('F32')} of ${scores.scoreCount} scores with float32 accumulation, ${preScaledCount('F16')} with float16.`),
      ],
      parameters: {
        width: WIDTH, rowsPerMagnitude: errors.rowsPerCell, magnitudes: MAGNITUDES_TEXT, pairsPerCell: scores.pairCount, activationStds: [...ACTIVATION_STDS], dims: settings.dims,
      },
    };
  },
  charts: overflowCharts,
};
