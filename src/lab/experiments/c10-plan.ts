import { adaptiveInverseTemperature, trainManySync, type Evaluation, type ScaleRule, type TrainConfig } from '../../nn/index.js';
import type { LabMode, RunContext } from '../experiment.js';
import { mean, standardError } from '../stats.js';

/** How much C10 trains; `--full` and `--only C10` run the full plan, tests the quick one. */
export interface C10Plan {
  steps: number;
  /** Seeds per rule and task: every comparison is paired by seed (the same trained head, or heads trained on the same data). */
  seeds: number;
  setSize: number;
  multiples: number[];
  validation: number;
}

export function c10Plan(mode: LabMode): C10Plan {
  return mode === 'quick'
    ? { steps: 40, seeds: 2, setSize: 16, multiples: [1, 4, 16], validation: 32 }
    : { steps: 800, seeds: 4, setSize: 16, multiples: [1, 4, 16, 64, 256], validation: 200 };
}

/**
 * The two tasks. With 16 priority levels the winner leads the runner-up by
 * one level at every n, the same lower-bounded gap the head trained on (C9's
 * needle); with 64 the top-two gap is a few levels at the training size and
 * shrinks to one as n grows, as with Veličković et al.'s continuous
 * priorities. Both answer the winner's label (C10_LABELS-way) rather than its
 * whole id, so the readout is not what limits accuracy at the training size.
 */
export const C10_TASKS = [
  { task: 'discrete', levels: 16 },
  { task: 'many-level', levels: 64 },
] as const;
/** Labels per priority level: the answer is one of these (chance 1/C10_LABELS). */
export const C10_LABELS = 4;
export type C10Task = (typeof C10_TASKS)[number]['task'];

export const C10_RULES: { rule: ScaleRule; variant: Variant }[] = [
  { rule: 'rsqrt', variant: 'plain' },
  { rule: 'log-length', variant: 'log-length' },
  { rule: 'ssmax', variant: 'ssmax' },
];
/** The plain head evaluated with adaptive temperature at inference (a legend label short enough not to be cut). */
export const ADAPTIVE = 'adaptive temperature';
export type Variant = 'plain' | typeof ADAPTIVE | 'log-length' | 'ssmax';
export const C10_VARIANTS: Variant[] = ['plain', ADAPTIVE, 'log-length', 'ssmax'];

/** One trained head of one variant, evaluated at one set size n. */
export interface RetrievalPoint {
  task: C10Task;
  variant: Variant;
  seed: number;
  n: number;
  accuracy: number;
  /** Binomial standard error over the test sets, at least that of one miss. */
  seAccuracy: number;
  maxWeight: number;
  seMaxWeight: number;
  topOdds: number;
  seTopOdds: number;
  /** Mean attention entropy of the head's rows (nats). */
  entropy: number;
  sequences: number;
}

export interface C10Figures {
  plan: C10Plan;
  sizes: number[];
  points: RetrievalPoint[];
  /** The entropy window (nats) where adaptive temperature's β(H) exceeds 1; outside it β clamps to 1 and the row is left alone. */
  betaWindow: { from: number; to: number };
}

/** Trains every (task, rule, seed) head and evaluates it at every size, with adaptive temperature on the plain heads too. */
export function measureRetrieval({ settings, seedFor, progress }: Pick<RunContext, 'settings' | 'seedFor' | 'progress'>, plan = c10Plan(settings.mode)): C10Figures {
  const jobs = C10_TASKS.flatMap(({ task, levels }) => C10_RULES.flatMap(({ rule, variant }) =>
    Array.from({ length: plan.seeds }, (_, seed) => ({ task, levels, rule, variant, seed }))));
  const configs: TrainConfig[] = jobs.map((j) => ({
    task: 'maxretrieval', scaleRule: j.rule, headDim: 16, heads: 1, width: 32, layers: 1, steps: plan.steps, lr: 1e-2, batchSize: 32,
    // Seeded by task and seed only: the three rules of one seed train on the same data, so their comparison is paired.
    seed: seedFor('run', j.task, j.seed) % 1e9, setSize: plan.setSize, lengthMultiples: plan.multiples, validationSize: plan.validation,
    evalEvery: plan.steps, adaptiveTemperature: j.rule === 'rsqrt', priorityLevels: j.levels, retrievalLabels: C10_LABELS, retrievalAnswer: 'label',
  }));
  const records = trainManySync(configs, { onDone: (_, done) => progress(done / configs.length) });
  const points: RetrievalPoint[] = [];
  const push = (task: C10Task, variant: Variant, seed: number, n: number, e: Evaluation): void => {
    const count = e.rows.count;
    points.push({
      task, variant, seed, n, accuracy: e.accuracy, seAccuracy: Math.sqrt(Math.max(e.accuracy * (1 - e.accuracy), 1 / count) / count),
      maxWeight: e.rows.maxWeight, seMaxWeight: e.rows.maxWeightSe, topOdds: e.rows.topOdds, seTopOdds: e.rows.topOddsSe, entropy: e.attnEntropy, sequences: count,
    });
  };
  jobs.forEach((j, i) => {
    for (const l of records[i].lengths) {
      push(j.task, j.variant, j.seed, l.length - 1, l);
      if (l.adaptive !== null) push(j.task, ADAPTIVE, j.seed, l.length - 1, l.adaptive);
    }
  });
  return { plan, sizes: plan.multiples.map((m) => m * plan.setSize), points, betaWindow: betaWindow() };
}

/** Where β(H) = max(poly(H), 1) exceeds 1: scanned on a fine grid, then each edge refined by bisection. */
export function betaWindow(): { from: number; to: number } {
  const above = (h: number): boolean => adaptiveInverseTemperature(h) > 1;
  const step = 1e-3;
  let from = NaN;
  let to = NaN;
  for (let h = 0.5; h < 30; h += step) {
    if (above(h) && Number.isNaN(from)) from = h;
    if (above(h)) to = h;
  }
  const refine = (lo: number, hi: number): number => {
    // above(lo) !== above(hi): halve until the bracket is below 1e-9 nats.
    const want = above(lo);
    while (hi - lo > 1e-9) {
      const mid = (lo + hi) / 2;
      if (above(mid) === want) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  return { from: refine(from - step, from), to: refine(to, to + step) };
}

/** The points of one task, variant and size, one per seed, in seed order. */
export function pointsAt(figures: C10Figures, task: C10Task, variant: Variant, n: number): RetrievalPoint[] {
  return figures.points.filter((p) => p.task === task && p.variant === variant && p.n === n).sort((a, b) => a.seed - b.seed);
}

/**
 * The mean over seeds of per-seed values, with a standard error that is the
 * larger of the spread over seeds and the test sets' own (binomial) error
 * pooled: a few seeds can agree by chance, and a single seed has no spread.
 */
export function overSeeds(values: readonly number[], ses: readonly number[]): { value: number; se: number } {
  const pooled = Math.sqrt(ses.reduce((a, s) => a + s * s, 0)) / ses.length;
  return { value: mean(values), se: Math.max(pooled, values.length > 1 ? standardError(values) : 0) };
}
