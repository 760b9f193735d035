import type { ScaleRule, TrainConfig } from '../../src/nn/index.js';

/** What the page's controls choose; everything else is fixed so a run fits in seconds. */
export interface TrainingChoice {
  scaleRule: ScaleRule;
  headDim: number;
  steps: number;
  seed: number;
}

/** Residual width of the page's model: small enough for ~20 steps a second in a browser tab. */
export const PAGE_MODEL_WIDTH = 32;

/**
 * The library's TrainConfig for one run on the page: the multi-query recall
 * task (synthetic, so nothing is downloaded), 2 layers, width 32 split into
 * heads of the chosen dimension, a validation point every quarter of the run. Node
 * and the browser test build the same config from the same choice.
 */
export function pageTrainConfig(choice: TrainingChoice): TrainConfig {
  return {
    task: 'recall',
    scaleRule: choice.scaleRule,
    headDim: choice.headDim,
    width: PAGE_MODEL_WIDTH,
    heads: PAGE_MODEL_WIDTH / choice.headDim,
    layers: 2,
    batchSize: 16,
    recallPairs: 4,
    recallSymbols: 16,
    lr: 1e-2,
    steps: choice.steps,
    // An evaluation runs the whole validation set (256 sequences, 16 training batches' worth):
    // four of them a run; the live curve is the training loss of every step.
    evalEvery: Math.max(1, Math.round(choice.steps / 4)),
    seed: choice.seed,
  };
}
