import { fmt, makeCheck, verdictPhrase, type Check, type ClaimResult, type Experiment } from '../experiment.js';
import { numberField } from '../rows.js';
import type { Row } from '../types.js';
import { measuredVsTheoryChart } from '../charts.js';
import { normals, rowDots } from '../sampling.js';
import { averageWithError, varianceWithError, TOLERANCE_SIGMAS } from '../stats.js';
import { logLogFit } from './fits.js';

/** The general case: q components of std 0.5 and k components of std 3, so Var(q·k) = 2.25 d_k. */
const SQ = 0.5;
const SK = 3;

/**
 * C1. q·k = Σᵢ qᵢkᵢ is a sum of d_k independent terms of mean 0 and variance
 * Var(qᵢ)Var(kᵢ), so Var(q·k) = d_k σq²σk²: it grows linearly in d_k, and
 * dividing by √d_k brings it back to σq²σk².
 */
export const variance: Experiment = {
  id: 'C1',
  slug: 'variance',
  title: 'Dot products grow with d_k',
  statement: 'If q and k have iid components of mean 0 and variance 1, Var(q·k) = d_k; divided by √d_k it is 1; in general Var(q·k) = d_k σq² σk².',
  theory:
    'q·k is a sum of d_k independent products qᵢkᵢ, each of mean 0 and variance σq²σk², and variances of independent terms add: Var(q·k) = d_k σq²σk². ' +
    'On log-log axes that is a line of slope 1; after dividing by √d_k the variance is σq²σk² for every d_k.',
  run({ settings, seedFor, progress }) {
    const sampleCount = settings.mode === 'quick' ? 1000 : 2000;
    const generalSampleCount = sampleCount / 2; // its check pools the grid; half the draws keep the run short
    const rows: Row[] = [];
    const series = [
      { name: 'q·k, σq = σk = 1', sq: 1, sk: 1, divide: false },
      { name: 'q·k/√d_k, σq = σk = 1', sq: 1, sk: 1, divide: true },
      { name: `q·k, σq = ${SQ}, σk = ${SK}`, sq: SQ, sk: SK, divide: false },
    ];
    settings.dims.forEach((d, i) => {
      const q = normals(sampleCount, d, seedFor('q', d));
      const k = normals(sampleCount, d, seedFor('k', d));
      const q2 = normals(generalSampleCount, d, seedFor('q-general', d), SQ);
      const k2 = normals(generalSampleCount, d, seedFor('k-general', d), SK);
      const dots = rowDots(q, k, sampleCount, d);
      const scaled = dots.map((x) => x / Math.sqrt(d));
      const general = rowDots(q2, k2, generalSampleCount, d);
      for (const [s, values] of [[series[0], dots], [series[1], scaled], [series[2], general]] as const) {
        const { value, se } = varianceWithError(values);
        const theory = (s.divide ? 1 : d) * s.sq ** 2 * s.sk ** 2;
        rows.push({ series: s.name, d, variance: value, se, low: value - 2 * se, high: value + 2 * se, theory, ratio: value / theory, ratioSe: se / theory });
      }
      progress((i + 1) / settings.dims.length);
    });

    const pick = (name: string): Row[] => rows.filter((r) => r.series === name);
    const unscaled = pick(series[0].name);
    const fit = logLogFit(unscaled.map((r) => numberField(r, 'd')), unscaled.map((r) => numberField(r, 'variance')), unscaled.map((r) => numberField(r, 'se')));
    const pooled = (rs: Row[]): { value: number; se: number } => averageWithError(rs.map((r) => numberField(r, 'ratio')), rs.map((r) => numberField(r, 'ratioSe')));
    const scaled = pooled(pick(series[1].name));
    const general = pooled(pick(series[2].name));
    const checks: Check[] = [
      makeCheck({
        id: 'C1.a',
        statement: 'Var(q·k) grows as d_k¹ (unit-variance components).',
        quantity: 'log-log slope of Var(q·k) against d_k',
        measured: fit.slope,
        predicted: 1,
        tolerance: TOLERANCE_SIGMAS * fit.se,
        toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the slope, propagated from each point's sampling error (fourth-moment formula), or from the residuals if larger`,
        alternative: 0,
      }),
      makeCheck({
        id: 'C1.b',
        statement: 'Var(q·k/√d_k) = 1 at every d_k.',
        quantity: 'Var(q·k/√d_k), averaged over the d_k grid',
        measured: scaled.value,
        predicted: 1,
        tolerance: TOLERANCE_SIGMAS * scaled.se,
        toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the average`,
      }),
      makeCheck({
        id: 'C1.c',
        statement: `Var(q·k) = d_k σq²σk² for σq = ${SQ}, σk = ${SK}.`,
        quantity: 'Var(q·k) / (d_k σq²σk²), averaged over the d_k grid',
        measured: general.value,
        predicted: 1,
        tolerance: TOLERANCE_SIGMAS * general.se,
        toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the average`,
      }),
    ];
    const first = unscaled[0];
    const last = unscaled[unscaled.length - 1];
    return {
      checks,
      rows,
      meaning:
        `From d_k = ${first.d} to d_k = ${last.d} the variance of q·k went from ${fmt(numberField(first, 'variance'))} to ${fmt(numberField(last, 'variance'))}: ` +
        `a power law with exponent ${fmt(fit.slope)} ± ${fmt(fit.se)} (standard error; 1 predicted by independence; ${verdictPhrase(checks[0])}). ` +
        `Dividing by √d_k held it at ${fmt(scaled.value)} on average (1 predicted; ${verdictPhrase(checks[1])}): the logits keep the same spread whatever the head size; ` +
        `with σq = ${SQ} and σk = ${SK} the ratio to d_k σq²σk² was ${fmt(general.value)}.`,
      findings: [],
      parameters: { samplesPerPoint: sampleCount, samplesPerPointGeneral: generalSampleCount, dims: settings.dims },
    };
  },
  charts(claim: ClaimResult) {
    const theory = claim.rows.map((r) => ({ d: r.d, variance: r.theory, series: r.series }));
    return [
      measuredVsTheoryChart({
        title: 'Variance of the dot product q·k',
        x: { field: 'd', title: 'key dimension d_k', log: true },
        y: { field: 'variance', title: 'Var(q·k)', log: true },
        points: claim.rows,
        theory,
        series: 'series',
        seriesTitle: 'logits',
        errorLow: 'low',
        errorHigh: 'high',
        width: 460,
        height: 280,
      }),
    ];
  },
};
