import { measuredVsTheoryChart } from '../charts.js';
import type { ClaimResult } from '../experiment.js';
import { numberField, stringField } from '../rows.js';
import { mean } from '../stats.js';
import type { ChartSpec, Row } from '../types.js';

/** One point per (rule, x) of the rows: the mean of `field` over the rest (seeds…), with the min–max spread as the error bar. */
function meanByRule(rows: readonly Row[], x: string, field: string): Row[] {
  const keys = [...new Set(rows.map((r) => `${stringField(r, 'rule')}|${numberField(r, x)}`))];
  return keys.map((key) => {
    const [rule, at] = key.split('|');
    const values = rows.filter((r) => r.rule === rule && r[x] === Number(at)).map((r) => numberField(r, field));
    return { rule, [x]: Number(at), [field]: mean(values), low: Math.min(...values), high: Math.max(...values) };
  });
}

const COMMON = { series: 'rule', seriesTitle: 'scale rule', width: 300, height: 210, connect: true, errorLow: 'low', errorHigh: 'high' };

/** C8's charts, from its rows: per optimiser the names curves, then the initial gradient, then recall against length. */
export function trainingCharts(claim: ClaimResult): ChartSpec[] {
  const names = claim.rows.filter((r) => r.study === 'names');
  const dims = [...new Set(names.map((r) => numberField(r, 'd')))];
  const dMax = Math.max(...dims);
  const optimizers = [...new Set(names.map((r) => stringField(r, 'optimizer')))];
  const curve = (d: number, optimizer: string, field: string): Row[] =>
    meanByRule(names.filter((r) => r.d === d && r.optimizer === optimizer), 'step', field);
  const charts = optimizers.flatMap((o) => [
    ...[...dims].sort((a, b) => a - b).map((d) => measuredVsTheoryChart({
      ...COMMON, title: `Validation loss, d_k = ${d}, ${o}`, subtitle: 'mean over seeds, bars: min–max',
      x: { field: 'step', title: 'step' }, y: { field: 'valLoss', title: 'validation loss (nats/char)' }, points: curve(d, o, 'valLoss'),
    })),
    measuredVsTheoryChart({
      ...COMMON, title: `Training loss, d_k = ${dMax}, ${o}`, subtitle: 'mean over the steps since the previous point and over seeds, bars: min–max',
      x: { field: 'step', title: 'step' }, y: { field: 'trainLoss', title: 'training loss (nats/char)' }, points: curve(dMax, o, 'trainLoss'),
    }),
    measuredVsTheoryChart({
      ...COMMON, title: `‖∂L/∂W_q‖ over training, d_k = ${dMax}, ${o}`, subtitle: 'before clipping; mean over seeds, bars: min–max',
      x: { field: 'step', title: 'step' }, y: { field: 'qGradNorm', title: '‖∂L/∂W_q‖', log: true }, points: curve(dMax, o, 'qGradNorm'),
    }),
    measuredVsTheoryChart({
      ...COMMON, title: `Attention entropy over training, d_k = ${dMax}, ${o}`, subtitle: 'mean over layers, heads and rows; bars: min–max over seeds',
      x: { field: 'step', title: 'step' }, y: { field: 'attnEntropy', title: 'entropy (nats)' }, points: curve(dMax, o, 'attnEntropy'),
    }),
  ]);
  charts.push(measuredVsTheoryChart({
    series: 'rule', seriesTitle: 'scale rule', width: 300, height: 210,
    title: '‖∂L/∂W_q‖ at initialisation', subtitle: 'one point per seed (first names batch)',
    x: { field: 'd', title: 'head dim d_k', log: true }, y: { field: 'initQGradNorm', title: '‖∂L/∂W_q‖ at step 0', log: true },
    points: claim.rows.filter((r) => r.study === 'init'),
  }));
  const lengths = claim.rows.filter((r) => r.study === 'recall-length');
  charts.push(
    measuredVsTheoryChart({
      ...COMMON, title: 'Recall accuracy at longer lengths', subtitle: 'trained at 1×; mean over seeds and optimisers, bars: min–max',
      x: { field: 'multiple', title: 'length / training length', log: true }, y: { field: 'accuracy', title: 'accuracy', domain: [0, 1] },
      points: meanByRule(lengths, 'multiple', 'accuracy'),
    }),
    measuredVsTheoryChart({
      ...COMMON, title: 'Attention entropy at longer lengths', subtitle: 'trained at 1×; mean over seeds and optimisers, bars: min–max',
      x: { field: 'multiple', title: 'length / training length', log: true }, y: { field: 'attnEntropy', title: 'entropy (nats)' },
      points: meanByRule(lengths, 'multiple', 'attnEntropy'),
    }),
  );
  return charts;
}
