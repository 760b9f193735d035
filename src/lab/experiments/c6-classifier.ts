import { Rng } from '../../tensor/index.js';
import { fmt, makeCheck, type Check, type ClaimResult, type Experiment } from '../experiment.js';
import { numberField } from '../rows.js';
import type { Row } from '../types.js';
import { measuredVsTheoryChart } from '../charts.js';
import { layerNormRows, normals, rowDots, scoresMatrix } from '../sampling.js';
import { rowStats, softmaxRows } from '../softmax-stats.js';
import { mean, standardError, varianceWithError, TOLERANCE_SIGMAS } from '../stats.js';
import { logLogFit } from './fits.js';

const CLASSES = 16;
const MARGINS = [0, 1, 2, 4, 8, 16, 32];

/**
 * C6. A classifier's logits z = W h multiply one activation by one
 * parameter matrix whose init already carries 1/√d; attention's q·k
 * multiplies two activations. And cross-entropy's gradient in the logits is
 * p − y, which no saturation can shrink when the prediction is wrong.
 */
export const classifier: Experiment = {
  id: 'C6',
  slug: 'classifier',
  title: 'The classifier’s softmax needs no such scale',
  statement:
    'Logits z = W h with W ~ N(0, 1/d) have variance independent of d (slope 0, against attention’s slope 1), and the cross-entropy gradient p − y does not vanish when the softmax is confidently wrong.',
  theory:
    'zᵢ = Σⱼ Wᵢⱼhⱼ has variance σ_w²|h|² = (1/d)·d = 1: the 1/√d is already inside W’s initialisation, and W is a parameter the optimiser controls, free to grow or shrink. ' +
    'q·k instead multiplies two activations that LayerNorm and init each hold at unit scale per component, so nothing in it divides by d: Var(q·k) = d. ' +
    'For cross-entropy L = −ln p_y the gradient in the logits is p − y, not J·g: when the wrong class t wins by a margin m, p_t ≥ 1 − (C−1)e^(−m) and ‖p − y‖² ∈ [2 − 4(C−1)e^(−m), 2], so ‖p − y‖ → √2 while ‖J‖ ≤ 2(C−1)e^(−m)·(1 + …) → 0.',
  run({ settings, seedFor, progress }) {
    const quick = settings.mode === 'quick';
    const tokens = quick ? 200 : 400;
    const rows: Row[] = [];
    // LayerNorm of fewer than 4 components is degenerate (d = 1 normalises every vector to 0).
    const dims = settings.dims.filter((d) => d >= 4);
    dims.forEach((d, index) => {
      const h = layerNormRows(normals(tokens, d, seedFor('h', d), 2), tokens, d);
      const w = normals(CLASSES, d, seedFor('w', d), 1 / Math.sqrt(d));
      const z = scoresMatrix(h, w, tokens, CLASSES, d);
      const q = normals(tokens, d, seedFor('q', d));
      const k = normals(tokens, d, seedFor('k', d));
      const dots = varianceWithError(rowDots(q, k, tokens, d));
      // One W per d: as in C5, the weights' own fluctuation is part of each point's error, so the
      // classifier's slope error comes from the residuals rather than from the token samples alone.
      rows.push({ part: 'variance', d, classifierVariance: varianceWithError(z).value, attentionVariance: dots.value, seAttentionVariance: dots.se, theoryClassifier: 1, theoryAttention: d });
      progress((0.8 * (index + 1)) / dims.length);
    });

    // Confidently wrong rows: random logits, then the top class t ≠ y pushed m above every other.
    const wrongRows = quick ? 200 : 500;
    const rng = new Rng(seedFor('labels'));
    for (const m of MARGINS) {
      const logits = normals(wrongRows, CLASSES, seedFor('logits', m));
      const labels = new Int32Array(wrongRows);
      for (let r = 0; r < wrongRows; r++) {
        const row = logits.subarray(r * CLASSES, (r + 1) * CLASSES);
        const t = rng.int(CLASSES);
        let y = rng.int(CLASSES - 1);
        if (y >= t) y += 1;
        let others = -Infinity;
        for (let j = 0; j < CLASSES; j++) if (j !== t) others = Math.max(others, row[j]);
        row[t] = others + m;
        labels[r] = y;
      }
      const p = softmaxRows(logits, wrongRows, CLASSES);
      const jac = rowStats(logits, wrongRows, CLASSES).jacobianNorm;
      const ceGrad = new Float64Array(wrongRows);
      for (let r = 0; r < wrongRows; r++) {
        let s = 0;
        for (let j = 0; j < CLASSES; j++) s += (p[r * CLASSES + j] - (j === labels[r] ? 1 : 0)) ** 2;
        ceGrad[r] = Math.sqrt(s);
      }
      const eps = (CLASSES - 1) * Math.exp(-m);
      rows.push({
        part: 'margin', margin: m, crossEntropyGradient: mean(ceGrad), minCrossEntropyGradient: Math.min(...ceGrad),
        jacobianNorm: mean(jac), maxJacobianNorm: Math.max(...jac),
        gradientLowerBound: Math.sqrt(Math.max(2 - 4 * eps, 0)), jacobianUpperBound: Math.sqrt(4 * eps * eps + eps ** 4),
      });
    }
    progress(1);

    const variance = rows.filter((r) => r.part === 'variance');
    const dimsOf = variance.map((r) => numberField(r, 'd'));
    const clsFit = logLogFit(dimsOf, variance.map((r) => numberField(r, 'classifierVariance')));
    const attFit = logLogFit(dimsOf, variance.map((r) => numberField(r, 'attentionVariance')), variance.map((r) => numberField(r, 'seAttentionVariance')));
    const clsValues = variance.map((r) => numberField(r, 'classifierVariance'));
    const margins = rows.filter((r) => r.part === 'margin');
    const top = margins[margins.length - 1];
    const checks: Check[] = [
      makeCheck({
        id: 'C6.a', statement: 'Classifier logits z = W h, W ~ N(0, 1/d): Var(z) does not grow with d.',
        quantity: 'log-log slope of Var(z) in d', measured: clsFit.slope, predicted: 0, tolerance: TOLERANCE_SIGMAS * clsFit.se,
        toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the slope, from the residuals of the fit`, alternative: 1,
      }),
      makeCheck({
        id: 'C6.b', statement: 'Attention logits q·k of the same unit-scale activations: Var grows as d.',
        quantity: 'log-log slope of Var(q·k) in d', measured: attFit.slope, predicted: 1, tolerance: TOLERANCE_SIGMAS * attFit.se,
        toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the slope, propagated from each point's sampling error, or from the residuals if larger`, alternative: 0,
      }),
      makeCheck({
        id: 'C6.c', statement: 'The init holds the classifier logits at unit variance.',
        quantity: 'Var(z), averaged over the d grid', measured: mean(clsValues), predicted: 1, tolerance: TOLERANCE_SIGMAS * standardError(clsValues),
        toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the average, from the spread of the independent points (one W per d)`,
      }),
      makeCheck({
        id: 'C6.d', statement: `Confidently wrong by a margin m = ${top.margin}: ‖p − y‖ = √2 up to 4(C−1)e^(−m).`,
        quantity: `smallest ‖p − y‖ over ${wrongRows} wrong rows, margin ${top.margin}`, measured: numberField(top, 'minCrossEntropyGradient'), predicted: Math.SQRT2,
        tolerance: Math.SQRT2 - (numberField(top, 'gradientLowerBound')), toleranceBasis: 'the exact bound ‖p − y‖² ≥ 2 − 4(C−1)e^(−m) (no sampling error: every row must satisfy it)',
      }),
      makeCheck({
        id: 'C6.e', statement: `…while the softmax Jacobian of the same rows has vanished.`,
        quantity: `largest ‖J‖_F over the same rows`, measured: numberField(top, 'maxJacobianNorm'), predicted: 0, side: 'at-most',
        tolerance: numberField(top, 'jacobianUpperBound'), toleranceBasis: 'the bound ‖J‖_F ≤ √(4ε² + ε⁴), ε = (C−1)e^(−m)',
      }),
    ];
    const dMax = Math.max(...dims);
    const last = variance.find((r) => r.d === dMax) ?? {};
    return {
      checks,
      rows,
      meaning:
        `At d = ${dMax} the classifier's logits had variance ${fmt(numberField(last, 'classifierVariance'))} while q·k of unit-variance activations had ${fmt(numberField(last, 'attentionVariance'))}: ` +
        `the classifier needs no 1/√d because its W already carries it, and training may rescale W at will. ` +
        `Confidently wrong by m = ${top.margin}, the cross-entropy gradient in the logits had norm ${fmt(numberField(top, 'crossEntropyGradient'))} (√2 = ${fmt(Math.SQRT2)}) while the softmax Jacobian had fallen to ${fmt(numberField(top, 'jacobianNorm'))}: ` +
        `cross-entropy differentiates log p, whose gradient p − y skips the saturating Jacobian; attention's logits only reach the loss through J, and that is where the scale matters.`,
      findings: [],
      parameters: { classes: CLASSES, tokensPerD: tokens, rowsPerMargin: wrongRows, margins: MARGINS, dims },
    };
  },
  charts(claim: ClaimResult) {
    const variance = claim.rows.filter((r) => r.part === 'variance');
    const long: Row[] = variance.flatMap((r) => [
      { d: r.d, variance: r.classifierVariance, logits: 'classifier z = W h' },
      { d: r.d, variance: r.attentionVariance, logits: 'attention q·k' },
    ]);
    const theory: Row[] = variance.flatMap((r) => [
      { d: r.d, variance: r.theoryClassifier, logits: 'classifier z = W h' },
      { d: r.d, variance: r.theoryAttention, logits: 'attention q·k' },
    ]);
    const margins = claim.rows.filter((r) => r.part === 'margin' && (numberField(r, 'margin')) > 0);
    const gradients: Row[] = margins.flatMap((r) => [
      { margin: r.margin, norm: r.crossEntropyGradient, gradient: '‖p − y‖ (cross-entropy)' },
      { margin: r.margin, norm: r.jacobianNorm, gradient: '‖J‖_F (softmax Jacobian)' },
    ]);
    const bounds: Row[] = margins.flatMap((r) => [
      { margin: r.margin, norm: Math.SQRT2, gradient: '‖p − y‖ (cross-entropy)' },
      { margin: r.margin, norm: r.jacobianUpperBound, gradient: '‖J‖_F (softmax Jacobian)' },
    ]);
    return [
      measuredVsTheoryChart({
        title: 'Classifier vs attention logits', subtitle: 'dashed: 1 and d, theory',
        x: { field: 'd', title: 'width d', log: true }, y: { field: 'variance', title: 'variance of the logits', log: true },
        points: long, theory, series: 'logits', seriesTitle: 'logits', width: 300, height: 220,
      }),
      measuredVsTheoryChart({
        title: 'Confidently wrong: which gradient survives', subtitle: 'dashed: √2 and the bound 2(C−1)e^(−m), theory',
        x: { field: 'margin', title: 'margin m of the wrong class', log: true }, y: { field: 'norm', title: 'gradient norm (mean over rows)', log: true },
        points: gradients, theory: bounds, series: 'gradient', seriesTitle: 'gradient', width: 300, height: 220,
      }),
    ];
  },
};
