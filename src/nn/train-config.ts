import type { AttentionImpl } from '../attention/index.js';
import { ScaledotError, type FloatDType } from '../tensor/index.js';
import { checkScaleRule, type ScaleRule } from './scale-rules.js';
import { checkTask, type TaskName } from './tasks.js';

export const OPTIMIZERS = ['adamw', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export interface TrainConfig {
  task: TaskName;
  scaleRule: ScaleRule;
  headDim: number;
  steps: number;
  seed: number;
  /** Residual width; default max(64, headDim). */
  width?: number;
  /** Attention heads; default width / headDim (which must then divide). */
  heads?: number;
  layers?: number;
  batchSize?: number;
  optimizer?: OptimizerName;
  /** Peak learning rate; default AdamW 1e-2 on recall, 3e-3 on names; SGD 0.1. */
  lr?: number;
  weightDecay?: number;
  /** Global gradient-norm clip. */
  clip?: number;
  /**
   * Curve points: every `evalEvery` steps and at the last. Default: steps/20,
   * but never more often than one validation per validation set's worth of
   * training sequences (validationCadence), so a short run is not mostly validation.
   */
  evalEvery?: number;
  /** Recall: pairs per training sequence (default 8) and distinct keys (default max(32, pairs × the largest lengthMultiples entry)). */
  recallPairs?: number;
  recallSymbols?: number;
  /** Validation set size: names (default all) or recall sequences (default 256). */
  validationSize?: number;
  /** Recall and maxretrieval: also evaluate at these multiples of the training length (set size) at the end. */
  lengthMultiples?: number[];
  /** Maxretrieval: items per training set (default 16). */
  setSize?: number;
  /** Maxretrieval: priority levels (default 16; many levels make the top-two gap shrink with n). */
  priorityLevels?: number;
  /** Maxretrieval: labels per priority level (default 8). */
  retrievalLabels?: number;
  /** Maxretrieval: answer with the winner's whole id ('item', default) or its label alone ('label', a retrievalLabels-way readout). */
  retrievalAnswer?: 'item' | 'label';
  /** Also evaluate the length sweep with adaptive temperature (Veličković et al.) at inference. */
  adaptiveTemperature?: boolean;
  /** Record every step's largest attention logit and smallest per-head entropy (costs one more pass over the scores). */
  trackAttention?: boolean;
  /**
   * With trackAttention: every this many steps (and at step 1) record each
   * head's Zhai figures and learnt parameter (head-trace.ts), and check every
   * step's rows against the L2 form of Zhai's bound; 0 (default) records none.
   */
  traceHeadsEvery?: number;
  dtype?: FloatDType;
  impl?: AttentionImpl;
}

function positiveInt(fn: string, name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0) throw new ScaledotError('E_OPTION', `${fn}: ${name} is ${v}; expected a positive integer`);
}

/**
 * How many steps apart the default validations are: steps/20, and at least as
 * many steps as it takes to train on as many sequences as one validation
 * reads. So validation costs at most about as much as training (a 30-step
 * recall run validated 15 times, each validation 8 steps' worth, spent most of
 * its time there), while a long run keeps its 20 points.
 */
export function validationCadence(steps: number, batchSize: number, validationSequences: number): number {
  return Math.max(1, Math.round(steps / 20), Math.ceil(validationSequences / batchSize));
}

/** A TrainConfig with every default filled in. */
/** The peak learning rate a run takes when none is given: sgd 0.1; adamw 1e-2 on recall, 3e-3 on names and maxretrieval. */
export function defaultLr(task: TaskName, optimizer: OptimizerName): number {
  return optimizer === 'sgd' ? 0.1 : task === 'recall' ? 1e-2 : 3e-3;
}

export type ResolvedTrainConfig = Required<Omit<TrainConfig, 'lengthMultiples'>> & { lengthMultiples: number[] };

/** Fills the defaults and checks every option before any work. */
export function resolveTrainConfig(config: TrainConfig): ResolvedTrainConfig {
  const fn = 'train';
  const task = checkTask(fn, config.task);
  const scaleRule = checkScaleRule(fn, config.scaleRule);
  positiveInt(fn, 'steps', config.steps);
  positiveInt(fn, 'headDim', config.headDim);
  if (!Number.isSafeInteger(config.seed)) throw new ScaledotError('E_OPTION', `${fn}: seed is ${config.seed}; expected an integer`);
  const headDim = config.headDim;
  const width = config.width ?? Math.max(64, headDim);
  positiveInt(fn, 'width', width);
  if (config.heads === undefined && width % headDim !== 0) {
    throw new ScaledotError('E_OPTION', `${fn}: head dim ${headDim} does not divide the width ${width}; the heads split the width evenly, so choose a head dim that divides it`);
  }
  const optimizer = config.optimizer ?? 'adamw';
  if (!(OPTIMIZERS as readonly string[]).includes(optimizer)) {
    throw new ScaledotError('E_OPTION', `${fn}: optimizer ${JSON.stringify(optimizer)} is unknown; expected one of ${OPTIMIZERS.join(', ')}`);
  }
  const resolved = {
    task, scaleRule, headDim, width, steps: config.steps, seed: config.seed,
    heads: config.heads ?? width / headDim,
    layers: config.layers ?? 2,
    batchSize: config.batchSize ?? 32,
    optimizer,
    lr: config.lr ?? defaultLr(task, optimizer),
    weightDecay: config.weightDecay ?? 0.01,
    clip: config.clip ?? 1,
    evalEvery: config.evalEvery ?? Math.max(1, Math.round(config.steps / 20)),
    recallPairs: config.recallPairs ?? 8,
    // A length sweep needs pairs × the longest multiple distinct keys: the default alphabet grows to it (as C8's runs do).
    recallSymbols: config.recallSymbols ?? Math.max(32, (config.recallPairs ?? 8) * Math.max(1, ...(config.lengthMultiples ?? []))),
    lengthMultiples: config.lengthMultiples ?? [],
    setSize: config.setSize ?? 16,
    priorityLevels: config.priorityLevels ?? 16,
    retrievalLabels: config.retrievalLabels ?? 8,
    retrievalAnswer: config.retrievalAnswer ?? 'item',
    adaptiveTemperature: config.adaptiveTemperature ?? false,
    trackAttention: config.trackAttention ?? false,
    traceHeadsEvery: config.traceHeadsEvery ?? 0,
    validationSize: config.validationSize ?? (task === 'names' ? Number.MAX_SAFE_INTEGER : 256),
    dtype: config.dtype ?? 'float64',
    impl: config.impl ?? 'auto',
  };
  for (const key of ['heads', 'layers', 'batchSize', 'evalEvery', 'recallPairs', 'recallSymbols', 'validationSize', 'setSize', 'priorityLevels', 'retrievalLabels'] as const) positiveInt(fn, key, resolved[key]);
  if (resolved.priorityLevels < 2) throw new ScaledotError('E_OPTION', `${fn}: priorityLevels is ${resolved.priorityLevels}; expected an integer >= 2`);
  if (resolved.retrievalAnswer !== 'item' && resolved.retrievalAnswer !== 'label') {
    throw new ScaledotError('E_OPTION', `${fn}: retrievalAnswer is ${JSON.stringify(resolved.retrievalAnswer)}; expected 'item' or 'label'`);
  }
  for (const key of ['lr', 'weightDecay', 'clip'] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] < 0) throw new ScaledotError('E_OPTION', `${fn}: ${key} is ${resolved[key]}; expected a finite number >= 0`);
  }
  if (!Number.isSafeInteger(resolved.traceHeadsEvery) || resolved.traceHeadsEvery < 0) {
    throw new ScaledotError('E_OPTION', `${fn}: traceHeadsEvery is ${resolved.traceHeadsEvery}; expected an integer >= 0 (0: no trace)`);
  }
  if (resolved.traceHeadsEvery > 0 && !resolved.trackAttention) {
    throw new ScaledotError('E_OPTION', `${fn}: traceHeadsEvery is ${resolved.traceHeadsEvery} but trackAttention is off; the trace reads the attention figures trackAttention measures, so set trackAttention: true`);
  }
  for (const m of resolved.lengthMultiples) positiveInt(fn, 'lengthMultiples[]', m);
  if (task === 'recall') {
    const longest = resolved.recallPairs * Math.max(1, ...resolved.lengthMultiples);
    if (longest > resolved.recallSymbols) {
      throw new ScaledotError('E_OPTION', `${fn}: recall needs ${longest} distinct keys at its longest length but recallSymbols is ${resolved.recallSymbols}`);
    }
  }
  return resolved;
}

