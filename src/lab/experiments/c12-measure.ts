import { trainManySync, type ScaleRule, type TrainConfig } from '../../nn/index.js';
import type { LabMode, RunContext } from '../experiment.js';

/** How much C12 trains; the runner times it. Tests run the quick plan. */
export interface C12Plan {
  steps: number;
  seeds: number;
  validationNames: number;
}

export function c12Plan(mode: LabMode): C12Plan {
  return mode === 'quick' ? { steps: 10, seeds: 1, validationNames: 64 } : { steps: 400, seeds: 2, validationNames: 256 };
}

export const C12_RULES: { rule: ScaleRule; label: string }[] = [
  { rule: 'rsqrt', label: 'plain softmax' },
  { rule: 'softmax1', label: 'softmax₁ (sink at 0)' },
  { rule: 'sink', label: 'learnt sink' },
];

export type C12Task = 'names' | 'markedcopy';
export const C12_TASKS: { task: C12Task; label: string }[] = [
  { task: 'names', label: 'names' },
  { task: 'markedcopy', label: 'marked copy' },
];

/**
 * The learnt sink and softmax₁ count as one piece of evidence when every
 * learnt sink logit ends within this of softmax₁'s 0: the sink's weight then
 * stays within a factor e^0.5 ≈ 1.65 of softmax₁'s.
 */
export const POOL_LOGIT = 0.5;

/** The C12 runs: 2 layers × 4 heads of dim 8 on names (every sequence opens with the boundary token) or marked copy (opens with BOS). */
export function c12Config(task: C12Task, rule: ScaleRule, seed: number, plan: C12Plan): TrainConfig {
  return {
    task, scaleRule: rule, headDim: 8, width: 32, layers: 2, steps: plan.steps, lr: 3e-3, batchSize: 32, seed,
    evalEvery: plan.steps, validationSize: task === 'names' ? plan.validationNames : 256, trackAttention: true, traceHeadsEvery: plan.steps,
  };
}

export interface C12Head {
  task: C12Task;
  rule: ScaleRule;
  label: string;
  seed: number;
  layer: number;
  head: number;
  /** Mean weight on key 0, over validation rows that see more than one key. */
  firstShare: number;
  /** A uniform row's weight on key 0 over the same rows. */
  firstUniform: number;
  sinkShare: number;
  /**
   * What a uniform row would put on key 0 once the sink has taken its share:
   * (1 − sink share) × firstUniform (the sink share is the head's mean over all rows).
   */
  baseline: number;
  /** firstShare − baseline. */
  excess: number;
  /** The learnt sink logit at the first and last step (null without a learnt sink). */
  sinkStart: number | null;
  sinkEnd: number | null;
  valLoss: number;
}

export interface C12Figures {
  plan: C12Plan;
  heads: C12Head[];
}

export function measureC12({ settings, seedFor, progress }: RunContext): C12Figures {
  const plan = c12Plan(settings.mode);
  const jobs = C12_TASKS.flatMap(({ task }) => C12_RULES.flatMap(({ rule, label }) => Array.from({ length: plan.seeds }, (_, s) => ({ task, rule, label, seed: s }))));
  const records = trainManySync(jobs.map((j) => c12Config(j.task, j.rule, seedFor('run', j.seed), plan)), { onDone: (_, done) => progress(done / jobs.length) });
  const heads = jobs.flatMap((j, i) => {
    const r = records[i];
    const steps = r.headTraces.map((t) => t.step);
    const learnt = (step: number, layer: number, head: number): number | null =>
      j.rule === 'sink' ? (r.headTraces.find((t) => t.step === step && t.layer === layer && t.head === head)?.learnt ?? null) : null;
    return r.heads.map((h): C12Head => {
      const baseline = (1 - h.sinkShare) * h.firstUniform;
      return {
        ...j, layer: h.layer, head: h.head, firstShare: h.firstShare, firstUniform: h.firstUniform, sinkShare: h.sinkShare, baseline, excess: h.firstShare - baseline,
        sinkStart: learnt(Math.min(...steps), h.layer, h.head), sinkEnd: learnt(Math.max(...steps), h.layer, h.head), valLoss: r.final.valLoss,
      };
    });
  });
  return { plan, heads };
}
