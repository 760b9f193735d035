import { trainManySync, type HeadTrace, type ScaleRule, type StepPoint, type TrainConfig, type TrainRecord } from '../../nn/index.js';
import type { LabMode, RunContext } from '../experiment.js';
import { geomspace } from '../charts.js';
import { mean } from '../stats.js';

/** How much C11 trains; the runner times it. Tests run the quick plan. */
export interface C11Plan {
  steps: number;
  seeds: number;
  lrs: number[];
  /** Every how many steps a step's figures and each head's trace go into the rows (every step's rows go into the L2 check). */
  rowEvery: number;
}

export function c11Plan(mode: LabMode): C11Plan {
  return mode === 'quick'
    ? { steps: 12, seeds: 1, lrs: geomspace(1e-3, 3e-1, 3), rowEvery: 4 }
    : { steps: 200, seeds: 3, lrs: geomspace(1e-3, 3e-1, 6), rowEvery: 20 };
}

export const C11_RULES: ScaleRule[] = ['rsqrt', 'qk-norm'];
/** A head's entropy has collapsed when it falls below this share of its value at the first step. */
export const COLLAPSE = 0.1;
/** A run above the best learning rate has stalled when its final loss is at least this share of chance (ln of the answers' count). */
export const STALL = 0.9;
const RECALL = { pairs: 4, symbols: 16 };

/**
 * Chance on recall: an answer is one of `symbols` values, and a model that has
 * learnt only which tokens can be answers scores ln(symbols); the full
 * vocabulary (keys and values, ln 2·symbols) is a looser chance line.
 */
export const C11_CHANCE = Math.log(RECALL.symbols);

/** The C11 training run at one learning rate: recall at 4 pairs (16 tokens), a 2-layer model with 4 heads of dim 8. */
export function c11Config(rule: ScaleRule, lr: number, seed: number, steps: number, traceEvery = 0): TrainConfig {
  return {
    task: 'recall', scaleRule: rule, headDim: 8, width: 32, layers: 2, steps, lr, batchSize: 16, seed, evalEvery: steps,
    recallPairs: RECALL.pairs, recallSymbols: RECALL.symbols, validationSize: 64, trackAttention: true, traceHeadsEvery: traceEvery,
  };
}

/** Final validation loss, or the first step's loss for a run that diverged (Wortsman et al.'s convention). */
export function finalOrInitial(r: Pick<TrainRecord, 'divergedAt' | 'initLoss' | 'final'>): number {
  return r.divergedAt === null ? r.final.valLoss : r.initLoss;
}

export interface C11Run {
  rule: ScaleRule;
  lr: number;
  seed: number;
  divergedAt: number | null;
  initLoss: number;
  countedLoss: number;
  /** The largest attention logit over the run's steps. */
  maxLogit: number;
  minEntropy: number;
  firstMinEntropy: number;
  /** The first step whose smallest head entropy fell below COLLAPSE × its first value; null if none. */
  collapseStep: number | null;
  /** Above the best learning rate of its rule and seed, and ended at ≥ STALL × chance. */
  aboveBest: boolean;
  stalled: boolean;
  l2Rows: number;
  l2Violations: number;
  l2MinMargin: number;
  /** Thinned step figures and each head's trace (learnt temperature, σ, entropy against its bound). */
  steps: StepPoint[];
  traces: HeadTrace[];
}

export interface C11Figures {
  plan: C11Plan;
  runs: C11Run[];
}

export function measureC11({ settings, seedFor, progress }: RunContext): C11Figures {
  const plan = c11Plan(settings.mode);
  const jobs = C11_RULES.flatMap((rule) => plan.lrs.flatMap((lr) => Array.from({ length: plan.seeds }, (_, s) => ({ rule, lr, seed: s }))));
  const records = trainManySync(jobs.map((j) => c11Config(j.rule, j.lr, seedFor('run', j.seed), plan.steps, plan.rowEvery)), {
    onDone: (_, done) => progress(done / jobs.length),
  });
  const runs = jobs.map((j, i): C11Run => {
    const r = records[i];
    const first = r.steps[0].minEntropy;
    const kept = r.steps.filter((p) => p.step === 1 || p.step % plan.rowEvery === 0 || p.step === r.steps.length);
    return {
      ...j, divergedAt: r.divergedAt, initLoss: r.initLoss, countedLoss: finalOrInitial(r),
      maxLogit: Math.max(...r.steps.map((p) => p.maxLogit)), minEntropy: Math.min(...r.steps.map((p) => p.minEntropy)), firstMinEntropy: first,
      collapseStep: r.steps.find((p) => p.minEntropy < COLLAPSE * first)?.step ?? null, aboveBest: false, stalled: false,
      l2Rows: r.l2Bound.rows, l2Violations: r.l2Bound.violations, l2MinMargin: r.l2Bound.minMargin, steps: kept, traces: r.headTraces,
    };
  });
  for (const run of runs) {
    const peers = runs.filter((r) => r.rule === run.rule && r.seed === run.seed);
    const best = peers.reduce((a, r) => (r.countedLoss < a.countedLoss ? r : a));
    run.aboveBest = run.lr > best.lr;
    run.stalled = run.aboveBest && run.countedLoss >= STALL * C11_CHANCE;
  }
  return { plan, runs };
}

/**
 * Wortsman et al.'s LR sensitivity of one rule and seed: the mean over the
 * learning-rate grid of min(final loss, initial loss) − the best final loss
 * over the grid (nats); 0 when every learning rate does as well as the best.
 */
export function sensitivity(runs: readonly C11Run[]): number {
  const best = Math.min(...runs.map((r) => r.countedLoss));
  return mean(runs.map((r) => Math.min(r.countedLoss, r.initLoss) - best));
}

/** Traced heads whose measured entropy is below the σ-form bound (beyond rounding). */
export function boundViolations(runs: readonly C11Run[]): { heads: number; violations: number; meanGap: number } {
  const traces = runs.flatMap((r) => r.traces);
  return {
    heads: traces.length,
    violations: traces.filter((t) => t.entropy < t.entropyBound - 1e-9).length,
    meanGap: mean(traces.map((t) => t.entropy - t.entropyBound)),
  };
}
