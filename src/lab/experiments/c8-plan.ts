import { SCALE_RULES, type OptimizerName, type ScaleRule } from '../../nn/index.js';
import type { LabMode } from '../experiment.js';

/**
 * What C8 trains. Two studies with the same small transformer (2 layers,
 * width 32, rotary positions, token shift; heads of dimension d_k, widened to
 * one head of d_k where d_k > 32):
 *
 *  A. scale rule × head dim × optimiser on next-character prediction of
 *     names: loss curves, ‖∂L/∂W_q‖ and attention entropy over training;
 *  B. every rule trained on associative recall at one length, evaluated at
 *     1×, 2× and 4× that length (accuracy, attention entropy).
 */
export interface C8Plan {
  /** Head dims of the initial-gradient measurement (one step each, cheap). */
  initDims: number[];
  initSeedCount: number;
  /** Head dims and rules of the training runs. */
  dims: number[];
  rules: ScaleRule[];
  optimizers: OptimizerName[];
  seedCount: number;
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
  recallSeedCount: number;
  multiples: number[];
  /** Worker threads for the training runs (default: the machine's available parallelism). */
  threads?: number;
}

/** The budgets: measured in docs/training.md (full under 10 minutes, quick under 90 s on 2 cores). */
export function c8Plan(mode: LabMode): C8Plan {
  const full = mode !== 'quick';
  return {
    initDims: [16, 32, 64, 128, 256],
    initSeedCount: full ? 4 : 2,
    dims: full ? [16, 64, 256] : [16, 256],
    rules: full ? [...SCALE_RULES] : ['rsqrt', 'none'],
    optimizers: ['adamw', 'sgd'],
    seedCount: full ? 2 : 1,
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
    recallSeedCount: 2,
    multiples: [1, 2, 4],
  };
}

/** Heads of dimension d in a model of this width: width / d, at least one. */
export function headsFor(width: number, d: number): number {
  return Math.max(1, Math.floor(width / d));
}
