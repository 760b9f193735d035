import type { AttentionImpl } from '../attention/index.js';
import { Rng, ScaledotError, type FloatDType } from '../tensor/index.js';
import { backward, type Var } from './autograd.js';
import { scoredCount, type Batch } from './data/batch.js';
import { IGNORE, crossEntropy } from './loss.js';
import { AdamW, SgdMomentum, clipGradNorm, gradNorm, learningRate, type Optimizer } from './optim.js';
import { checkScaleRule, type ScaleRule } from './scale-rules.js';
import { checkTask, makeNamesTask, makeRecallTask, type NamesTask, type RecallTask, type Task, type TaskName } from './tasks.js';
import { Transformer } from './transformer.js';

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
  /** Recall: pairs per training sequence and distinct keys. */
  recallPairs?: number;
  recallSymbols?: number;
  /** Validation set size: names (default all) or recall sequences (default 256). */
  validationSize?: number;
  /** Recall: also evaluate at these multiples of the training length at the end. */
  lengthMultiples?: number[];
  dtype?: FloatDType;
  impl?: AttentionImpl;
}

export interface CurvePoint {
  step: number;
  /** Mean training loss over the steps since the previous point (nats per scored token). */
  trainLoss: number;
  /** Validation loss (nats per scored token: per character for names). */
  valLoss: number;
  /** Top-1 accuracy of the scored predictions on the validation set. */
  accuracy: number;
  /** ‖∂L/∂W_q‖ over all layers, at the last step before this point (before clipping). */
  qGradNorm: number;
  /** Mean attention entropy (nats) on the first validation batch. */
  attnEntropy: number;
}

export interface LengthPoint {
  multiple: number;
  length: number;
  valLoss: number;
  accuracy: number;
  attnEntropy: number;
}

export interface TrainResult {
  config: Required<Omit<TrainConfig, 'lengthMultiples'>> & { lengthMultiples: number[] };
  /** Steps actually taken (fewer than config.steps if stopped). */
  stepsDone: number;
  interrupted: boolean;
  curve: CurvePoint[];
  final: { trainLoss: number; valLoss: number; accuracy: number; attnEntropy: number };
  /** ‖∂L/∂W_q‖ at initialisation: the first step's gradient. */
  initQGradNorm: number;
  lengths: LengthPoint[];
  /** Names: the add-one character-bigram baseline on the same validation names. */
  bigramValLoss: number | null;
  seconds: number;
  model: Transformer;
  task: Task;
}

export interface TrainHooks {
  /** Called after each step with the step count and the step's training loss. */
  onStep?: (step: number, loss: number) => void;
  onPoint?: (point: CurvePoint) => void;
  /** When aborted, training stops after the current step and the result covers what was done. */
  signal?: AbortSignal;
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

/** Fills the defaults and checks every option before any work. */
export function resolveTrainConfig(config: TrainConfig): TrainResult['config'] {
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
    lr: config.lr ?? (optimizer === 'sgd' ? 0.1 : task === 'recall' ? 1e-2 : 3e-3),
    weightDecay: config.weightDecay ?? 0.01,
    clip: config.clip ?? 1,
    evalEvery: config.evalEvery ?? Math.max(1, Math.round(config.steps / 20)),
    recallPairs: config.recallPairs ?? 8,
    recallSymbols: config.recallSymbols ?? 32,
    lengthMultiples: config.lengthMultiples ?? [],
    validationSize: config.validationSize ?? (task === 'names' ? Number.MAX_SAFE_INTEGER : 256),
    dtype: config.dtype ?? 'float64',
    impl: config.impl ?? 'auto',
  };
  for (const key of ['heads', 'layers', 'batchSize', 'evalEvery', 'recallPairs', 'recallSymbols', 'validationSize'] as const) positiveInt(fn, key, resolved[key]);
  for (const key of ['lr', 'weightDecay', 'clip'] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] < 0) throw new ScaledotError('E_OPTION', `${fn}: ${key} is ${resolved[key]}; expected a finite number >= 0`);
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

export interface Evaluation {
  valLoss: number;
  accuracy: number;
  attnEntropy: number;
}

/** Loss (nats per scored token), top-1 accuracy and attention entropy over a set of batches. */
export function evaluate(model: Transformer, batches: readonly Batch[]): Evaluation {
  let total = 0;
  let count = 0;
  let correct = 0;
  let attnEntropy = NaN;
  batches.forEach((b, bi) => {
    const logits = model.forward(b.ids, b.batch, b.length, bi === 0);
    if (bi === 0) attnEntropy = model.attentionEntropy();
    const scored = scoredCount(b);
    total += crossEntropy(logits, b.targets).data[0] * scored;
    count += scored;
    const v = model.config.vocabSize;
    for (let r = 0; r < b.targets.length; r++) {
      const t = b.targets[r];
      if (t === IGNORE) continue;
      let best = 0;
      for (let j = 1; j < v; j++) if (logits.data[r * v + j] > logits.data[r * v + best]) best = j;
      if (best === t) correct++;
    }
  });
  return { valLoss: total / count, accuracy: correct / count, attnEntropy };
}

/**
 * One training run, a step at a time: AdamW or SGD with momentum, global
 * gradient clipping, linear warmup then cosine decay; deterministic for a
 * seed. `train` drives it asynchronously (so Ctrl-C can stop it), the lab
 * drives it synchronously with `trainSync`.
 */
export class Trainer {
  readonly config: TrainResult['config'];
  readonly task: Task;
  readonly model: Transformer;
  readonly curve: CurvePoint[] = [];
  step = 0;
  initQGradNorm = NaN;
  private readonly params: Var[];
  private readonly optimizer: Optimizer;
  private readonly rng: Rng;
  private readonly warmup: number;
  private readonly started = performance.now();
  private windowLoss = 0;
  private windowSteps = 0;
  private lastQGrad = NaN;

  constructor(config: TrainConfig, private readonly hooks: Omit<TrainHooks, 'signal'> = {}) {
    const resolved = resolveTrainConfig(config);
    this.task = resolved.task === 'recall'
      ? makeRecallTask(resolved.seed, resolved.recallPairs, resolved.recallSymbols, resolved.validationSize)
      : makeNamesTask(resolved.seed, undefined, resolved.validationSize);
    const validationSequences = this.task.validation.reduce((sum, b) => sum + b.batch, 0);
    const c = { ...resolved, evalEvery: config.evalEvery ?? validationCadence(resolved.steps, resolved.batchSize, validationSequences) };
    this.config = c;
    this.model = new Transformer({
      vocabSize: this.task.vocabSize, width: c.width, layers: c.layers, heads: c.heads, headDim: c.headDim,
      scaleRule: c.scaleRule, dtype: c.dtype, impl: c.impl, seed: c.seed,
    });
    this.params = this.model.parameters().map(([, p]) => p);
    this.optimizer = c.optimizer === 'adamw'
      ? new AdamW(this.params, { weightDecay: c.weightDecay })
      : new SgdMomentum(this.params, { momentum: 0.9, weightDecay: c.weightDecay });
    this.rng = new Rng(c.seed + 7919);
    this.warmup = Math.max(1, Math.round(c.steps * 0.05));
  }

  get done(): boolean {
    return this.step >= this.config.steps;
  }

  /** One optimisation step; adds a curve point every evalEvery steps and at the last. */
  advance(): void {
    const c = this.config;
    const b = this.task.trainBatch(this.rng, c.batchSize);
    const loss = crossEntropy(this.model.forward(b.ids, b.batch, b.length), b.targets);
    backward(loss);
    this.lastQGrad = gradNorm(this.model.queryWeights());
    if (this.step === 0) this.initQGradNorm = this.lastQGrad;
    if (c.clip > 0) clipGradNorm(this.params, c.clip);
    this.optimizer.step(learningRate(this.step, c.steps, c.lr, this.warmup));
    this.optimizer.zeroGrad();
    this.step++;
    this.windowLoss += loss.data[0];
    this.windowSteps++;
    this.hooks.onStep?.(this.step, loss.data[0]);
    if (this.step % c.evalEvery === 0 || this.step === c.steps) this.addPoint();
  }

  private addPoint(): void {
    const ev = evaluate(this.model, this.task.validation);
    const p: CurvePoint = {
      step: this.step, trainLoss: this.windowSteps > 0 ? this.windowLoss / this.windowSteps : NaN, qGradNorm: this.lastQGrad, ...ev,
    };
    this.curve.push(p);
    this.hooks.onPoint?.(p);
    this.windowLoss = 0;
    this.windowSteps = 0;
  }

  /** The result so far: a last curve point at the current step, the length sweep, the bigram baseline. */
  finish(): TrainResult {
    const c = this.config;
    if (this.step > 0 && this.curve[this.curve.length - 1]?.step !== this.step) this.addPoint();
    const last = this.curve[this.curve.length - 1];
    const final = last === undefined
      ? { trainLoss: NaN, ...evaluate(this.model, this.task.validation) }
      : { trainLoss: last.trainLoss, valLoss: last.valLoss, accuracy: last.accuracy, attnEntropy: last.attnEntropy };
    const lengths: LengthPoint[] = [];
    if (this.task.name === 'recall') {
      const recall = this.task as RecallTask;
      for (const m of c.lengthMultiples) {
        const batches = recall.validationAt(m);
        lengths.push({ multiple: m, length: batches[0].length, ...evaluate(this.model, batches) });
      }
    }
    const bigramValLoss = this.task.name === 'names' ? (this.task as NamesTask).bigram.loss(this.task.validation).nats : null;
    return {
      config: c, stepsDone: this.step, interrupted: this.step < c.steps, curve: this.curve, final,
      initQGradNorm: this.initQGradNorm, lengths, bigramValLoss,
      seconds: (performance.now() - this.started) / 1000, model: this.model, task: this.task,
    };
  }
}

/** Trains to the end without yielding (the lab's experiments are synchronous). */
export function trainSync(config: TrainConfig, hooks: Omit<TrainHooks, 'signal'> = {}): TrainResult {
  const trainer = new Trainer(config, hooks);
  while (!trainer.done) trainer.advance();
  return trainer.finish();
}

/**
 * Trains, yielding to the event loop after every step, so an aborted
 * `signal` (Ctrl-C) stops it after the current step and the result still
 * holds every completed step.
 */
export async function train(config: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  const trainer = new Trainer(config, hooks);
  while (!trainer.done && !hooks.signal?.aborted) {
    trainer.advance();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return trainer.finish();
}
