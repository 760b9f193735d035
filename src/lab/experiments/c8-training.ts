import { SCALE_RULES, Trainer, trainManySync, type OptimizerName, type ScaleRule, type TrainConfig, type TrainRecord } from '../../nn/index.js';
import { measuredVsTheoryChart } from '../charts.js';
import {
  fmt, makeCheck, type Check, type ClaimResult, type Experiment, type ExperimentOutput, type LabMode, type RunContext,
} from '../experiment.js';
import type { Row } from '../types.js';
import { logLogSlope, mean, standardError } from '../stats.js';

/**
 * C8. The consequence in training. Two studies with the same small
 * transformer (2 layers, width 32, rotary positions, token shift; heads of
 * dimension d_k, widened to one head of d_k where d_k > 32):
 *
 *  A. scale rule × head dim × optimiser on next-character prediction of
 *     names: loss curves, ‖∂L/∂W_q‖ and attention entropy over training;
 *  B. every rule trained on associative recall at one length, evaluated at
 *     1×, 2× and 4× that length (accuracy, attention entropy).
 */
export interface C8Plan {
  /** Head dims of the initial-gradient measurement (one step each, cheap). */
  initDims: number[];
  initSeeds: number;
  /** Head dims and rules of the training runs. */
  dims: number[];
  rules: ScaleRule[];
  optimizers: OptimizerName[];
  seeds: number;
  width: number;
  namesSteps: number;
  namesBatch: number;
  namesValidation: number;
  evalEvery: number;
  recallDim: number;
  recallSteps: number;
  recallBatch: number;
  recallPairs: number;
  recallOptimizers: OptimizerName[];
  recallRules: ScaleRule[];
  recallSeeds: number;
  multiples: number[];
  /** Worker threads for the training runs (default: the machine's available parallelism). */
  threads?: number;
}

/** The budgets: measured in docs/training.md (full under 10 minutes, quick under 90 s on 2 cores). */
export function c8Plan(mode: LabMode): C8Plan {
  const full = mode !== 'quick';
  return {
    initDims: [16, 32, 64, 128, 256],
    initSeeds: full ? 4 : 2,
    dims: full ? [16, 64, 256] : [16, 256],
    rules: full ? [...SCALE_RULES] : ['rsqrt', 'none'],
    optimizers: ['adamw', 'sgd'],
    seeds: full ? 2 : 1,
    width: 32,
    namesSteps: full ? 120 : 40,
    namesBatch: 16,
    namesValidation: 256,
    evalEvery: 20,
    recallDim: 16,
    recallSteps: full ? 150 : 100,
    recallBatch: 32,
    recallPairs: 4,
    recallOptimizers: full ? ['adamw', 'sgd'] : ['adamw'],
    recallRules: full ? [...SCALE_RULES] : ['rsqrt', 'log-length'],
    recallSeeds: 2,
    multiples: [1, 2, 4],
  };
}

function headsFor(width: number, d: number): number {
  return Math.max(1, Math.floor(width / d));
}

function seedStats(values: number[]): { mean: number; se: number; min: number; max: number } {
  return { mean: mean(values), se: values.length > 1 ? standardError(values) : NaN, min: Math.min(...values), max: Math.max(...values) };
}

/** One point per (rule, x) of the rows: the mean of `field` over the rest (seeds…), with the min–max spread as the error bar. */
function meanByRule(rows: readonly Row[], x: string, field: string): Row[] {
  const keys = [...new Set(rows.map((r) => `${r.rule as string}|${r[x] as number}`))];
  return keys.map((key) => {
    const [rule, at] = key.split('|');
    const vals = rows.filter((r) => r.rule === rule && r[x] === Number(at)).map((r) => r[field] as number);
    return { rule, [x]: Number(at), [field]: mean(vals), low: Math.min(...vals), high: Math.max(...vals) };
  });
}

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
    'For length, Su argues the entropy of a row of n logits grows like log n at a fixed scale; multiplying the scale by log₅₁₂ n keeps it steady.',
  fullOnly: true,
  run(context) {
    return runC8(c8Plan(context.settings.mode), context);
  },
  charts(claim: ClaimResult) {
    const dims = [...new Set(claim.rows.filter((r) => r.study === 'names').map((r) => r.d as number))];
    const dMax = Math.max(...dims);
    const optimizers = [...new Set(claim.rows.filter((r) => r.study === 'names').map((r) => r.optimizer as string))];
    const curve = (d: number, optimizer: string, field: string): Row[] =>
      meanByRule(claim.rows.filter((r) => r.study === 'names' && r.d === d && r.optimizer === optimizer), 'step', field);
    const common = { series: 'rule', seriesTitle: 'scale rule', width: 300, height: 210, connect: true, errorLow: 'low', errorHigh: 'high' };
    const charts = optimizers.flatMap((o) => [
      ...[...dims].sort((a, b) => a - b).map((d) => measuredVsTheoryChart({
        ...common, title: `Validation loss, d_k = ${d}, ${o}`, subtitle: 'mean over seeds, bars: min–max',
        x: { field: 'step', title: 'step' }, y: { field: 'valLoss', title: 'validation loss (nats/char)' }, points: curve(d, o, 'valLoss'),
      })),
      measuredVsTheoryChart({
        ...common, title: `Training loss, d_k = ${dMax}, ${o}`, subtitle: 'mean over the steps since the previous point and over seeds, bars: min–max',
        x: { field: 'step', title: 'step' }, y: { field: 'trainLoss', title: 'training loss (nats/char)' }, points: curve(dMax, o, 'trainLoss'),
      }),
      measuredVsTheoryChart({
        ...common, title: `‖∂L/∂W_q‖ over training, d_k = ${dMax}, ${o}`, subtitle: 'before clipping; mean over seeds, bars: min–max',
        x: { field: 'step', title: 'step' }, y: { field: 'qGradNorm', title: '‖∂L/∂W_q‖', log: true }, points: curve(dMax, o, 'qGradNorm'),
      }),
      measuredVsTheoryChart({
        ...common, title: `Attention entropy over training, d_k = ${dMax}, ${o}`, subtitle: 'mean over layers, heads and rows; bars: min–max over seeds',
        x: { field: 'step', title: 'step' }, y: { field: 'attnEntropy', title: 'entropy (nats)' }, points: curve(dMax, o, 'attnEntropy'),
      }),
    ]);
    const initPts = claim.rows.filter((r) => r.study === 'init');
    charts.push(measuredVsTheoryChart({
      series: 'rule', seriesTitle: 'scale rule', width: 300, height: 210,
      title: '‖∂L/∂W_q‖ at initialisation', subtitle: 'one point per seed (first names batch)',
      x: { field: 'd', title: 'head dim d_k', log: true }, y: { field: 'initQGradNorm', title: '‖∂L/∂W_q‖ at step 0', log: true }, points: initPts,
    }));
    const lengths = claim.rows.filter((r) => r.study === 'recall-length');
    const byRule = (field: string): Row[] => meanByRule(lengths, 'multiple', field);
    charts.push(
      measuredVsTheoryChart({
        ...common, title: 'Recall accuracy at longer lengths', subtitle: 'trained at 1×; mean over seeds and optimisers, bars: min–max',
        x: { field: 'multiple', title: 'length / training length', log: true }, y: { field: 'accuracy', title: 'accuracy', domain: [0, 1] }, points: byRule('accuracy'),
      }),
      measuredVsTheoryChart({
        ...common, title: 'Attention entropy at longer lengths', subtitle: 'trained at 1×; mean over seeds and optimisers, bars: min–max',
        x: { field: 'multiple', title: 'length / training length', log: true }, y: { field: 'attnEntropy', title: 'entropy (nats)' }, points: byRule('attnEntropy'),
      }),
    );
    return charts;
  },
};

/** The C8 measurements under a plan (the lab passes c8Plan(mode); tests pass a tiny one). */
export function runC8(plan: C8Plan, { seedFor, progress }: RunContext): ExperimentOutput {
  const rows: Row[] = [];
  const runsA = plan.dims.length * plan.rules.length * plan.optimizers.length * plan.seeds;
  const runsB = plan.recallRules.length * plan.recallOptimizers.length * plan.recallSeeds;
  const initWork = plan.initDims.length * SCALE_RULES.length * plan.initSeeds;
  // Step counts weight the progress: a recall step costs about twice a names step.
  const totalWork = initWork + runsA * plan.namesSteps + 2 * runsB * plan.recallSteps;
  let work = 0;
  // The gradient at initialisation: the first step's ‖∂L/∂W_q‖ (before clipping), on a names batch.
  const initRows: Row[] = [];
  for (const d of plan.initDims) {
    for (const rule of SCALE_RULES) {
      for (let s = 0; s < plan.initSeeds; s++) {
        const trainer = new Trainer({
          task: 'names', scaleRule: rule, headDim: d, width: plan.width, heads: headsFor(plan.width, d), steps: 1,
          batchSize: plan.namesBatch, evalEvery: 1e9, validationSize: 1, seed: seedFor('init', s) % 1e9,
        });
        trainer.advance();
        initRows.push({ study: 'init', d, rule, seed: s, initQGradNorm: trainer.initQGradNorm });
      }
    }
    work += initWork / plan.initDims.length;
    progress(work / totalWork);
  }
  rows.push(...initRows);

  // Every training run is independent and seeded: run them all on worker threads (records come back in order).
  type Job = { kind: 'names'; d: number; rule: ScaleRule; optimizer: OptimizerName; seed: number } | { kind: 'recall'; rule: ScaleRule; optimizer: OptimizerName; seed: number };
  const jobs: Job[] = [];
  const configs: TrainConfig[] = [];
  // The longest runs first (recall, then names by falling d_k), so the threads finish close together.
  for (const rule of plan.recallRules) {
    for (const optimizer of plan.recallOptimizers) {
      for (let s = 0; s < plan.recallSeeds; s++) {
        jobs.push({ kind: 'recall', rule, optimizer, seed: s });
        configs.push({
          task: 'recall', scaleRule: rule, headDim: plan.recallDim, width: plan.width, heads: headsFor(plan.width, plan.recallDim), optimizer,
          steps: plan.recallSteps, batchSize: plan.recallBatch, evalEvery: plan.recallSteps, recallPairs: plan.recallPairs,
          recallSymbols: plan.recallPairs * Math.max(...plan.multiples), lengthMultiples: plan.multiples, validationSize: 128,
          seed: seedFor('recall', s) % 1e9,
        });
      }
    }
  }
  for (const d of [...plan.dims].sort((a, b) => b - a)) {
    for (const rule of plan.rules) {
      for (const optimizer of plan.optimizers) {
        for (let s = 0; s < plan.seeds; s++) {
          jobs.push({ kind: 'names', d, rule, optimizer, seed: s });
          configs.push({
            task: 'names', scaleRule: rule, headDim: d, width: plan.width, heads: headsFor(plan.width, d), optimizer,
            steps: plan.namesSteps, batchSize: plan.namesBatch, evalEvery: plan.evalEvery, validationSize: plan.namesValidation,
            seed: seedFor('names', s) % 1e9,
          });
        }
      }
    }
  }
  const weight = (i: number): number => (jobs[i].kind === 'recall' ? 2 * plan.recallSteps : plan.namesSteps);
  const records: TrainRecord[] = trainManySync(configs, {
    threads: plan.threads,
    onDone: (i) => {
      work += weight(i);
      progress(work / totalWork);
    },
  });

  const summaries: Row[] = [];
  const lengthRows: Row[] = [];
  jobs.forEach((job, i) => {
    const r = records[i];
    if (job.kind === 'names') {
      const { d, rule, optimizer, seed } = job;
      for (const p of r.curve) {
        rows.push({ study: 'names', d, rule, optimizer, seed, step: p.step, trainLoss: p.trainLoss, valLoss: p.valLoss, accuracy: p.accuracy, qGradNorm: p.qGradNorm, attnEntropy: p.attnEntropy });
      }
      summaries.push({
        study: 'names-summary', d, rule, optimizer, seed, initQGradNorm: r.initQGradNorm,
        meanValLoss: mean(r.curve.map((p) => p.valLoss)), finalValLoss: r.final.valLoss, seconds: r.seconds,
      });
    } else {
      for (const l of r.lengths) {
        lengthRows.push({ study: 'recall-length', rule: job.rule, optimizer: job.optimizer, seed: job.seed, multiple: l.multiple, length: l.length, accuracy: l.accuracy, valLoss: l.valLoss, attnEntropy: l.attnEntropy });
      }
    }
  });
  rows.push(...summaries, ...lengthRows);

  // --- checks ---
  const summary = (d: number, rule: string, optimizer: string): Row[] =>
    summaries.filter((r) => r.d === d && r.rule === rule && r.optimizer === optimizer);
  // A.1: the init gradient ratio none / rsqrt against d_k, paired by seed (same data, same weights but the rule).
  const initOf = (d: number, rule: string): Row[] => initRows.filter((r) => r.d === d && r.rule === rule);
  const ratioPts = plan.initDims.flatMap((d) => {
    const b = initOf(d, 'rsqrt');
    return initOf(d, 'none').map((row, i) => ({ d, ratio: (row.initQGradNorm as number) / (b[i].initQGradNorm as number) }));
  });
  const ratioFit = logLogSlope(ratioPts.map((p) => p.d), ratioPts.map((p) => p.ratio));
  const dMax = Math.max(...plan.dims);
  // A.2: a sign test over paired runs (same seed, same optimiser) at the largest d_k.
  const pairs = plan.optimizers.flatMap((o) => summary(dMax, 'none', o).map((row, i) => ({
    optimizer: o, gap: (row.meanValLoss as number) - (summary(dMax, 'rsqrt', o)[i].meanValLoss as number),
  })));
  const slowerShare = pairs.filter((p) => p.gap > 0).length / pairs.length;
  // B: entropy drift from 1× to the longest length, log-length against rsqrt.
  const longest = Math.max(...plan.multiples);
  const drift = (rule: string): number[] => {
    const out: number[] = [];
    for (const o of plan.recallOptimizers) {
      for (let s = 0; s < plan.recallSeeds; s++) {
        const at = (m: number): number => lengthRows.find((r) => r.rule === rule && r.optimizer === o && r.seed === s && r.multiple === m)?.attnEntropy as number;
        out.push(at(longest) - at(1));
      }
    }
    return out;
  };
  const driftLog = seedStats(drift('log-length'));
  const driftRsqrt = seedStats(drift('rsqrt'));
  const checks: Check[] = [
    makeCheck({
      id: 'C8.a',
      statement: 'Unscaled, the query-weight gradient at initialisation is smaller than with 1/√d_k by a factor growing like √d_k (the claim taken literally).',
      quantity: `log-log slope in d_k of ‖∂L/∂W_q‖(none) / ‖∂L/∂W_q‖(rsqrt) at step 0, d_k ∈ {${plan.initDims.join(', ')}}, ${plan.initSeeds} paired seeds each`,
      measured: ratioFit.slope, predicted: -0.5, tolerance: 3 * ratioFit.se,
      toleranceBasis: '3 standard errors of the slope, from the residuals of the fit over seeds and d_k', alternative: 0,
    }),
    makeCheck({
      id: 'C8.b',
      statement: `At d_k = ${dMax} the unscaled model learns slower: its validation loss averaged over training is higher than rsqrt's in every paired run.`,
      quantity: `share of paired runs (same seed and optimiser, ${pairs.length} pairs) where none's mean validation loss exceeds rsqrt's`,
      measured: slowerShare, predicted: 1, tolerance: 1 / (2 * Math.sqrt(pairs.length)),
      toleranceBasis: 'one standard error of a fair coin\'s share over the pairs, 1/(2√pairs): the no-effect alternative is 1/2', alternative: 0.5,
    }),
    makeCheck({
      id: 'C8.c',
      statement: `log-length keeps the attention entropy steady from 1× to ${longest}× the training length (rsqrt's drift is the rival).`,
      quantity: `mean attention entropy at ${longest}× minus at 1× (nats), log-length, over seeds and optimisers`,
      measured: driftLog.mean, predicted: 0, tolerance: 3 * Math.hypot(driftLog.se, driftRsqrt.se),
      toleranceBasis: '3 standard errors of the difference, from the spread over seeds and optimisers', alternative: driftRsqrt.mean,
    }),
  ];

  const meanOf = (d: number, rule: string, o: string, field: string): number => mean(summary(d, rule, o).map((r) => r[field] as number));
  const accAt = (rule: string, m: number): number => mean(lengthRows.filter((r) => r.rule === rule && r.multiple === m).map((r) => r.accuracy as number));
  const entAt = (rule: string, m: number): number => mean(lengthRows.filter((r) => r.rule === rule && r.multiple === m).map((r) => r.attnEntropy as number));
  const ranking = (o: string): string => plan.rules
    .map((rule) => ({ rule, loss: meanOf(dMax, rule, o, 'finalValLoss') }))
    .sort((a, b) => a.loss - b.loss)
    .map((x) => `${x.rule} ${fmt(x.loss)}`)
    .join(', ');
  const findings: string[] = [];
  for (const o of plan.optimizers) findings.push(`Final validation loss at d_k = ${dMax} with ${o} (nats/char, best first): ${ranking(o)}.`);
  const initMean = (d: number, rule: string): number => mean(initOf(d, rule).map((r) => r.initQGradNorm as number));
  const initLo = Math.min(...plan.initDims);
  const initHi = Math.max(...plan.initDims);
  findings.push(
    `Initial ‖∂L/∂W_q‖ at d_k = ${initLo} → ${initHi}: ` +
    SCALE_RULES.map((rule) => `${rule} ${fmt(initMean(initLo, rule))} → ${fmt(initMean(initHi, rule))}`).join('; ') + '.',
  );
  for (const o of plan.optimizers) {
    const gaps = pairs.filter((p) => p.optimizer === o).map((p) => p.gap);
    findings.push(`At d_k = ${dMax} with ${o}, none − rsqrt mean validation loss: ${gaps.map((g) => fmt(g)).join(', ')} nats/char per seed.`);
  }
  for (const o of plan.recallOptimizers) {
    const at = (rule: string, m: number, field: string): number =>
      mean(lengthRows.filter((r) => r.rule === rule && r.optimizer === o && r.multiple === m).map((r) => r[field] as number));
    findings.push(
      `Recall with ${o}, accuracy | attention entropy (nats) at ${plan.multiples.map((m) => `${m}×`).join(' / ')} the training length (${plan.recallPairs} pairs, ${plan.recallSteps} steps): ` +
      plan.recallRules.map((rule) => `${rule} ${plan.multiples.map((m) => fmt(at(rule, m, 'accuracy'), 2)).join(' / ')} | ${plan.multiples.map((m) => fmt(at(rule, m, 'attnEntropy'), 2)).join(' / ')}`).join('; ') + '.',
    );
  }
  return {
    checks,
    rows,
    meaning:
      `At initialisation the unscaled model's ‖∂L/∂W_q‖ relative to rsqrt scales as d_k^${fmt(ratioFit.slope)} ± ${fmt(ratioFit.se)}: ` +
      `${ratioFit.slope > 0 ? 'it grows' : 'it shrinks'} with d_k (×${fmt(mean(ratioPts.filter((p) => p.d === initHi).map((p) => p.ratio)))} at d_k = ${initHi}). ` +
      `At d_k = ${dMax} the unscaled model had the higher mean validation loss in ${fmt(100 * slowerShare)}% of paired runs. ` +
      `From 1× to ${longest}× the training length the attention entropy moved by ${fmt(driftLog.mean)} nats under log-length and ${fmt(driftRsqrt.mean)} under rsqrt; ` +
      `recall accuracy at ${longest}× was ${fmt(accAt('log-length', longest), 2)} (log-length) against ${fmt(accAt('rsqrt', longest), 2)} (rsqrt), ${fmt(accAt('rsqrt', 1), 2)} for rsqrt at 1×; ` +
      `entropy at 1× / ${longest}×: rsqrt ${fmt(entAt('rsqrt', 1))} / ${fmt(entAt('rsqrt', longest))}, log-length ${fmt(entAt('log-length', 1))} / ${fmt(entAt('log-length', longest))} nats.`,
    findings,
    parameters: {
      initDims: plan.initDims, initSeeds: plan.initSeeds, dims: plan.dims, rules: plan.rules, optimizers: plan.optimizers, seeds: plan.seeds, width: plan.width, layers: 2,
      namesSteps: plan.namesSteps, namesBatch: plan.namesBatch, namesValidationNames: plan.namesValidation,
      recallDim: plan.recallDim, recallSteps: plan.recallSteps, recallBatch: plan.recallBatch, recallPairs: plan.recallPairs,
      recallOptimizers: plan.recallOptimizers, recallRules: plan.recallRules, recallSeeds: plan.recallSeeds, lengthMultiples: plan.multiples,
    },
  };
}
