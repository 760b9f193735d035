import type { FloatDType } from '../../tensor/index.js';
import { measuredVsTheoryChart } from '../charts.js';
import type { ClaimResult } from '../experiment.js';
import { nullableNumberField, numberField, stringField } from '../rows.js';
import type { ChartSpec, Row } from '../types.js';
import { C7_DTYPES, WIDTH, errorBound } from './c7-softmax.js';

/** Drawn last on top: safe's points mostly coincide with online's. */
const ALGORITHM_ORDER = ['naive', 'online', 'safe'];

/** Per dtype: each algorithm's error against float64 by logit magnitude, beside ln(max) and the error bounds. */
function errorChart(rows: readonly Row[], dtype: FloatDType): ChartSpec {
  const lnMax = numberField(rows.find((r) => r.part === 'threshold' && r.dtype === dtype)!, 'lnMax');
  const measured = rows.filter((r) => r.part === 'error' && r.dtype === dtype && r.status !== 'input not finite in dtype' && numberField(r, 'magnitude') <= 1e38);
  // Non-finite outputs have no error to plot: they are drawn at 1, where no probability error can be.
  const points: Row[] = measured
    .sort((a, b) => ALGORITHM_ORDER.indexOf(stringField(a, 'algorithm')) - ALGORITHM_ORDER.indexOf(stringField(b, 'algorithm')))
    .map((r) => {
      const error = nullableNumberField(r, 'maxAbsError');
      return { magnitude: r.magnitude, error: error === null ? 1 : Math.max(error, 1e-12), algorithm: r.algorithm };
    });
  const theory: Row[] = [
    { magnitude: lnMax, error: 1e-12, algorithm: 'ln(max)' }, { magnitude: lnMax, error: 1, algorithm: 'ln(max)' },
    ...(['safe', 'online'] as const).flatMap((algorithm) =>
      [1, 1e38].map((m) => ({ magnitude: m, error: errorBound(dtype, algorithm, WIDTH), algorithm: `${algorithm} bound` }))),
  ];
  return measuredVsTheoryChart({
    title: `${dtype}: error against float64`, subtitle: 'dashed: ln(max), bounds · Inf/NaN at 1, 0 at 10⁻¹²',
    x: { field: 'magnitude', title: 'largest |logit|', log: true }, y: { field: 'error', title: 'max |p − p₆₄|', log: true },
    points, theory, series: 'algorithm', seriesTitle: 'algorithm', shape: 'algorithm', width: 270, height: 200,
  });
}

/** The share of float16 scores that overflowed against d_k, one series per activation std of at least 16. */
function scoreChart(rows: readonly Row[], placement: string, accumulation: 'float32' | 'float16'): ChartSpec {
  const field = accumulation === 'float32' ? 'overflowShareF32' : 'overflowShareF16';
  const points: Row[] = rows
    .filter((r) => r.part === 'float16 scores' && r.placement === placement && numberField(r, 'activationStd') >= 16)
    .map((r) => ({ d: numberField(r, 'd'), share: numberField(r, field), predicted: numberField(r, 'predictedShareF32'), std: `s = ${numberField(r, 'activationStd')}` }));
  return measuredVsTheoryChart({
    title: `float16 q·k, ${placement}`,
    subtitle: `${accumulation} accumulation · dashed: ${accumulation === 'float32' ? 'predicted share' : 'float32 prediction'}`,
    x: { field: 'd', title: 'key dimension d_k', log: true }, y: { field: 'share', title: 'share of scores = ±Infinity', domain: [0, 1] },
    points, theory: points.map((r) => ({ d: r.d, share: r.predicted, std: r.std })), series: 'std', seriesTitle: 'activation std', width: 260, height: 200,
  });
}

/** C7's charts, from its rows. */
export function overflowCharts(claim: ClaimResult): ChartSpec[] {
  return [
    ...C7_DTYPES.map((dtype) => errorChart(claim.rows, dtype)),
    scoreChart(claim.rows, 'scale after the matmul', 'float32'),
    scoreChart(claim.rows, 'scale after the matmul', 'float16'),
    scoreChart(claim.rows, 'scale q before', 'float32'), // its float16-accumulation shares are in the CSV
  ];
}
