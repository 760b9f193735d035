import { geomspace, measuredVsTheoryChart } from '../charts.js';
import type { ClaimResult } from '../experiment.js';
import { lengthFactor, type LengthFactor } from '../length.js';
import { numberField, stringField } from '../rows.js';
import type { ChartSpec, Row } from '../types.js';
import { RANDOM_FACTORS, shortLabel, validRelEntropy } from './c9-measure.js';

/**
 * The leading-order H/ln n for every (factor, σ) of the rows, on a fine grid
 * of n and only where the law is valid (validRelEntropy): no dashed line is
 * drawn where the theory does not apply.
 */
function relEntropyTheory(random: readonly Row[]): Row[] {
  const ns = random.map((r) => numberField(r, 'n'));
  const grid = geomspace(Math.min(...ns), Math.max(...ns), 80);
  const sigmas = [...new Set(random.map((r) => numberField(r, 'sigma')))];
  return sigmas.flatMap((sigma) => RANDOM_FACTORS.flatMap((factor: LengthFactor) => grid.flatMap((n) => {
    const rel = validRelEntropy(sigma, lengthFactor(factor, n), n);
    return rel === null ? [] : [{ n, relEntropy: rel, series: `${shortLabel(factor)}, σ = ${sigma}` }];
  })));
}

/** C9's charts, from its rows: the needle (with Su's factor), H/ln n, and mean max p of random rows. */
export function lengthCharts(claim: ClaimResult): ChartSpec[] {
  const needle = claim.rows.filter((r) => r.part === 'needle');
  const random = claim.rows.filter((r) => r.part === 'random');
  const common = { width: 330, height: 230 };
  return [
    measuredVsTheoryChart({
      ...common, title: 'Needle: max p against length', series: 'series', seriesTitle: 'logits times', subtitle: 'points: softmax · dashed: closed form',
      x: { field: 'n', title: 'keys n', log: true }, y: { field: 'maxProb', title: 'max p (needle)', domain: [0, 1] },
      points: needle, theory: needle.map((r) => ({ n: numberField(r, 'n'), maxProb: numberField(r, 'closedMaxProb'), series: stringField(r, 'series') })),
    }),
    measuredVsTheoryChart({
      ...common, title: 'Random rows: H / ln n', series: 'series', seriesTitle: 'factor, σ',
      subtitle: 'dashed: law, only where n ≥ 10e^((σf)²)',
      x: { field: 'n', title: 'keys n', log: true }, y: { field: 'relEntropy', title: 'H / ln n', domain: [0, 1] },
      points: random, theory: relEntropyTheory(random),
    }),
    measuredVsTheoryChart({
      ...common, title: 'Random rows: mean max p', series: 'series', seriesTitle: 'factor, σ', connect: true,
      x: { field: 'n', title: 'keys n', log: true }, y: { field: 'maxProb', title: 'mean max p', log: true },
      points: random,
    }),
  ];
}
