import { geomspace, measuredVsTheoryChart } from '../charts.js';
import type { ClaimResult } from '../experiment.js';
import { logTwoKeyJacobianNorm } from '../order-stats.js';
import { numberField } from '../rows.js';
import type { ChartSpec, Row } from '../types.js';

const SIGMA_STATISTICS: [string, string][] = [['jacobianMean', 'mean'], ['jacobianQ90', '90% quantile'], ['jacobianMedian', 'median'], ['jacobianQ10', '10% quantile']];

/** The mechanism: each statistic of ‖J‖ against the logit std, beside h(σ·g) for the gap quantiles and the mean's 1/σ. */
function sigmaChart(claim: ClaimResult): ChartSpec {
  const bySigma = claim.rows.filter((r) => r.part === 'logit std');
  const points: Row[] = bySigma.flatMap((r) => SIGMA_STATISTICS.map(([field, name]) => ({ x: r.sigma, y: r[field], statistic: name })));
  const gap = (name: string): number => numberField(claim.parameters, name);
  const last = bySigma[bySigma.length - 1];
  const grid = geomspace(2, last === undefined ? 64 : numberField(last, 'sigma'), 40);
  const curve = (gapName: string, statistic: string): Row[] => grid.map((x) => ({ x, y: Math.exp(logTwoKeyJacobianNorm(x * gap(gapName))), statistic }));
  const theory: Row[] = [
    ...curve('gapQuantile10', '90% quantile'),
    ...curve('gapMedian', 'median'),
    ...curve('gapQuantile90', '10% quantile'),
    ...(last ? grid.filter((x) => x >= 8).map((x) => ({ x, y: numberField(last, 'jacobianMean') * (numberField(last, 'sigma') / x), statistic: 'mean' })) : []),
  ];
  return measuredVsTheoryChart({
    title: 'The mechanism: ‖J‖ against the logit std', subtitle: 'dashed: theory (order statistics; mean ∝ 1/σ)',
    x: { field: 'x', title: 'logit standard deviation σ', log: true }, y: { field: 'y', title: '‖diag(p) − ppᵀ‖_F', log: true },
    points, theory, series: 'statistic', seriesTitle: 'over rows', width: 360, height: 250,
  });
}

/** Through attention: the mean and median of ‖J‖ (prefix 'jacobian') or ‖∂L/∂q‖ (prefix 'dq') per query row against d_k. */
function attentionChart(claim: ClaimResult, prefix: 'jacobian' | 'dq', title: string, yTitle: string): ChartSpec {
  const attention = claim.rows.filter((r) => r.part === 'attention');
  const series = (field: string, name: string): Row[] => attention.map((r) => ({ d: r.d, y: r[field], series: `${r.scaling} · ${name}` }));
  const points = [...series(`${prefix}Mean`, 'mean'), ...series(`${prefix}Median`, 'median')];
  const gapMedian = numberField(claim.parameters, 'gapMedian');
  const theory: Row[] = prefix === 'jacobian'
    ? attention
      .filter((r) => r.scaling === 'unscaled' && numberField(r, 'd') >= 64)
      .map((r) => ({ d: r.d, y: Math.exp(logTwoKeyJacobianNorm(Math.sqrt(numberField(r, 'd')) * gapMedian)), series: 'unscaled · median' }))
    : [];
  return measuredVsTheoryChart({
    title, subtitle: prefix === 'jacobian' ? 'dashed: h(√d_k · median gap), theory' : 'points: measured (mean and median over rows)',
    x: { field: 'd', title: 'key dimension d_k', log: true }, y: { field: 'y', title: yTitle, log: true },
    points, theory, series: 'series', seriesTitle: 'statistic', connect: true, width: 300, height: 220,
  });
}

/** C3's charts, from its rows and parameters. */
export function gradientCharts(claim: ClaimResult): ChartSpec[] {
  return [
    sigmaChart(claim),
    attentionChart(claim, 'jacobian', 'Through attention: ‖J‖ per query row', '‖J‖_F'),
    attentionChart(claim, 'dq', 'Through attention: ‖∂L/∂q‖ per query row', '‖∂L/∂q‖'),
  ];
}
