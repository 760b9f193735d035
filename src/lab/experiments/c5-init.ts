import { fmt, makeCheck, type Check, type ClaimResult, type Experiment } from '../experiment.js';
import { numberField, stringField } from '../rows.js';
import type { Row } from '../types.js';
import { measuredVsTheoryChart } from '../charts.js';
import { layerNormRows, normals, rowDots, scoresMatrix } from '../sampling.js';
import { averageWithError, mean, standardError, varianceWithError, TOLERANCE_SIGMAS } from '../stats.js';
import { logLogFit } from './fits.js';

const HEAD_DIM = 64;
const GPT2_STD = 0.02;
const ALIGNMENT = 0.5;
const INPUT_STDS = [0.25, 0.5, 1, 2, 4];
const INPUT_MODEL_DIM = 256;

/**
 * C5. Where the "mean 0, variance 1" of q and k comes from: q = W_q x with x
 * LayerNorm'd (|x|² = d_model) and W_q's entries of variance σ_w² gives
 * Var(qᵢ) = σ_w² d_model. LeCun/Xavier σ_w² = 1/d_model makes it 1; GPT-2's
 * fixed σ_w = 0.02 makes it 0.0004·d_model.
 */
export const initialisation: Experiment = {
  id: 'C5',
  slug: 'init',
  title: 'Where unit-variance q and k come from, and what breaks it',
  statement:
    'LayerNorm’d inputs and weights drawn N(0, 1/d_model) give q and k components of variance ≈ 1; GPT-2’s fixed std 0.02 gives 0.0004·d_model instead; inputs of variance s² scale the logit variance by s⁴; aligned q and k make q·k grow like d_k, not √d_k.',
  theory:
    'qᵢ = Σⱼ Wᵢⱼxⱼ has variance σ_w²|x|², and LayerNorm fixes |x|² = d_model: Var(qᵢ) = σ_w²·d_model, which is 1 for σ_w² = 1/d_model and 0.0004·d_model for σ_w = 0.02 (so unit variance only near d_model = 2500). ' +
    'Without LayerNorm, inputs of variance s² give Var(qᵢ) = Var(kᵢ) = s² and Var(q·k) = d_k s⁴: a log-log slope of 4 in s. ' +
    `If k = ρq + √(1−ρ²)ξ (aligned, as training makes them), E[q·k] = ρ·d_k: the logits grow like d_k, and 1/√d_k leaves them growing like √d_k, the case for 1/d_k (μP).`,
  run({ settings, seedFor, progress }) {
    const quick = settings.mode === 'quick';
    const tokens = quick ? 64 : 128;
    const modelDims = settings.dims.filter((d) => d >= 16);
    const rows: Row[] = [];
    const steps = modelDims.length + INPUT_STDS.length + settings.dims.length;
    let done = 0;

    // LeCun and GPT-2 initialisations on LayerNorm'd tokens.
    for (const dModel of modelDims) {
      const x = layerNormRows(normals(tokens, dModel, seedFor('x', dModel), 3), tokens, dModel);
      const x2 = layerNormRows(normals(tokens, dModel, seedFor('x2', dModel), 3), tokens, dModel);
      for (const [init, std] of [['LeCun N(0, 1/d_model)', 1 / Math.sqrt(dModel)], [`GPT-2 N(0, ${GPT2_STD}²)`, GPT2_STD]] as const) {
        const wq = normals(HEAD_DIM, dModel, seedFor('wq', init, dModel), std);
        const wk = normals(HEAD_DIM, dModel, seedFor('wk', init, dModel), std);
        const q = scoresMatrix(x, wq, tokens, HEAD_DIM, dModel); // [tokens, HEAD_DIM]
        const k = scoresMatrix(x2, wk, tokens, HEAD_DIM, dModel);
        const qVar = varianceWithError(q);
        const logits = rowDots(q, k, tokens, HEAD_DIM).map((v) => v / Math.sqrt(HEAD_DIM));
        const logitVar = varianceWithError(logits);
        rows.push({
          part: 'init', init, dModel, qVariance: qVar.value, seQVariance: qVar.se, theoryQVariance: std * std * dModel,
          logitVariance: logitVar.value, seLogitVariance: logitVar.se, theoryLogitVariance: (std * std * dModel) ** 2,
        });
      }
      progress(++done / steps);
    }

    // Inputs of variance s², no LayerNorm, LeCun weights. One W_q, W_k for every s: the weights' own
    // fluctuation then multiplies all points alike and cannot bend the slope in s.
    const wqInput = normals(HEAD_DIM, INPUT_MODEL_DIM, seedFor('input-wq'), 1 / Math.sqrt(INPUT_MODEL_DIM));
    const wkInput = normals(HEAD_DIM, INPUT_MODEL_DIM, seedFor('input-wk'), 1 / Math.sqrt(INPUT_MODEL_DIM));
    for (const s of INPUT_STDS) {
      const n = quick ? 500 : 1000;
      const q = scoresMatrix(normals(n, INPUT_MODEL_DIM, seedFor('input-xq', s), s), wqInput, n, HEAD_DIM, INPUT_MODEL_DIM);
      const k = scoresMatrix(normals(n, INPUT_MODEL_DIM, seedFor('input-xk', s), s), wkInput, n, HEAD_DIM, INPUT_MODEL_DIM);
      const v = varianceWithError(rowDots(q, k, n, HEAD_DIM));
      rows.push({ part: 'input scale', inputStd: s, logitVariance: v.value, seLogitVariance: v.se, theoryLogitVariance: HEAD_DIM * s ** 4 });
      progress(++done / steps);
    }

    // Aligned q and k: k = ρq + √(1−ρ²)ξ.
    for (const d of settings.dims) {
      const n = quick ? 500 : 1000;
      const q = normals(n, d, seedFor('aligned-q', d));
      const xi = normals(n, d, seedFor('aligned-xi', d));
      const k = q.map((v, i) => ALIGNMENT * v + Math.sqrt(1 - ALIGNMENT ** 2) * xi[i]);
      const dots = rowDots(q, k, n, d);
      const independent = rowDots(q, xi, n, d);
      const rms = varianceWithError(independent);
      rows.push({
        part: 'alignment', d, alignedMean: mean(dots), seAlignedMean: standardError(dots), theoryAlignedMean: ALIGNMENT * d,
        alignedPerD: mean(dots) / d, seAlignedPerD: standardError(dots) / d,
        independentRms: Math.sqrt(rms.value), seIndependentRms: rms.se / (2 * Math.sqrt(rms.value)), theoryIndependentRms: Math.sqrt(d),
      });
      progress(++done / steps);
    }

    const part = (p: string, extra?: (r: Row) => boolean): Row[] => rows.filter((r) => r.part === p && (extra ? extra(r) : true));
    const lecun = part('init', (r) => (stringField(r, 'init')).startsWith('LeCun'));
    const gpt2 = part('init', (r) => (stringField(r, 'init')).startsWith('GPT-2'));
    // Each d_model has its own weights and tokens, so the points are independent draws of the same ratio
    // (1 in theory): the standard error of their average comes from their spread, which includes the
    // fluctuation of the weights themselves, not only that of the tokens.
    const pooledRatio = (rs: Row[], f: string, theory: string): { value: number; se: number } => {
      const ratios = rs.map((r) => (numberField(r, f)) / (numberField(r, theory)));
      return { value: mean(ratios), se: standardError(ratios) };
    };
    const lecunQ = pooledRatio(lecun, 'qVariance', 'theoryQVariance');
    const lecunLogit = pooledRatio(lecun, 'logitVariance', 'theoryLogitVariance');
    const gptFit = logLogFit(gpt2.map((r) => numberField(r, 'dModel')), gpt2.map((r) => numberField(r, 'qVariance'))); // residual error, for the same reason
    const gptRatio = pooledRatio(gpt2, 'qVariance', 'theoryQVariance');
    const inputs = part('input scale');
    const inputFit = logLogFit(inputs.map((r) => numberField(r, 'inputStd')), inputs.map((r) => numberField(r, 'logitVariance')), inputs.map((r) => numberField(r, 'seLogitVariance')));
    const aligned = part('alignment');
    const alignedFit = logLogFit(aligned.map((r) => numberField(r, 'd')), aligned.map((r) => numberField(r, 'alignedMean')), aligned.map((r) => numberField(r, 'seAlignedMean')));
    const perD = averageWithError(aligned.map((r) => numberField(r, 'alignedPerD')), aligned.map((r) => numberField(r, 'seAlignedPerD')));
    const basisSpread = `${TOLERANCE_SIGMAS} standard errors of the average, from the spread of the independent points`;
    const basis3 = `${TOLERANCE_SIGMAS} standard errors, propagated from each point's sampling error (for slopes: or from the residuals if larger)`;
    const checks: Check[] = [
      makeCheck({
        id: 'C5.a', statement: 'LayerNorm + N(0, 1/d_model) weights give Var(qᵢ) = 1 at every d_model.',
        quantity: 'Var(qᵢ), averaged over the d_model grid', measured: lecunQ.value, predicted: 1, tolerance: TOLERANCE_SIGMAS * lecunQ.se, toleranceBasis: basisSpread,
      }),
      makeCheck({
        id: 'C5.b', statement: `…and unit-variance logits q·k/√d_k (d_k = ${HEAD_DIM}).`,
        quantity: 'Var(q·k/√d_k), averaged over the d_model grid', measured: lecunLogit.value, predicted: 1, tolerance: TOLERANCE_SIGMAS * lecunLogit.se, toleranceBasis: basisSpread,
      }),
      makeCheck({
        id: 'C5.c', statement: `GPT-2's fixed std ${GPT2_STD}: Var(qᵢ) grows linearly in d_model.`,
        quantity: 'log-log slope of Var(qᵢ) in d_model', measured: gptFit.slope, predicted: 1, tolerance: TOLERANCE_SIGMAS * gptFit.se, toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the slope, from the residuals of the fit`, alternative: 0,
      }),
      makeCheck({
        id: 'C5.d', statement: `…with Var(qᵢ) = ${GPT2_STD}²·d_model.`,
        quantity: `Var(qᵢ) / (${GPT2_STD}²·d_model), averaged over the d_model grid`, measured: gptRatio.value, predicted: 1, tolerance: TOLERANCE_SIGMAS * gptRatio.se, toleranceBasis: basisSpread,
      }),
      makeCheck({
        id: 'C5.e', statement: 'Inputs of variance s² scale the logit variance by s⁴.',
        quantity: 'log-log slope of Var(q·k) in the input std s', measured: inputFit.slope, predicted: 4, tolerance: TOLERANCE_SIGMAS * inputFit.se, toleranceBasis: basis3, alternative: 2,
      }),
      makeCheck({
        id: 'C5.f', statement: `Aligned q and k (ρ = ${ALIGNMENT}): q·k grows like d_k, not √d_k.`,
        quantity: 'log-log slope of mean q·k in d_k', measured: alignedFit.slope, predicted: 1, tolerance: TOLERANCE_SIGMAS * alignedFit.se, toleranceBasis: basis3, alternative: 0.5,
      }),
      makeCheck({
        id: 'C5.g', statement: `…with E[q·k]/d_k = ρ = ${ALIGNMENT}, so 1/d_k (μP) holds aligned logits fixed.`,
        quantity: 'mean q·k / d_k, averaged over the d_k grid', measured: perD.value, predicted: ALIGNMENT, tolerance: TOLERANCE_SIGMAS * perD.se, toleranceBasis: basis3,
      }),
    ];
    const dMax = Math.max(...settings.dims);
    const bigModel = Math.max(...modelDims);
    const gptAt = (dm: number): number => {
      const row = gpt2.find((r) => r.dModel === dm);
      return row === undefined ? NaN : numberField(row, 'qVariance');
    };
    const alignedLast = aligned.find((r) => r.d === dMax) ?? {};
    return {
      checks,
      rows,
      meaning:
        `With LayerNorm and N(0, 1/d_model) weights the components of q had variance ${fmt(lecunQ.value)} on average over d_model ∈ {${modelDims[0]}…${bigModel}}: the premise of C1 is met by construction. ` +
        `GPT-2's std-0.02 init gave Var(qᵢ) = ${fmt(gptAt(modelDims[0]))} at d_model = ${modelDims[0]} and ${fmt(gptAt(bigModel))} at ${bigModel} (exponent ${fmt(gptFit.slope)}): with that init the logits' spread depends on the model width as well, which 1/√d_k does not correct. ` +
        `Aligned q and k at d_k = ${dMax} gave a mean q·k of ${fmt(numberField(alignedLast, 'alignedMean'))}, against ${fmt(numberField(alignedLast, 'independentRms'))} typical size for independent ones: after 1/√d_k that is still ${fmt((numberField(alignedLast, 'alignedMean')) / Math.sqrt(dMax))}.`,
      findings: [],
      parameters: { headDim: HEAD_DIM, tokens, modelDims, inputStds: INPUT_STDS, inputModelDim: INPUT_MODEL_DIM, alignment: ALIGNMENT, dims: settings.dims },
    };
  },
  charts(claim: ClaimResult) {
    const init = claim.rows.filter((r) => r.part === 'init');
    const inputs = claim.rows.filter((r) => r.part === 'input scale');
    const aligned = claim.rows.filter((r) => r.part === 'alignment');
    const alignedLong: Row[] = aligned.flatMap((r) => [
      { d: r.d, size: r.alignedMean, kind: `aligned (ρ = ${claim.parameters.alignment}): mean` },
      { d: r.d, size: r.independentRms, kind: 'independent: rms' },
    ]);
    const alignedTheory: Row[] = aligned.flatMap((r) => [
      { d: r.d, size: r.theoryAlignedMean, kind: `aligned (ρ = ${claim.parameters.alignment}): mean` },
      { d: r.d, size: r.theoryIndependentRms, kind: 'independent: rms' },
    ]);
    return [
      measuredVsTheoryChart({
        title: 'Variance of q components at initialisation', subtitle: 'dashed: σ_w²·d_model, theory',
        x: { field: 'dModel', title: 'model width d_model', log: true }, y: { field: 'qVariance', title: 'Var(qᵢ)', log: true },
        points: init, theory: init.map((r) => ({ dModel: r.dModel, qVariance: r.theoryQVariance, init: r.init })),
        series: 'init', seriesTitle: 'init', width: 280, height: 220,
      }),
      measuredVsTheoryChart({
        title: 'Input scale: logit variance ∝ s⁴', subtitle: `dashed: d_k·s⁴, theory (d_k = ${claim.parameters.headDim}, d_model = ${claim.parameters.inputModelDim})`,
        x: { field: 'inputStd', title: 'input std s', log: true }, y: { field: 'logitVariance', title: 'Var(q·k)', log: true },
        points: inputs, theory: inputs.map((r) => ({ inputStd: r.inputStd, logitVariance: r.theoryLogitVariance })), width: 240, height: 220,
      }),
      measuredVsTheoryChart({
        title: 'Aligned q, k: logits grow like d_k', subtitle: 'dashed: ρ·d_k and √d_k, theory',
        x: { field: 'd', title: 'key dimension d_k', log: true }, y: { field: 'size', title: 'size of q·k', log: true },
        points: alignedLong, theory: alignedTheory, series: 'kind', seriesTitle: 'q, k', width: 280, height: 220,
      }),
    ];
  },
};
