import { fmt, makeCheck, verdictPhrase, type ClaimResult, type Experiment } from '../experiment.js';
import { numberField, stringField } from '../rows.js';
import type { Row } from '../types.js';
import { measuredVsTheoryChart } from '../charts.js';
import { normals, scoresMatrix } from '../sampling.js';
import { rowStats } from '../softmax-stats.js';
import { mean, standardError, TOLERANCE_SIGMAS } from '../stats.js';
import { topTwoGaps } from '../order-stats.js';
import { pooledLogLogSlope } from './fits.js';

/** d_k from which the unscaled logits (std ≈ √d_k ≥ 16) are deep in the saturated regime. */
const ASYMPTOTIC_DIM = 256;
/** d_k from which |q|²/d_k has concentrated enough that the scaled softmax no longer depends on d_k. */
const FLAT_FROM_DIM = 16;
const SATURATED = 0.99;
/** With two live keys max p > 0.99 exactly when σ·G > ln(0.99/0.01) = ln 99, G the gap between the top two logits over σ. */
const SATURATION_GAP = Math.log(SATURATED / (1 - SATURATED));

/**
 * C2. With logits q·kⱼ of standard deviation σ over n keys, the softmax is a
 * function of σ and n only. Unscaled, σ = √d_k grows and the softmax goes
 * one-hot; scaled, σ = 1 for every d_k.
 */
export const saturation: Experiment = {
  id: 'C2',
  slug: 'saturation',
  title: 'Unscaled logits saturate the softmax',
  statement:
    'Without the scale the softmax over n keys goes one-hot as d_k grows (mean max-probability → 1, entropy → 0, share of rows with max p > 0.99 → 1); with 1/√d_k these stay flat in d_k.',
  theory:
    'Given q, the logits q·kⱼ are n independent N(0, |q|²) draws, and |q| ≈ √d_k. As σ = √d_k grows, the row is decided by the gap G between its two largest logits: ' +
    '1 − max p ≈ e^(−σG). Because G has a positive density at 0 (near-ties), the average of e^(−σG) falls like 1/σ = d_k^(−1/2): ' +
    '1 − mean max p and the mean entropy fall as d_k^(−1/2). A row keeps max p ≤ 0.99 while σG < ln 99, so the unsaturated share is P(G < ln 99/√d_k), computed here from the order statistics of n normals alone. ' +
    'With the scale, σ = |q|/√d_k → 1 and nothing depends on d_k.',
  run({ settings, seedFor, progress }) {
    const groupCount = 2; // independent key sets per cell, so the spread between key draws is part of the error
    const rowsPerGroup = settings.mode === 'quick' ? 48 : 96;
    const rows: Row[] = [];
    // The independent side of C2.c: top-two gaps of n standard normals, no softmax and no dot product.
    const gapDrawCount = settings.mode === 'quick' ? 2000 : 4000;
    const gaps = new Map(settings.keyCounts.map((n) => [n, topTwoGaps(n, gapDrawCount, seedFor('gaps', n))]));
    const cells = settings.keyCounts.length * settings.dims.length;
    let done = 0;
    for (const n of settings.keyCounts) {
      for (const d of settings.dims) {
        const total = groupCount * rowsPerGroup;
        const unscaled = new Float64Array(total * n);
        for (let g = 0; g < groupCount; g++) {
          const q = normals(rowsPerGroup, d, seedFor('q', n, d, g));
          const k = normals(n, d, seedFor('k', n, d, g));
          unscaled.set(scoresMatrix(q, k, rowsPerGroup, n, d), g * rowsPerGroup * n);
        }
        const scaled = unscaled.map((x) => x / Math.sqrt(d));
        // Two-key theory for the unscaled rows (σ = √d_k): not saturated iff G < ln 99 / √d_k.
        const nGaps = gaps.get(n) as Float64Array;
        const theoryNotSaturated = nGaps.reduce((a, g) => a + (g < SATURATION_GAP / Math.sqrt(d) ? 1 : 0), 0) / nGaps.length;
        for (const [scaling, logits] of [['unscaled', unscaled], ['scaled', scaled]] as const) {
          const s = rowStats(logits, total, n);
          const share = s.maxProb.reduce((a, p) => a + (p > SATURATED ? 1 : 0), 0) / total;
          rows.push({
            n, d, scaling,
            meanMaxProb: mean(s.maxProb), seMaxProb: standardError(s.maxProb),
            gapToOneHot: mean(s.gapToOneHot), seGap: standardError(s.gapToOneHot),
            entropy: mean(s.entropy), seEntropy: standardError(s.entropy),
            shareSaturated: share, notSaturated: 1 - share, seShare: Math.sqrt(Math.max(share * (1 - share), 1 / total) / total),
            ...(scaling === 'unscaled'
              ? { theoryNotSaturated, seTheoryNotSaturated: Math.sqrt(Math.max(theoryNotSaturated * (1 - theoryNotSaturated), 1 / gapDrawCount) / gapDrawCount) }
              : {}),
            rows: total,
          });
        }
        progress(++done / cells);
      }
    }

    const slopeOf = (scaling: string, field: string, seField: string, fromDim: number): ReturnType<typeof pooledLogLogSlope> =>
      pooledLogLogSlope(settings.keyCounts.map((n) => {
        const pts = rows.filter((r) => r.n === n && r.scaling === scaling && (numberField(r, 'd')) >= fromDim);
        return { series: n, xs: pts.map((r) => numberField(r, 'd')), ys: pts.map((r) => numberField(r, field)), ses: pts.map((r) => numberField(r, seField)) };
      }));
    const gapU = slopeOf('unscaled', 'gapToOneHot', 'seGap', ASYMPTOTIC_DIM);
    const entU = slopeOf('unscaled', 'entropy', 'seEntropy', ASYMPTOTIC_DIM);
    const dMax = Math.max(...settings.dims);
    const topRows = rows.filter((r) => r.scaling === 'unscaled' && r.d === dMax);
    const shareMeasured = mean(topRows.map((r) => numberField(r, 'notSaturated')));
    const sharePredicted = mean(topRows.map((r) => numberField(r, 'theoryNotSaturated')));
    const shareSe = Math.sqrt(topRows.reduce((a, r) => a + (numberField(r, 'seShare')) ** 2 + (numberField(r, 'seTheoryNotSaturated')) ** 2, 0)) / topRows.length;
    const maxS = slopeOf('scaled', 'meanMaxProb', 'seMaxProb', FLAT_FROM_DIM);
    const entS = slopeOf('scaled', 'entropy', 'seEntropy', FLAT_FROM_DIM);
    const basis = `${TOLERANCE_SIGMAS} standard errors of the slope averaged over n, propagated from each point's standard error, or from the residuals if larger`;
    const checks = [
      makeCheck({
        id: 'C2.a', statement: 'Unscaled, 1 − mean max p falls as d_k^(−1/2) (max p → 1).',
        quantity: `log-log slope of 1 − mean max p in d_k for d_k ≥ ${ASYMPTOTIC_DIM}, averaged over n`,
        measured: gapU.slope, predicted: -0.5, tolerance: TOLERANCE_SIGMAS * gapU.se, toleranceBasis: basis, alternative: 0,
      }),
      makeCheck({
        id: 'C2.b', statement: 'Unscaled, the mean entropy falls as d_k^(−1/2) (→ 0).',
        quantity: `log-log slope of mean entropy in d_k for d_k ≥ ${ASYMPTOTIC_DIM}, averaged over n`,
        measured: entU.slope, predicted: -0.5, tolerance: TOLERANCE_SIGMAS * entU.se, toleranceBasis: basis, alternative: 0,
      }),
      makeCheck({
        id: 'C2.c', statement: `Unscaled, a row stays unsaturated (max p ≤ ${SATURATED}) only while its top two logits are within ln 99 of each other: P(G < ln 99/√d_k).`,
        quantity: `share of rows with max p ≤ ${SATURATED} at d_k = ${dMax}, averaged over n`,
        measured: shareMeasured, predicted: sharePredicted, tolerance: TOLERANCE_SIGMAS * shareSe,
        toleranceBasis: `${TOLERANCE_SIGMAS} standard errors (binomial) of the measured share and of the predicted probability, averaged over n`,
      }),
      makeCheck({
        id: 'C2.d', statement: 'Scaled, the mean max-probability does not depend on d_k.',
        quantity: `log-log slope of mean max p in d_k for d_k ≥ ${FLAT_FROM_DIM}, averaged over n`,
        measured: maxS.slope, predicted: 0, tolerance: TOLERANCE_SIGMAS * maxS.se, toleranceBasis: basis,
      }),
      makeCheck({
        id: 'C2.e', statement: 'Scaled, the mean entropy does not depend on d_k.',
        quantity: `log-log slope of mean entropy in d_k for d_k ≥ ${FLAT_FROM_DIM}, averaged over n`,
        measured: entS.slope, predicted: 0, tolerance: TOLERANCE_SIGMAS * entS.se, toleranceBasis: basis, alternative: -0.5,
      }),
    ];
    const at = (scaling: string, n: number): Row => rows.find((r) => r.scaling === scaling && r.n === n && r.d === dMax) ?? {};
    const nBig = Math.max(...settings.keyCounts);
    const nSmall = Math.min(...settings.keyCounts);
    return {
      checks,
      rows,
      meaning:
        `At d_k = ${dMax} without the scale, the mean max-probability over n = ${nBig} keys was ${fmt(numberField(at('unscaled', nBig), 'meanMaxProb'))} ` +
        `and ${fmt(100 * (numberField(at('unscaled', nBig), 'shareSaturated')))}% of rows put more than ${SATURATED} on one key; with the scale it was ` +
        `${fmt(numberField(at('scaled', nBig), 'meanMaxProb'))} (${fmt(100 * (numberField(at('scaled', nBig), 'shareSaturated')))}% of rows). ` +
        `The unscaled approach to one-hot is a power law with exponent ${fmt(gapU.slope)} ± ${fmt(gapU.se)} (−1/2 predicted; ${verdictPhrase(checks[0])}): slow, because rows whose top two logits nearly tie stay soft. ` +
        `Scaled, the statistics depend on n only: mean entropy ${fmt(numberField(at('scaled', nSmall), 'entropy'))} nats at n = ${nSmall} and ${fmt(numberField(at('scaled', nBig), 'entropy'))} at n = ${nBig}, whatever d_k.`,
      findings: [],
      parameters: { gapDraws: gapDrawCount, rowsPerCell: groupCount * rowsPerGroup, keySetsPerCell: groupCount, dims: settings.dims, keyCounts: settings.keyCounts, asymptoticFromDim: ASYMPTOTIC_DIM, flatFromDim: FLAT_FROM_DIM },
    };
  },
  charts(claim: ClaimResult) {
    const label = (r: Row): string => `n = ${r.n}`;
    const pick = (scaling: string): Row[] => claim.rows.filter((r) => r.scaling === scaling).map((r) => ({ ...r, keys: label(r) }));
    const unscaled = pick('unscaled');
    const scaled = pick('scaled');
    // Theory predicts the exponent, not the constant: the line has slope −1/2 and passes through the measured point at the largest d_k.
    const slopeLine = (rs: Row[], field: string): Row[] =>
      [...new Set(rs.map((r) => stringField(r, 'keys')))].flatMap((keys) => {
        const pts = rs.filter((r) => r.keys === keys && (numberField(r, 'd')) >= ASYMPTOTIC_DIM);
        const last = pts[pts.length - 1];
        if (!last || !((numberField(last, field)) > 0)) return [];
        return pts.map((r) => ({ d: r.d, keys, [field]: (numberField(last, field)) * ((numberField(r, 'd')) / (numberField(last, 'd'))) ** -0.5 }));
      });
    const flatLine = (rs: Row[], field: string): Row[] =>
      [...new Set(rs.map((r) => stringField(r, 'keys')))].flatMap((keys) => {
        const pts = rs.filter((r) => r.keys === keys && (numberField(r, 'd')) >= FLAT_FROM_DIM);
        const level = pts.reduce((a, r) => a + (numberField(r, field)), 0) / Math.max(pts.length, 1);
        return pts.map((r) => ({ d: r.d, keys, [field]: level }));
      });
    const common = { series: 'keys', seriesTitle: 'keys', width: 300, height: 210 };
    return [
      measuredVsTheoryChart({
        ...common, title: 'Unscaled: distance from one-hot', subtitle: 'dashed: theory slope −1/2 (through the last point)',
        x: { field: 'd', title: 'key dimension d_k', log: true }, y: { field: 'gapToOneHot', title: '1 − mean max p', log: true },
        points: unscaled, theory: slopeLine(unscaled, 'gapToOneHot'),
      }),
      measuredVsTheoryChart({
        ...common, title: 'Unscaled: mean entropy', subtitle: 'dashed: theory slope −1/2 (through the last point)',
        x: { field: 'd', title: 'key dimension d_k', log: true }, y: { field: 'entropy', title: 'mean entropy (nats)', log: true },
        points: unscaled, theory: slopeLine(unscaled, 'entropy'),
      }),
      measuredVsTheoryChart({
        ...common, title: 'Scaled by 1/√d_k: mean max p', subtitle: 'dashed: theory, flat in d_k (at the mean)',
        x: { field: 'd', title: 'key dimension d_k', log: true }, y: { field: 'meanMaxProb', title: 'mean max p', domain: [0, 1] },
        points: scaled, theory: flatLine(scaled, 'meanMaxProb'),
      }),
      measuredVsTheoryChart({
        ...common, title: `Share of rows with max p > ${SATURATED}`, subtitle: '○ unscaled · □ scaled · dashed: two-key theory',
        x: { field: 'd', title: 'key dimension d_k', log: true }, y: { field: 'shareSaturated', title: 'share of rows', domain: [0, 1] },
        points: [...unscaled, ...scaled], shape: 'scaling',
        theory: unscaled.filter((r) => (numberField(r, 'd')) >= 16).map((r) => ({ d: r.d, keys: r.keys, shareSaturated: 1 - (numberField(r, 'theoryNotSaturated')) })),
      }),
    ];
  },
};
