import { CommanderError, type Command } from 'commander';
import {
  ATTENTION_RULES, DIVERGENCE_FACTOR, OPTIMIZERS, TASKS, checkScaleRule, defaultLr, checkTask, resolveTrainConfig, sampleNames, train,
  type Evaluation, type NamesTask, type OptimizerName, type TrainConfig, type TrainResult,
} from '../nn/index.js';
import { outputFileProblem, writeFileWhole } from '../node/output-file.js';
import { ScaledotError } from '../tensor/index.js';
import { refuseOverlappingPaths } from './output-paths.js';
import { prepareSaveQk } from './save-qk.js';

/** Defaults that train something worth having in a few minutes on two cores (measured: docs/training.md). */
export const TRAIN_DEFAULTS = {
  task: 'names',
  scale: 'rsqrt',
  headDim: 16,
  steps: { names: 1000, recall: 300, maxretrieval: 300, markedcopy: 300 },
  seed: 0,
} as const;

interface TrainOptions {
  task: string;
  scale: string;
  headDim: string;
  steps?: string;
  seed: string;
  width?: string;
  optimizer: string;
  lr?: string;
  batchSize?: string;
  json?: string;
  sample?: string;
  saveQk?: string;
  lengths?: string;
  adaptiveTemperature?: boolean;
}

/** An integer option, checked here so the message names the flag as typed (--head-dim), not the config field (headDim). */
function integer(fn: string, name: string, raw: string | undefined, min = -Infinity): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(v)) {
    throw new ScaledotError('E_OPTION', `${fn}: ${name} is ${JSON.stringify(raw)}; expected an integer`);
  }
  if (v < min) throw new ScaledotError('E_OPTION', `${fn}: ${name} is ${v}; expected ${min === 1 ? 'a positive integer' : `an integer >= ${min}`}`);
  return v;
}

/** A figure as JSON: a number, or null where none was measured (never NaN, which JSON cannot hold). */
const figure = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);

/**
 * The --json document. `steps` is the number of steps taken; a run stopped by
 * Ctrl-C or SIGTERM is marked `interrupted: true` and has fewer than
 * `stepsRequested`. `evalEvery` and `validations` say how often the
 * validation set was evaluated (the curve has one point per validation).
 * `diverged` and `divergedAt` say whether a step's loss went non-finite or
 * past DIVERGENCE_FACTOR × the first (training stopped there); curve points
 * carry the last step's largest attention logit and smallest per-head
 * entropy, and `stepLog` has them for every step.
 */
export function trainJson(r: TrainResult): object {
  const evaluation = (e: Evaluation): object => ({ valLoss: figure(e.valLoss), accuracy: figure(e.accuracy), attnEntropy: figure(e.attnEntropy), maxWeight: figure(e.maxWeight) });
  return {
    task: r.config.task,
    scale: r.config.scaleRule,
    headDim: r.config.headDim,
    steps: r.stepsDone,
    stepsRequested: r.config.steps,
    interrupted: r.interrupted,
    // How often validation ran: every evalEvery steps and at the last step, `validations` times in all.
    evalEvery: r.config.evalEvery,
    validations: r.curve.length,
    seed: r.config.seed,
    lr: r.config.lr,
    diverged: r.divergedAt !== null,
    divergedAt: r.divergedAt,
    curve: r.curve.map((p) => ({
      step: p.step, trainLoss: figure(p.trainLoss), valLoss: figure(p.valLoss), accuracy: figure(p.accuracy), maxLogit: figure(p.maxLogit), minEntropy: figure(p.minEntropy),
    })),
    stepLog: r.steps.map((p) => ({ step: p.step, loss: figure(p.loss), maxLogit: figure(p.maxLogit), minEntropy: figure(p.minEntropy) })),
    final: { trainLoss: figure(r.final.trainLoss), valLoss: figure(r.final.valLoss), accuracy: figure(r.final.accuracy) },
    ...(r.lengths.length > 0
      ? { lengths: r.lengths.map((l) => ({ multiple: l.multiple, length: l.length, ...evaluation(l), adaptive: l.adaptive === null ? null : evaluation(l.adaptive) })) }
      : {}),
  };
}

/** Proves before training that --json can be written, so that a run of minutes is never lost to a typo in its path. */
function checkJsonWritable(path: string): void {
  const problem = outputFileProblem(path);
  if (problem === 'is a folder') throw new ScaledotError('E_IO', `train: --json ${path} is a folder; give a file name such as ${path.replace(/\/$/, '')}/run.json`);
  if (problem !== null) throw new ScaledotError('E_IO', `train: cannot write --json ${path} (${problem}); nothing was trained`);
}

const f4 = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : String(x));

/** The loss curve and the final figures, as a plain table for people (stdout). */
export function formatReport(r: TrainResult, samples: string[]): string {
  const c = r.config;
  const lines: string[] = [];
  lines.push(`task ${c.task} · scale ${c.scaleRule} · head dim ${c.headDim} · ${c.heads} head(s) · width ${c.width} · ${c.layers} layers · ${c.optimizer} lr ${c.lr} · batch ${c.batchSize} · seed ${c.seed}`);
  lines.push('');
  lines.push('  step  trainLoss  valLoss  accuracy');
  for (const p of r.curve) lines.push(`${String(p.step).padStart(6)}  ${f4(p.trainLoss).padStart(9)}  ${f4(p.valLoss).padStart(7)}  ${f4(p.accuracy).padStart(8)}`);
  lines.push('');
  const unit = c.task === 'names' ? 'nats/char' : 'nats/answer';
  if (r.divergedAt !== null) lines.push(`diverged at step ${r.divergedAt} (loss not finite or above ${DIVERGENCE_FACTOR}× the first step's); training stopped there`);
  lines.push(`final after ${r.stepsDone} steps (${r.seconds.toFixed(1)} s)${r.interrupted ? ', stopped early' : ''}:`);
  lines.push(`  train loss ${f4(r.final.trainLoss)} ${unit}`);
  lines.push(`  validation loss ${f4(r.final.valLoss)} ${unit}`);
  lines.push(`  accuracy ${f4(r.final.accuracy)} (${c.task === 'names' ? 'next character, top-1' : c.task === 'recall' ? 'recalled values, top-1' : 'retrieved items, top-1'})`);
  if (r.bigramValLoss !== null) {
    const gap = r.bigramValLoss - r.final.valLoss;
    lines.push(`  character-bigram baseline (add-one, same split) ${f4(r.bigramValLoss)} nats/char: the model is ${gap >= 0 ? 'better' : 'worse'} by ${f4(Math.abs(gap))}`);
  }
  if (r.lengths.length > 0) {
    lines.push('');
    lines.push(`  length  accuracy  max weight${r.config.adaptiveTemperature ? '  accuracy (adaptive)  max weight (adaptive)' : ''}`);
    for (const l of r.lengths) {
      const extra = l.adaptive === null ? '' : `  ${f4(l.adaptive.accuracy).padStart(19)}  ${f4(l.adaptive.maxWeight).padStart(21)}`;
      lines.push(`${String(l.length).padStart(8)}  ${f4(l.accuracy).padStart(8)}  ${f4(l.maxWeight).padStart(10)}${extra}`);
    }
  }
  if (samples.length > 0) {
    lines.push('');
    lines.push('samples:');
    for (const s of samples) lines.push(`  ${s}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('Train a small transformer whose attention scale rule is a parameter, on associative recall, character-level names or max-retrieval.')
    .option('--task <task>', `task: ${TASKS.join(' | ')}`, TRAIN_DEFAULTS.task)
    .option('--scale <rule>', `attention scale rule: ${ATTENTION_RULES.join(' | ')}`, TRAIN_DEFAULTS.scale)
    .option('--head-dim <d>', 'attention head dimension (must divide the width)', String(TRAIN_DEFAULTS.headDim))
    .option('--steps <n>', `training steps (default ${TASKS.map((t) => `${TRAIN_DEFAULTS.steps[t]} for ${t}`).join(', ')})`)
    .option('--seed <s>', 'seed for data, split, initialisation and sampling', String(TRAIN_DEFAULTS.seed))
    .option('--width <w>', 'model width (default max(64, head dim))')
    .option('--optimizer <name>', `optimizer: ${OPTIMIZERS.join(' | ')}`, 'adamw')
    .option('--lr <x>', `peak learning rate (default adamw ${TASKS.map((t) => `${defaultLr(t, 'adamw')} on ${t}`).join(', ')}; sgd ${defaultLr('names', 'sgd')})`)
    .option('--batch-size <n>', 'sequences per step (default 32)')
    .option('--json <file>', 'write the loss curve and final figures as JSON')
    .option('--sample <k>', 'print k names generated by the trained model (names task)')
    .option('--save-qk <file>', "after training, write each layer's Q and K on a held-out batch (.safetensors, for scaledot inspect); under softmax1 and sink the sink logit is not in the file")
    .option('--lengths <list>', 'recall, maxretrieval: also evaluate at these multiples (integers >= 1) of the training length, e.g. 1,4,16; recall draws its keys from max(32, 8 × the largest multiple) symbols so the longest sequence has distinct keys')
    .option('--adaptive-temperature', 'also evaluate the --lengths sweep (or the training length) with adaptive temperature at inference (Veličković et al. 2024)')
    .action(async (opts: TrainOptions) => {
      const code = await runTrain(opts);
      // main() turns a CommanderError into its exit code: 130, as a shell reports a run stopped by SIGINT.
      if (code !== 0) throw new CommanderError(code, 'scaledot.train.interrupted', 'train: interrupted');
    });
}

async function runTrain(opts: TrainOptions): Promise<number> {
  const fn = 'train';
  const task = checkTask(fn, opts.task);
  const lr = opts.lr === undefined ? undefined : Number(opts.lr);
  if (lr !== undefined && !(Number.isFinite(lr) && lr > 0)) throw new ScaledotError('E_OPTION', `${fn}: --lr is ${JSON.stringify(opts.lr)}; expected a number > 0`);
  const config: TrainConfig = {
    task,
    scaleRule: checkScaleRule(fn, opts.scale),
    headDim: integer(fn, '--head-dim', opts.headDim, 1) as number,
    steps: integer(fn, '--steps', opts.steps, 1) ?? TRAIN_DEFAULTS.steps[task],
    seed: integer(fn, '--seed', opts.seed) as number,
    width: integer(fn, '--width', opts.width, 1),
    batchSize: integer(fn, '--batch-size', opts.batchSize, 1),
    optimizer: opts.optimizer as OptimizerName,
    lr,
  };
  const sampleCount = integer(fn, '--sample', opts.sample, 0) ?? 0;
  if (sampleCount > 0 && task !== 'names') throw new ScaledotError('E_OPTION', `${fn}: --sample generates names, so it needs --task names (got --task ${task})`);
  const lengths = opts.lengths === undefined ? undefined : opts.lengths.split(',').map((m) => integer(fn, '--lengths', m, 1) as number);
  const swept = task === 'recall' || task === 'maxretrieval';
  if (lengths !== undefined && !swept) throw new ScaledotError('E_OPTION', `${fn}: --lengths sweeps recall or maxretrieval sequences; --task ${task} has none`);
  if (opts.adaptiveTemperature && !swept) throw new ScaledotError('E_OPTION', `${fn}: --adaptive-temperature evaluates the recall or maxretrieval length sweep; --task ${task} has none`);
  config.lengthMultiples = lengths ?? (opts.adaptiveTemperature ? [1] : undefined);
  config.adaptiveTemperature = opts.adaptiveTemperature === true;
  config.trackAttention = opts.json !== undefined;
  resolveTrainConfig(config); // every option checked before any work
  const outputs = [['--json', opts.json], ['--save-qk', opts.saveQk]].flatMap(([flag, path]) => (path === undefined ? [] : [{ flag: flag as string, path }]));
  refuseOverlappingPaths(fn, outputs, []);
  if (opts.json !== undefined) checkJsonWritable(opts.json);
  const saveQk = opts.saveQk === undefined ? null : prepareSaveQk(opts.saveQk);

  const controller = new AbortController();
  const onSignal = (): void => {
    process.stderr.write('\nscaledot train: interrupted; finishing the current step and writing what was done\n');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tty = process.stderr.isTTY === true;
  let result: TrainResult;
  try {
    result = await train(config, {
      signal: controller.signal,
      onStep: tty ? (step, loss) => process.stderr.write(`\rstep ${step}/${config.steps}  loss ${loss.toFixed(4)}   `) : undefined,
      onPoint: tty ? (p) => process.stderr.write(`\rstep ${p.step}/${config.steps}  val ${p.valLoss.toFixed(4)}  acc ${p.accuracy.toFixed(3)}\n`) : undefined,
    });
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  const samples = sampleCount > 0 ? sampleNames(result.model, (result.task as NamesTask).data, sampleCount, config.seed + 1) : [];
  if (opts.json !== undefined) writeFileWhole(opts.json, `${JSON.stringify(trainJson(result), null, 2)}\n`, 'train: --json');
  process.stdout.write(formatReport(result, samples) + (saveQk === null ? '' : saveQk(result)));
  return result.interrupted ? 130 : 0;
}
