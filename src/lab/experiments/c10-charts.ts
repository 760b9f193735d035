import { measuredVsTheoryChart } from '../charts.js';
import type { ClaimResult } from '../experiment.js';
import { numberField, stringField } from '../rows.js';
import { mean } from '../stats.js';
import type { ChartSpec, Row } from '../types.js';

/** One point per (variant, n) of the rows: the mean of `field` over seeds, with the min–max over seeds as its error bar. */
function overSeeds(rows: readonly Row[], field: string): Row[] {
  const keys = [...new Set(rows.map((r) => `${stringField(r, 'variant')}|${numberField(r, 'n')}`))];
  return keys.map((key) => {
    const [variant, n] = key.split('|');
    const values = rows.filter((r) => r.variant === variant && r.n === Number(n)).map((r) => numberField(r, field));
    return { variant, n: Number(n), [field]: mean(values), low: Math.min(...values), high: Math.max(...values) };
  });
}

/** C10's charts: accuracy (per-seed spread as bars) for each priority task, then top weight and the plain head's odds on the discrete task. */
export function retrievalCharts(claim: ClaimResult): ChartSpec[] {
  const common = { series: 'variant', seriesTitle: 'head', width: 330, height: 230, connect: true };
  const tasks = [...new Set(claim.rows.map((r) => stringField(r, 'task')))];
  const of = (task: string): Row[] => claim.rows.filter((r) => r.task === task);
  const levels = (task: string): number => numberField(of(task)[0], 'levels');
  const charts = tasks.map((task) => measuredVsTheoryChart({
    ...common, errorLow: 'low', errorHigh: 'high',
    title: `Accuracy, ${levels(task)} priority levels`, subtitle: 'mean, bars: min–max over seeds',
    x: { field: 'n', title: 'items n', log: true }, y: { field: 'accuracy', title: 'accuracy', domain: [0, 1] }, points: overSeeds(of(task), 'accuracy'),
  }));
  for (const task of tasks) {
    charts.push(measuredVsTheoryChart({
      ...common, errorLow: 'low', errorHigh: 'high',
      title: `Top attention weight, ${levels(task)} levels`, subtitle: 'mean, bars: min–max over seeds',
      x: { field: 'n', title: 'items n', log: true }, y: { field: 'maxWeight', title: 'top weight', domain: [0, 1] }, points: overSeeds(of(task), 'maxWeight'),
    }));
  }
  const discrete = of(tasks[0] ?? '');
  const odds = overSeeds(discrete, 'topOdds').filter((r) => numberField(r, 'topOdds') > 0);
  const plain = odds.filter((r) => r.variant === 'plain');
  const first = plain[0];
  charts.push(measuredVsTheoryChart({
    ...common, title: `Odds against the top key, ${tasks[0] ? levels(tasks[0]) : ''} levels`, subtitle: 'dashed: plain head, ∝ n − 1 through its first point',
    x: { field: 'n', title: 'items n', log: true }, y: { field: 'topOdds', title: 'mean (1 − w)/w', log: true }, points: odds.map(({ low: _l, high: _h, ...r }) => r),
    theory: first ? plain.map((r) => ({ variant: 'plain', n: r.n, topOdds: (numberField(first, 'topOdds') * (numberField(r, 'n') - 1)) / (numberField(first, 'n') - 1) })) : [],
  }));
  return charts;
}
