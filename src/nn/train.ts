import { Rng } from '../tensor/index.js';
import { backward, type Var } from './autograd.js';
import { evaluate, readoutTargets, type Evaluation, type HeadFigures } from './evaluate.js';
import { crossEntropy } from './loss.js';
import { AdamW, SgdMomentum, clipGradNorm, gradNorm, learningRate, type Optimizer } from './optim.js';
import { resolveTrainConfig, validationCadence, type ResolvedTrainConfig, type TrainConfig } from './train-config.js';
import { makeMarkedCopyTask, makeMaxRetrievalTask, makeNamesTask, makeRecallTask, type MaxRetrievalTask, type NamesTask, type RecallTask, type Task } from './tasks.js';
import { Transformer } from './transformer.js';
import { HeadTracer, type HeadTrace, type L2BoundCheck } from './head-trace.js';

export { OPTIMIZERS, defaultLr, resolveTrainConfig, validationCadence, type OptimizerName, type ResolvedTrainConfig, type TrainConfig } from './train-config.js';
export { evaluate, type Evaluation, type HeadFigures } from './evaluate.js';

/** A run has diverged when a step's loss is not finite or exceeds this multiple of the first step's loss. */
export const DIVERGENCE_FACTOR = 3;

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
  /** Mean largest attention weight per row on the first validation batch. */
  maxWeight: number;
  /** With trackAttention: the last step's largest attention logit and smallest per-head entropy (else null). */
  maxLogit: number | null;
  minEntropy: number | null;
}

/** One training step's figures (with trackAttention). */
export interface StepPoint {
  step: number;
  loss: number;
  /** The largest logit any attention row fed its softmax, over layers and heads. */
  maxLogit: number;
  /** The smallest mean entropy of any one head (nats), over layers. */
  minEntropy: number;
}

export interface LengthPoint extends Evaluation {
  multiple: number;
  length: number;
  /** The same sweep with adaptive temperature at inference (only with adaptiveTemperature). */
  adaptive: Evaluation | null;
}

export interface TrainResult {
  config: ResolvedTrainConfig;
  /** Steps actually taken (fewer than config.steps if stopped or diverged). */
  stepsDone: number;
  interrupted: boolean;
  /** The step whose loss was not finite or above DIVERGENCE_FACTOR × the first; null if none. Training stopped there, before its update. */
  divergedAt: number | null;
  curve: CurvePoint[];
  /** With trackAttention: every step's figures. */
  steps: StepPoint[];
  /** With trackAttention: attention rows checked over all steps against the one-up entropy and the exact minimum for their spread: rows below each, the smallest margins (nats). */
  entropyBound: { rows: number; violations: number; minMargin: number; exactViolations: number; exactMinMargin: number };
  final: { trainLoss: number; valLoss: number; accuracy: number; attnEntropy: number };
  /** ‖∂L/∂W_q‖ at initialisation: the first step's gradient. */
  initQGradNorm: number;
  /** The first step's training loss (what a diverged run is counted at). */
  initLoss: number;
  lengths: LengthPoint[];
  /** With traceHeadsEvery: each head's Zhai figures and learnt parameter along the run, and every step's rows against the L2 form of the bound. */
  headTraces: HeadTrace[];
  l2Bound: L2BoundCheck;
  /** With trackAttention: each head's figures over the whole validation set at the end (empty otherwise). */
  heads: HeadFigures[];
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

function makeTask(c: ResolvedTrainConfig): Task {
  switch (c.task) {
    case 'recall':
      return makeRecallTask(c.seed, c.recallPairs, c.recallSymbols, c.validationSize);
    case 'names':
      return makeNamesTask(c.seed, undefined, c.validationSize);
    case 'maxretrieval':
      return makeMaxRetrievalTask(c.seed, c.setSize, c.validationSize, { priorities: c.priorityLevels, labels: c.retrievalLabels, answer: c.retrievalAnswer });
    case 'markedcopy':
      return makeMarkedCopyTask(c.seed, c.validationSize);
  }
}

/**
 * One training run, a step at a time: AdamW or SGD with momentum, global
 * gradient clipping, linear warmup then cosine decay; deterministic for a
 * seed. `train` drives it asynchronously (so Ctrl-C can stop it), the lab
 * drives it synchronously with `trainSync`.
 */
export class Trainer {
  readonly config: ResolvedTrainConfig;
  readonly task: Task;
  readonly model: Transformer;
  readonly curve: CurvePoint[] = [];
  readonly steps: StepPoint[] = [];
  readonly entropyBound = { rows: 0, violations: 0, minMargin: Infinity, exactViolations: 0, exactMinMargin: Infinity };
  step = 0;
  initQGradNorm = NaN;
  initLoss = NaN;
  divergedAt: number | null = null;
  private readonly params: Var[];
  private readonly optimizer: Optimizer;
  private readonly rng: Rng;
  private readonly warmup: number;
  private readonly started = performance.now();
  private windowLoss = 0;
  private windowSteps = 0;
  private lastQGrad = NaN;
  private lastStep: StepPoint | null = null;
  private readonly tracer: HeadTracer | null;

  constructor(config: TrainConfig, private readonly hooks: Omit<TrainHooks, 'signal'> = {}) {
    const resolved = resolveTrainConfig(config);
    this.task = makeTask(resolved);
    const validationSequences = this.task.validation.reduce((sum, b) => sum + b.batch, 0);
    const c = { ...resolved, evalEvery: config.evalEvery ?? validationCadence(resolved.steps, resolved.batchSize, validationSequences) };
    this.config = c;
    const set = this.task.setTask === true;
    this.model = new Transformer({
      vocabSize: this.task.vocabSize, width: c.width, layers: c.layers, heads: c.heads, headDim: c.headDim,
      scaleRule: c.scaleRule, dtype: c.dtype, impl: c.impl, seed: c.seed,
      ...(set ? { rope: false, tokenShift: false, readout: 'last' as const } : {}),
    });
    this.params = this.model.parameters().map(([, p]) => p);
    this.optimizer = c.optimizer === 'adamw'
      ? new AdamW(this.params, { weightDecay: c.weightDecay })
      : new SgdMomentum(this.params, { momentum: 0.9, weightDecay: c.weightDecay });
    this.rng = new Rng(c.seed + 7919);
    this.warmup = Math.max(1, Math.round(c.steps * 0.05));
    this.tracer = c.traceHeadsEvery > 0 ? new HeadTracer(this.model) : null;
  }

  get done(): boolean {
    return this.step >= this.config.steps || this.divergedAt !== null;
  }

  /**
   * One optimisation step; adds a curve point every evalEvery steps and at the
   * last. A step whose loss or gradient is not finite, or whose loss exceeds
   * DIVERGENCE_FACTOR × the first step's, ends the run before its update, so
   * the parameters stay finite.
   */
  advance(): void {
    const c = this.config;
    const b = this.task.trainBatch(this.rng, c.batchSize);
    const track = c.trackAttention;
    const loss = crossEntropy(this.model.forward(b.ids, b.batch, b.length, track), readoutTargets(this.model, b));
    const value = loss.data[0];
    if (this.step === 0) this.initLoss = value;
    if (track) this.recordStep(value);
    if (!Number.isFinite(value) || value > DIVERGENCE_FACTOR * this.initLoss) {
      this.divergedAt = this.step + 1;
      return;
    }
    backward(loss);
    this.lastQGrad = gradNorm(this.model.queryWeights());
    if (this.step === 0) this.initQGradNorm = this.lastQGrad;
    const norm = gradNorm(this.params);
    if (!Number.isFinite(norm)) {
      this.optimizer.zeroGrad();
      this.divergedAt = this.step + 1;
      return;
    }
    if (c.clip > 0) clipGradNorm(this.params, c.clip);
    this.optimizer.step(learningRate(this.step, c.steps, c.lr, this.warmup));
    this.optimizer.zeroGrad();
    this.step++;
    this.windowLoss += loss.data[0];
    this.windowSteps++;
    this.hooks.onStep?.(this.step, loss.data[0]);
    if (this.step % c.evalEvery === 0 || this.step === c.steps) this.addPoint();
  }

  private recordStep(loss: number): void {
    let maxLogit = -Infinity;
    let minEntropy = Infinity;
    for (const stats of this.model.attentionStats()) {
      if (stats === null) continue;
      maxLogit = Math.max(maxLogit, stats.maxLogit);
      minEntropy = Math.min(minEntropy, ...stats.headEntropy);
      this.entropyBound.rows += stats.boundRows;
      this.entropyBound.violations += stats.boundViolations;
      this.entropyBound.minMargin = Math.min(this.entropyBound.minMargin, stats.boundMargin);
      this.entropyBound.exactViolations += stats.exactViolations;
      this.entropyBound.exactMinMargin = Math.min(this.entropyBound.exactMinMargin, stats.exactMargin);
    }
    const step = this.step + 1;
    this.tracer?.record(step, this.model.attentionStats(), step === 1 || step % this.config.traceHeadsEvery === 0);
    this.lastStep = { step, loss, maxLogit, minEntropy };
    this.steps.push(this.lastStep);
  }

  private addPoint(): void {
    const ev = evaluate(this.model, this.task.validation, { measureAll: this.task.setTask });
    const p: CurvePoint = {
      step: this.step, trainLoss: this.windowSteps > 0 ? this.windowLoss / this.windowSteps : NaN, qGradNorm: this.lastQGrad, ...ev,
      maxLogit: this.lastStep?.maxLogit ?? null, minEntropy: this.lastStep?.minEntropy ?? null,
    };
    this.curve.push(p);
    this.hooks.onPoint?.(p);
    this.windowLoss = 0;
    this.windowSteps = 0;
  }

  /** The result so far: a last curve point at the current step, the length sweep, the bigram baseline. */
  finish(): TrainResult {
    const c = this.config;
    // A diverged run keeps the points it made before the step that diverged; none is evaluated after it.
    if (this.step > 0 && this.divergedAt === null && this.curve[this.curve.length - 1]?.step !== this.step) this.addPoint();
    const last = this.curve[this.curve.length - 1];
    const final = last === undefined
      ? { trainLoss: NaN, ...evaluate(this.model, this.task.validation) }
      : { trainLoss: last.trainLoss, valLoss: last.valLoss, accuracy: last.accuracy, attnEntropy: last.attnEntropy };
    const lengths: LengthPoint[] = [];
    if (this.task.name === 'recall' || this.task.name === 'maxretrieval') {
      const swept = this.task as RecallTask | MaxRetrievalTask;
      const measureAll = this.task.setTask;
      for (const m of this.divergedAt === null ? c.lengthMultiples : []) {
        const batches = swept.validationAt(m);
        lengths.push({
          multiple: m, length: batches[0].length, ...evaluate(this.model, batches, { measureAll }),
          adaptive: c.adaptiveTemperature ? evaluate(this.model, batches, { measureAll, adaptive: true }) : null,
        });
      }
    }
    const heads = c.trackAttention ? evaluate(this.model, this.task.validation, { measureAll: true }).heads : [];
    const bigramValLoss = this.task.name === 'names' ? (this.task as NamesTask).bigram.loss(this.task.validation).nats : null;
    return {
      config: c, stepsDone: this.step, interrupted: this.step < c.steps && this.divergedAt === null, divergedAt: this.divergedAt,
      curve: this.curve, steps: this.steps, entropyBound: { ...this.entropyBound }, final,
      initQGradNorm: this.initQGradNorm, initLoss: this.initLoss, lengths, heads, bigramValLoss,
      headTraces: this.tracer?.traces ?? [], l2Bound: this.tracer ? { ...this.tracer.check } : { rows: 0, violations: 0, minMargin: Infinity },
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
