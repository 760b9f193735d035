import {
  SCALE_RULES, Trainer, trainManySync, type CurvePoint, type LengthPoint, type OptimizerName, type ScaleRule, type TrainConfig,
} from '../../nn/index.js';
import type { RunContext } from '../experiment.js';
import { mean } from '../stats.js';
import { headsFor, type C8Plan } from './c8-plan.js';

// C8's measurements, typed: the query-weight gradient at initialisation, and
// the training runs of both studies (names and recall).

/** ‖∂L/∂W_q‖ of the first step (before clipping) on one names batch. */
export interface InitGradient {
  d: number;
  rule: ScaleRule;
  seed: number;
  initQGradNorm: number;
}

/** One names run of study A. */
export interface NamesRun {
  d: number;
  rule: ScaleRule;
  optimizer: OptimizerName;
  seed: number;
  curve: CurvePoint[];
  initQGradNorm: number;
  /** Validation loss averaged over the curve's points: how fast the run learned. */
  meanValLoss: number;
  finalValLoss: number;
  seconds: number;
}

/** One recall run of study B, evaluated at each multiple of its training length. */
export interface RecallRun {
  rule: ScaleRule;
  optimizer: OptimizerName;
  seed: number;
  lengths: LengthPoint[];
}

export interface C8Runs {
  init: InitGradient[];
  names: NamesRun[];
  recall: RecallRun[];
}

/** Every measurement of a plan; `progress` is weighted by steps (a recall step costs about two names steps). */
export function runC8Plan(plan: C8Plan, { seedFor, progress }: Pick<RunContext, 'seedFor' | 'progress'>): C8Runs {
  const namesRunCount = plan.dims.length * plan.rules.length * plan.optimizers.length * plan.seedCount;
  const recallRunCount = plan.recallRules.length * plan.recallOptimizers.length * plan.recallSeedCount;
  const initWork = plan.initDims.length * SCALE_RULES.length * plan.initSeedCount;
  const totalWork = initWork + namesRunCount * plan.namesSteps + 2 * recallRunCount * plan.recallSteps;
  let work = 0;

  const init: InitGradient[] = [];
  for (const d of plan.initDims) {
    for (const rule of SCALE_RULES) {
      for (let seed = 0; seed < plan.initSeedCount; seed++) {
        const trainer = new Trainer({
          task: 'names', scaleRule: rule, headDim: d, width: plan.width, heads: headsFor(plan.width, d), steps: 1,
          batchSize: plan.namesBatch, evalEvery: 1e9, validationSize: 1, seed: seedFor('init', seed) % 1e9,
        });
        trainer.advance();
        init.push({ d, rule, seed, initQGradNorm: trainer.initQGradNorm });
      }
    }
    work += initWork / plan.initDims.length;
    progress(work / totalWork);
  }

  // Every training run is independent and seeded: run them all on worker threads (records come back in order).
  type Job = { kind: 'names'; d: number; rule: ScaleRule; optimizer: OptimizerName; seed: number } | { kind: 'recall'; rule: ScaleRule; optimizer: OptimizerName; seed: number };
  const jobs: Job[] = [];
  const configs: TrainConfig[] = [];
  // The longest runs first (recall, then names by falling d_k), so the threads finish close together.
  for (const rule of plan.recallRules) {
    for (const optimizer of plan.recallOptimizers) {
      for (let seed = 0; seed < plan.recallSeedCount; seed++) {
        jobs.push({ kind: 'recall', rule, optimizer, seed });
        configs.push({
          task: 'recall', scaleRule: rule, headDim: plan.recallDim, width: plan.width, heads: headsFor(plan.width, plan.recallDim), optimizer,
          steps: plan.recallSteps, batchSize: plan.recallBatch, evalEvery: plan.recallSteps, recallPairs: plan.recallPairs,
          recallSymbols: plan.recallPairs * Math.max(...plan.multiples), lengthMultiples: plan.multiples, validationSize: 128,
          seed: seedFor('recall', seed) % 1e9,
        });
      }
    }
  }
  for (const d of [...plan.dims].sort((a, b) => b - a)) {
    for (const rule of plan.rules) {
      for (const optimizer of plan.optimizers) {
        for (let seed = 0; seed < plan.seedCount; seed++) {
          jobs.push({ kind: 'names', d, rule, optimizer, seed });
          configs.push({
            task: 'names', scaleRule: rule, headDim: d, width: plan.width, heads: headsFor(plan.width, d), optimizer,
            steps: plan.namesSteps, batchSize: plan.namesBatch, evalEvery: plan.evalEvery, validationSize: plan.namesValidation,
            seed: seedFor('names', seed) % 1e9,
          });
        }
      }
    }
  }
  const records = trainManySync(configs, {
    threads: plan.threads,
    onDone: (i) => {
      work += jobs[i].kind === 'recall' ? 2 * plan.recallSteps : plan.namesSteps;
      progress(work / totalWork);
    },
  });

  const names: NamesRun[] = [];
  const recall: RecallRun[] = [];
  jobs.forEach((job, i) => {
    const r = records[i];
    if (job.kind === 'names') {
      const { d, rule, optimizer, seed } = job;
      names.push({
        d, rule, optimizer, seed, curve: r.curve, initQGradNorm: r.initQGradNorm,
        meanValLoss: mean(r.curve.map((p) => p.valLoss)), finalValLoss: r.final.valLoss, seconds: r.seconds,
      });
    } else {
      recall.push({ rule: job.rule, optimizer: job.optimizer, seed: job.seed, lengths: r.lengths });
    }
  });
  return { init, names, recall };
}
