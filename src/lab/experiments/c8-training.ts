import { SCALE_RULES, type ScaleRule } from '../../nn/index.js';
import { fmt, makeCheck, type Check, type Experiment, type ExperimentOutput, type RunContext } from '../experiment.js';
import { TOLERANCE_SIGMAS, logLogSlope, mean, standardError, type LineFit } from '../stats.js';
import type { Row } from '../types.js';
import { trainingCharts } from './c8-charts.js';
import { c8Plan, type C8Plan } from './c8-plan.js';
import { runC8Plan, type C8Runs } from './c8-runs.js';

export { c8Plan, type C8Plan } from './c8-plan.js';

function seedStats(values: number[]): { mean: number; se: number } {
  return { mean: mean(values), se: values.length > 1 ? standardError(values) : NaN };
}

/** What the checks and the prose read from the runs. */
interface C8Summary {
  /** none / rsqrt of the initial ‖∂L/∂W_q‖, paired by seed, per d_k, and its log-log slope in d_k. */
  initRatios: { d: number; ratio: number }[];
  ratioFit: LineFit;
  /** The largest d_k trained, none − rsqrt mean validation loss there per paired run, their mean with its standard error, and the share of pairs where none is higher. */
  dMax: number;
  gaps: { optimizer: string; gap: number }[];
  gap: { mean: number; se: number };
  slowerShare: number;
  /** The longest evaluation length, each rule's entropy drift from 1× to it over seeds and optimisers, and log-length's drift minus rsqrt's, paired by seed and optimiser. */
  longest: number;
  drift: Record<'log-length' | 'rsqrt', { mean: number; se: number }>;
  driftDifference: { mean: number; se: number; pairs: number };
}

function summarise(plan: C8Plan, runs: C8Runs): C8Summary {
  const initOf = (d: number, rule: ScaleRule) => runs.init.filter((r) => r.d === d && r.rule === rule);
  const initRatios = plan.initDims.flatMap((d) => {
    const rsqrt = initOf(d, 'rsqrt');
    return initOf(d, 'none').map((r, i) => ({ d, ratio: r.initQGradNorm / rsqrt[i].initQGradNorm }));
  });
  const dMax = Math.max(...plan.dims);
  const namesAt = (rule: ScaleRule, optimizer: string) => runs.names.filter((r) => r.d === dMax && r.rule === rule && r.optimizer === optimizer);
  const gaps = plan.optimizers.flatMap((optimizer) => {
    const rsqrt = namesAt('rsqrt', optimizer);
    return namesAt('none', optimizer).map((r, i) => ({ optimizer, gap: r.meanValLoss - rsqrt[i].meanValLoss }));
  });
  const longest = Math.max(...plan.multiples);
  const driftOfRun = (r: C8Runs['recall'][number]): number => {
    const at = (m: number): number => r.lengths.find((l) => l.multiple === m)?.attnEntropy ?? NaN;
    return at(longest) - at(1);
  };
  const driftOf = (rule: ScaleRule) => seedStats(runs.recall.filter((r) => r.rule === rule).map(driftOfRun));
  // The same seed and optimiser give both rules the same data: their difference is paired.
  const paired = runs.recall.filter((r) => r.rule === 'log-length').flatMap((r) => {
    const rival = runs.recall.find((q) => q.rule === 'rsqrt' && q.optimizer === r.optimizer && q.seed === r.seed);
    return rival ? [driftOfRun(r) - driftOfRun(rival)] : [];
  });
  return {
    initRatios, ratioFit: logLogSlope(initRatios.map((p) => p.d), initRatios.map((p) => p.ratio)),
    dMax, gaps, gap: seedStats(gaps.map((p) => p.gap)), slowerShare: gaps.filter((p) => p.gap > 0).length / gaps.length,
    longest, drift: { 'log-length': driftOf('log-length'), rsqrt: driftOf('rsqrt') },
    driftDifference: { ...(paired.length > 0 ? seedStats(paired) : { mean: NaN, se: NaN }), pairs: paired.length },
  };
}

function trainingChecks(plan: C8Plan, s: C8Summary): Check[] {
  const { ratioFit } = s;
  return [
    makeCheck({
      id: 'C8.a',
      statement: 'Unscaled, the query-weight gradient at initialisation is smaller than with 1/√d_k by a factor growing like √d_k (the claim taken literally).',
      quantity: `log-log slope in d_k of ‖∂L/∂W_q‖(none) / ‖∂L/∂W_q‖(rsqrt) at step 0, d_k ∈ {${plan.initDims.join(', ')}}, ${plan.initSeedCount} paired seeds each`,
      measured: ratioFit.slope, predicted: -0.5, tolerance: TOLERANCE_SIGMAS * ratioFit.se,
      toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the slope, from the residuals of the fit over seeds and d_k`, alternative: 0,
    }),
    makeCheck({
      id: 'C8.b',
      statement: `At d_k = ${s.dMax} the unscaled model learns slower than the 1/√d_k one: its validation loss averaged over training is higher (paired by seed and optimiser).`,
      quantity: `none − rsqrt mean validation loss (nats/char), mean over ${s.gaps.length} paired runs (same seed and optimiser); ${fmt(100 * s.slowerShare)}% of pairs positive`,
      measured: s.gap.mean, predicted: 0, tolerance: TOLERANCE_SIGMAS * s.gap.se, side: 'above',
      toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the mean paired gap, from the gaps' spread over the pairs: a test of the gap's size, which has power with few pairs where a sign test of ${s.gaps.length} pairs could never clear ${TOLERANCE_SIGMAS} standard errors`,
    }),
    makeCheck({
      id: 'C8.c',
      statement: `Su: multiplying the scale by log₅₁₂ n keeps the attention entropy roughly invariant as the length grows, where a fixed scale lets it grow; so from 1× to ${s.longest}× the training length log-length's entropy drifts less than rsqrt's.`,
      quantity: `log-length's entropy drift (${s.longest}× minus 1×, nats) minus rsqrt's, paired by seed and optimiser, mean over ${s.driftDifference.pairs} pairs`,
      measured: s.driftDifference.mean, predicted: 0, tolerance: TOLERANCE_SIGMAS * s.driftDifference.se, side: 'below',
      toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the mean paired difference, from its spread over the pairs`,
    }),
  ];
}

/** The report's table: init gradients, names curves, names summaries, recall by length. */
function trainingRows(runs: C8Runs): Row[] {
  return [
    ...runs.init.map((r): Row => ({ study: 'init', d: r.d, rule: r.rule, seed: r.seed, initQGradNorm: r.initQGradNorm })),
    ...runs.names.flatMap(({ d, rule, optimizer, seed, curve }) => curve.map((p): Row => ({
      study: 'names', d, rule, optimizer, seed, step: p.step, trainLoss: p.trainLoss, valLoss: p.valLoss, accuracy: p.accuracy, qGradNorm: p.qGradNorm, attnEntropy: p.attnEntropy,
    }))),
    ...runs.names.map((r): Row => ({
      study: 'names-summary', d: r.d, rule: r.rule, optimizer: r.optimizer, seed: r.seed, initQGradNorm: r.initQGradNorm,
      meanValLoss: r.meanValLoss, finalValLoss: r.finalValLoss, seconds: r.seconds,
    })),
    ...runs.recall.flatMap(({ rule, optimizer, seed, lengths }) => lengths.map((l): Row => ({
      study: 'recall-length', rule, optimizer, seed, multiple: l.multiple, length: l.length, accuracy: l.accuracy, valLoss: l.valLoss, attnEntropy: l.attnEntropy,
    }))),
  ];
}

function trainingFindings(plan: C8Plan, runs: C8Runs, s: C8Summary): string[] {
  const findings: string[] = [];
  for (const o of plan.optimizers) {
    const ranking = plan.rules
      .map((rule) => ({ rule, loss: mean(runs.names.filter((r) => r.d === s.dMax && r.rule === rule && r.optimizer === o).map((r) => r.finalValLoss)) }))
      .sort((a, b) => a.loss - b.loss)
      .map((x) => `${x.rule} ${fmt(x.loss)}`)
      .join(', ');
    findings.push(`Final validation loss at d_k = ${s.dMax} with ${o} (nats/char, best first): ${ranking}.`);
  }
  const initMean = (d: number, rule: ScaleRule): number => mean(runs.init.filter((r) => r.d === d && r.rule === rule).map((r) => r.initQGradNorm));
  const [initLo, initHi] = [Math.min(...plan.initDims), Math.max(...plan.initDims)];
  findings.push(
    `Initial ‖∂L/∂W_q‖ at d_k = ${initLo} → ${initHi}: ` +
    SCALE_RULES.map((rule) => `${rule} ${fmt(initMean(initLo, rule))} → ${fmt(initMean(initHi, rule))}`).join('; ') + '.',
  );
  for (const o of plan.optimizers) {
    const gaps = s.gaps.filter((p) => p.optimizer === o).map((p) => p.gap);
    findings.push(`At d_k = ${s.dMax} with ${o}, none − rsqrt mean validation loss: ${gaps.map((g) => fmt(g)).join(', ')} nats/char per seed.`);
  }
  for (const o of plan.recallOptimizers) {
    const at = (rule: ScaleRule, m: number, field: 'accuracy' | 'attnEntropy'): number => mean(runs.recall
      .filter((r) => r.rule === rule && r.optimizer === o)
      .flatMap((r) => r.lengths.filter((l) => l.multiple === m).map((l) => l[field])));
    findings.push(
      `Recall with ${o}, accuracy | attention entropy (nats) at ${plan.multiples.map((m) => `${m}×`).join(' / ')} the training length (${plan.recallPairs} pairs, ${plan.recallSteps} steps): ` +
      plan.recallRules.map((rule) => `${rule} ${plan.multiples.map((m) => fmt(at(rule, m, 'accuracy'), 2)).join(' / ')} | ${plan.multiples.map((m) => fmt(at(rule, m, 'attnEntropy'), 2)).join(' / ')}`).join('; ') + '.',
    );
  }
  return findings;
}

function trainingMeaning(plan: C8Plan, runs: C8Runs, s: C8Summary): string {
  const { slope: ratioSlope, se: ratioSe } = s.ratioFit;
  const initHi = Math.max(...plan.initDims);
  const lengthMean = (rule: ScaleRule, m: number, field: 'accuracy' | 'attnEntropy'): number =>
    mean(runs.recall.filter((r) => r.rule === rule).flatMap((r) => r.lengths.filter((l) => l.multiple === m).map((l) => l[field])));
  const { longest, drift } = s;
  return `At initialisation the unscaled model's ‖∂L/∂W_q‖ relative to rsqrt scales as d_k^${fmt(ratioSlope)} ± ${fmt(ratioSe)}: ` +
    `${ratioSlope > 0 ? 'it grows' : 'it shrinks'} with d_k (×${fmt(mean(s.initRatios.filter((p) => p.d === initHi).map((p) => p.ratio)))} at d_k = ${initHi}). ` +
    `At d_k = ${s.dMax} the unscaled model had the higher mean validation loss in ${fmt(100 * s.slowerShare)}% of paired runs, by ${fmt(s.gap.mean)} ± ${fmt(s.gap.se)} nats/char on average. ` +
    `From 1× to ${longest}× the training length the attention entropy moved by ${fmt(drift['log-length'].mean)} nats under log-length and ${fmt(drift.rsqrt.mean)} under rsqrt (paired difference ${fmt(s.driftDifference.mean)} ± ${fmt(s.driftDifference.se)}); ` +
    `recall accuracy at ${longest}× was ${fmt(lengthMean('log-length', longest, 'accuracy'), 2)} (log-length) against ${fmt(lengthMean('rsqrt', longest, 'accuracy'), 2)} (rsqrt), ${fmt(lengthMean('rsqrt', 1, 'accuracy'), 2)} for rsqrt at 1×; ` +
    `entropy at 1× / ${longest}×: rsqrt ${fmt(lengthMean('rsqrt', 1, 'attnEntropy'))} / ${fmt(lengthMean('rsqrt', longest, 'attnEntropy'))}, ` +
    `log-length ${fmt(lengthMean('log-length', 1, 'attnEntropy'))} / ${fmt(lengthMean('log-length', longest, 'attnEntropy'))} nats.`;
}

/** The C8 measurements under a plan (the lab passes c8Plan(mode); tests pass a tiny one). */
export function runC8(plan: C8Plan, context: RunContext): ExperimentOutput {
  const runs = runC8Plan(plan, context);
  const summary = summarise(plan, runs);
  const checks = trainingChecks(plan, summary);
  return {
    checks,
    rows: trainingRows(runs),
    meaning: trainingMeaning(plan, runs, summary),
    findings: trainingFindings(plan, runs, summary),
    parameters: {
      initDims: plan.initDims, initSeedCount: plan.initSeedCount, dims: plan.dims, rules: plan.rules, optimizers: plan.optimizers, seedCount: plan.seedCount,
      width: plan.width, layers: 2, namesSteps: plan.namesSteps, namesBatch: plan.namesBatch, namesValidationNames: plan.namesValidation,
      recallDim: plan.recallDim, recallSteps: plan.recallSteps, recallBatch: plan.recallBatch, recallPairs: plan.recallPairs,
      recallOptimizers: plan.recallOptimizers, recallRules: plan.recallRules, recallSeedCount: plan.recallSeedCount, lengthMultiples: plan.multiples,
    },
  };
}

/** C8. The consequence in training: the two studies of c8-plan.ts. */
export const training: Experiment = {
  id: 'C8',
  slug: 'training',
  title: 'What each scale rule does to training',
  statement:
    'At large head dim the unscaled model learns slower than the 1/√d_k one and its query-weight gradient at initialisation is smaller by a factor that grows with d_k; ' +
    'Su\'s log-length scale keeps attention entropy steady when a model runs at lengths longer than it was trained on.',
  theory:
    'Unscaled logits have standard deviation ≈ √d_k (C1), so the softmax saturates (C2) and its Jacobian shrinks (C3): if nothing compensated, ‖∂L/∂W_q‖ would fall ' +
    'like the mean Jacobian, d_k^(−1/2), relative to the scaled model, and learning would slow. But ∂logit/∂q = k is √d_k larger without the scale, which cancels that ' +
    'factor on average (C3.h), and Adam divides each step by the gradient\'s RMS, so the optimiser may hide what is left; SGD with momentum does not. ' +
    'For length, Su argues the entropy of a row of n logits grows like log n at a fixed scale, and that multiplying the scale by log₅₁₂ n keeps it roughly invariant: a claim that it drifts less, tested one-sided against rsqrt\'s drift on the same seeds.',
  fullOnly: true,
  run(context) {
    return runC8(c8Plan(context.settings.mode), context);
  },
  charts: trainingCharts,
};
