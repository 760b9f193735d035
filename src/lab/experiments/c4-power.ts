import { fmt, makeCheck, type Check, type ClaimResult, type Experiment } from '../experiment.js';
import { numberField } from '../rows.js';
import type { Row } from '../types.js';
import { measuredVsTheoryChart } from '../charts.js';
import { normals, rowDots, scoresMatrix } from '../sampling.js';
import { rowStats } from '../softmax-stats.js';
import { mean, standardError, TOLERANCE_SIGMAS } from '../stats.js';
import { logLogFit } from './fits.js';

const EXPONENTS = [0, 0.25, 0.5, 0.75, 1] as const;
const KEYS = 256;
/** Where the unscaled softmax is saturated (as in C2) and where small logits are small enough for the quadratic expansion. */
const SATURATED_FROM_DIM = 256;
const SMALL_LOGITS_FROM_DIM = 64;
const FLAT_FROM_DIM = 16;

/**
 * C4. Scaling logits by s = d_k^(−a) gives Var(s q·k) = d_k^(1−2a): only
 * a = 1/2 keeps the spread, and so the softmax, independent of d_k.
 */
export const power: Experiment = {
  id: 'C4',
  slug: 'power',
  title: 'Why the square root and not another power',
  statement:
    'With s = d_k^(−a), Var(s·q·k) grows as d_k^(1−2a): flat only at a = 1/2. Below it the softmax saturates (entropy → 0); above it attention flattens toward uniform (entropy → ln n).',
  theory:
    'Var(s·q·k) = s²·d_k = d_k^(1−2a), a log-log slope of 1 − 2a. For a < 1/2 the logits spread without bound and the softmax goes one-hot as in C2 (for a = 0 the mean entropy falls as d_k^(−1/2)). ' +
    'For a > 1/2 the logits shrink to 0 and the softmax tends to uniform: for small logits of variance σ², ln n − H ≈ σ²/2 (the second-order expansion of the entropy), so ln n − H falls as d_k^(1−2a). ' +
    'Only a = 1/2 keeps both the spread and the entropy independent of d_k. (The five spreads are one measurement of Var(q·k) rescaled by s², so their slopes differ by exactly 2a; the evidence on the failure modes is in the entropies.)',
  run({ settings, seedFor, progress }) {
    const groupCount = 2;
    const rowsPerGroup = settings.mode === 'quick' ? 48 : 96;
    const total = groupCount * rowsPerGroup;
    const rows: Row[] = [];
    settings.dims.forEach((d, index) => {
      const raw = new Float64Array(total * KEYS);
      for (let g = 0; g < groupCount; g++) {
        const q = normals(rowsPerGroup, d, seedFor('q', d, g));
        const k = normals(KEYS, d, seedFor('k', d, g));
        raw.set(scoresMatrix(q, k, rowsPerGroup, KEYS, d), g * rowsPerGroup * KEYS);
      }
      for (const a of EXPONENTS) {
        const scale = d ** -a;
        const logits = raw.map((x) => x * scale);
        // Each query row's mean squared logit is one sample of Var(logit): rows are the independent units.
        const meanSquare = rowDots(logits, logits, total, KEYS).map((s) => s / KEYS);
        const entropy = rowStats(logits, total, KEYS).entropy;
        const deficit = entropy.map((h) => Math.log(KEYS) - h);
        rows.push({
          a, d, variance: mean(meanSquare), seVariance: standardError(meanSquare), theoryVariance: d ** (1 - 2 * a),
          entropy: mean(entropy), seEntropy: standardError(entropy), entropyShare: mean(entropy) / Math.log(KEYS),
          entropyDeficit: mean(deficit), seDeficit: standardError(deficit),
        });
      }
      progress((index + 1) / settings.dims.length);
    });

    const series = (a: number, fromDim: number): Row[] => rows.filter((r) => r.a === a && (numberField(r, 'd')) >= fromDim);
    const slope = (a: number, field: string, seField: string, fromDim: number): ReturnType<typeof logLogFit> => {
      const pts = series(a, fromDim);
      return logLogFit(pts.map((r) => numberField(r, 'd')), pts.map((r) => numberField(r, field)), pts.map((r) => numberField(r, seField)));
    };
    const basis = `${TOLERANCE_SIGMAS} standard errors of the slope, propagated from each point's standard error over query rows, or from the residuals if larger`;
    const checks: Check[] = EXPONENTS.map((a, i) => {
      const fit = slope(a, 'variance', 'seVariance', 1);
      return makeCheck({
        id: `C4.${'abcde'[i]}`,
        statement: `With s = d_k^(−${a}), Var(logits) grows as d_k^(${1 - 2 * a}).`,
        quantity: `log-log slope of Var(s·q·k) in d_k, a = ${a}`,
        measured: fit.slope, predicted: 1 - 2 * a, tolerance: TOLERANCE_SIGMAS * fit.se, toleranceBasis: basis,
        alternative: a === 0.5 ? 1 : 0,
      });
    });
    const sat = slope(0, 'entropy', 'seEntropy', SATURATED_FROM_DIM);
    const flat = slope(0.5, 'entropy', 'seEntropy', FLAT_FROM_DIM);
    const uni1 = slope(1, 'entropyDeficit', 'seDeficit', SMALL_LOGITS_FROM_DIM);
    const uni75 = slope(0.75, 'entropyDeficit', 'seDeficit', SMALL_LOGITS_FROM_DIM);
    checks.push(
      makeCheck({
        id: 'C4.f', statement: 'a = 0 saturates: the mean entropy falls to 0 as d_k^(−1/2).',
        quantity: `log-log slope of mean entropy in d_k for d_k ≥ ${SATURATED_FROM_DIM}, a = 0`,
        measured: sat.slope, predicted: -0.5, tolerance: TOLERANCE_SIGMAS * sat.se, toleranceBasis: basis, alternative: 0,
      }),
      makeCheck({
        id: 'C4.g', statement: 'a = 1/2 keeps the entropy independent of d_k.',
        quantity: `log-log slope of mean entropy in d_k for d_k ≥ ${FLAT_FROM_DIM}, a = 0.5`,
        measured: flat.slope, predicted: 0, tolerance: TOLERANCE_SIGMAS * flat.se, toleranceBasis: basis, alternative: -0.5,
      }),
      makeCheck({
        id: 'C4.h', statement: 'a = 3/4 flattens attention: ln n − H falls as d_k^(−1/2).',
        quantity: `log-log slope of ln n − mean entropy in d_k for d_k ≥ ${SMALL_LOGITS_FROM_DIM}, a = 0.75`,
        measured: uni75.slope, predicted: -0.5, tolerance: TOLERANCE_SIGMAS * uni75.se, toleranceBasis: basis, alternative: 0,
      }),
      makeCheck({
        id: 'C4.i', statement: 'a = 1 flattens attention faster: ln n − H falls as d_k^(−1).',
        quantity: `log-log slope of ln n − mean entropy in d_k for d_k ≥ ${SMALL_LOGITS_FROM_DIM}, a = 1`,
        measured: uni1.slope, predicted: -1, tolerance: TOLERANCE_SIGMAS * uni1.se, toleranceBasis: basis, alternative: 0,
      }),
    );
    const dMax = Math.max(...settings.dims);
    const at = (a: number): Row => rows.find((r) => r.a === a && r.d === dMax) ?? {};
    return {
      checks,
      rows,
      meaning:
        `At d_k = ${dMax} the mean entropy over n = ${KEYS} keys was ${fmt(numberField(at(0), 'entropy'))} nats with no scale (a = 0), ${fmt(numberField(at(0.5), 'entropy'))} with 1/√d_k ` +
        `and ${fmt(numberField(at(1), 'entropy'))} with 1/d_k, against ln n = ${fmt(Math.log(KEYS))} for uniform attention: a = 0 picks one key, a = 1 can no longer pick any. ` +
        `The measured exponents of Var(logits) were ${EXPONENTS.map((a, i) => `${fmt(checks[i].measured)} (a = ${a})`).join(', ')}, against 1 − 2a.`,
      findings: [],
      parameters: { keys: KEYS, rowsPerD: total, keySetsPerD: groupCount, exponents: [...EXPONENTS], dims: settings.dims },
    };
  },
  charts(claim: ClaimResult) {
    const withLabel: Row[] = claim.rows.map((r) => ({ ...r, scale: `a = ${r.a}` }));
    const keys = numberField(claim.parameters, 'keys');
    return [
      measuredVsTheoryChart({
        title: 'Spread of the logits for s = d_k^(−a)', subtitle: 'dashed: d_k^(1−2a), theory',
        x: { field: 'd', title: 'key dimension d_k', log: true }, y: { field: 'variance', title: 'Var(s·q·k)', log: true },
        points: withLabel, theory: withLabel.map((r) => ({ d: r.d, variance: r.theoryVariance, scale: r.scale })),
        series: 'scale', seriesTitle: 'exponent', width: 300, height: 230,
      }),
      measuredVsTheoryChart({
        title: 'Both failure modes: entropy / ln n', subtitle: `1 = uniform over n = ${keys} keys, 0 = one-hot`,
        x: { field: 'd', title: 'key dimension d_k', log: true }, y: { field: 'entropyShare', title: 'mean entropy / ln n', domain: [0, 1] },
        points: withLabel, series: 'scale', seriesTitle: 'exponent', connect: true, width: 300, height: 230,
      }),
      measuredVsTheoryChart({
        title: 'Flattening: distance from uniform', subtitle: 'dashed: Var/2 · (1 − 1/n), the small-logit theory',
        x: { field: 'd', title: 'key dimension d_k', log: true }, y: { field: 'entropyDeficit', title: 'ln n − mean entropy', log: true },
        points: withLabel.filter((r) => (numberField(r, 'a')) > 0.5),
        theory: withLabel.filter((r) => (numberField(r, 'a')) > 0.5).map((r) => ({ d: r.d, entropyDeficit: ((numberField(r, 'variance')) / 2) * (1 - 1 / keys), scale: r.scale })),
        series: 'scale', seriesTitle: 'exponent', width: 300, height: 230,
      }),
    ];
  },
};
