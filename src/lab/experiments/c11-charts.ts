import { fmt, type ClaimResult } from '../experiment.js';
import { measuredVsTheoryChart } from '../charts.js';
import { numberField, stringField } from '../rows.js';
import type { ChartSpec, Row } from '../types.js';

const mean = (xs: number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;

/** One point per (group, step): the mean of `field` over the heads of that step. */
function perStep(rows: readonly Row[], field: string, group: (r: Row) => string): Row[] {
  const keys = [...new Set(rows.map((r) => `${group(r)}|${numberField(r, 'step')}`))];
  return keys.map((key) => {
    const [series, step] = key.split('|');
    const here = rows.filter((r) => group(r) === series && numberField(r, 'step') === Number(step));
    return { series, step: Number(step), value: mean(here.map((r) => numberField(r, field))) };
  });
}

/** C11's charts, from its rows: logits and final loss against learning rate (with chance), entropy, the learnt temperature and Zhai's bound along the run. */
export function c11Charts(claim: ClaimResult): ChartSpec[] {
  const runs = claim.rows.filter((r) => r.part === 'run');
  const steps = claim.rows.filter((r) => r.part === 'step');
  const heads = claim.rows.filter((r) => r.part === 'head');
  const lrs = runs.map((r) => numberField(r, 'lr'));
  const [lo, hi] = [Math.min(...lrs), Math.max(...lrs)];
  const chance = numberField(claim.parameters, 'chanceLoss');
  const stall = numberField(claim.parameters, 'stallShare');
  const lossPoints = runs.map((r) => ({ ...r, series: stringField(r, 'rule'), state: r.stalled ? 'stalled' : 'trained' }));
  const lines = [
    { series: `chance, ln ${fmt(Math.exp(chance))}`, lr: lo, countedLoss: chance }, { series: `chance, ln ${fmt(Math.exp(chance))}`, lr: hi, countedLoss: chance },
    { series: `stall line, ${stall} × chance`, lr: lo, countedLoss: stall * chance }, { series: `stall line, ${stall} × chance`, lr: hi, countedLoss: stall * chance },
  ];
  const topSteps = steps.filter((r) => r.lr === hi && r.seed === 0).map((r) => ({ ...r, series: stringField(r, 'rule') }));
  const tau = perStep(heads.filter((r) => r.rule === 'qk-norm' && r.seed === 0), 'learnt', (r) => `lr ${fmt(numberField(r, 'lr'))}`);
  const zhai = heads.filter((r) => r.rule === 'rsqrt' && r.lr === hi && r.seed === 0);
  const zhaiPoints = [...perStep(zhai, 'entropy', () => 'measured entropy'), ...perStep(zhai, 'entropyBound', () => 'Zhai bound (σ form)')];
  const size = { width: 330, height: 230 };
  return [
    measuredVsTheoryChart({
      ...size, title: 'Largest attention logit against learning rate', subtitle: 'one point per run: the largest over its steps', series: 'rule', seriesTitle: 'rule',
      x: { field: 'lr', title: 'peak learning rate', log: true }, y: { field: 'maxLogit', title: 'largest logit', log: true }, points: runs,
    }),
    measuredVsTheoryChart({
      ...size, title: 'Final loss against learning rate', subtitle: 'points: runs · dashed: chance and the stall line', series: 'series', seriesTitle: '', shape: 'state',
      x: { field: 'lr', title: 'peak learning rate', log: true }, y: { field: 'countedLoss', title: 'validation loss (nats)' }, points: lossPoints, theory: lines,
    }),
    measuredVsTheoryChart({
      ...size, title: `Smallest head entropy over training, lr ${fmt(hi)}`, subtitle: 'seed 0', series: 'series', seriesTitle: 'rule', connect: true,
      x: { field: 'step', title: 'step' }, y: { field: 'minEntropy', title: 'smallest head entropy (nats)' }, points: topSteps,
    }),
    measuredVsTheoryChart({
      ...size, title: 'QK-norm\'s learnt temperature τ along the run', subtitle: 'seed 0, mean over heads', series: 'series', seriesTitle: 'learning rate', connect: true,
      x: { field: 'step', title: 'step' }, y: { field: 'value', title: 'τ', log: true }, points: tau,
    }),
    measuredVsTheoryChart({
      ...size, title: `Head entropy and Zhai's bound, 1/√d_k, lr ${fmt(hi)}`, subtitle: 'seed 0, mean over heads', series: 'series', seriesTitle: '', connect: true,
      x: { field: 'step', title: 'step' }, y: { field: 'value', title: 'nats' }, points: zhaiPoints,
    }),
  ];
}
