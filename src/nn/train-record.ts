import type { CurvePoint, LengthPoint, StepPoint, TrainResult } from './train.js';

/**
 * What a training run measured, without the model or the data: plain data
 * that can cross a worker-thread boundary or be written as JSON.
 */
export interface TrainRecord {
  config: TrainResult['config'];
  stepsDone: number;
  interrupted: boolean;
  divergedAt: number | null;
  curve: CurvePoint[];
  steps: StepPoint[];
  entropyBound: TrainResult['entropyBound'];
  initLoss: number;
  heads: TrainResult['heads'];
  headTraces: TrainResult['headTraces'];
  l2Bound: TrainResult['l2Bound'];
  final: TrainResult['final'];
  initQGradNorm: number;
  lengths: LengthPoint[];
  bigramValLoss: number | null;
  seconds: number;
}

/** A run's TrainRecord: its measurements, without the model or the data. */
export function recordOf(r: TrainResult): TrainRecord {
  return {
    config: r.config, stepsDone: r.stepsDone, interrupted: r.interrupted, divergedAt: r.divergedAt, curve: r.curve,
    steps: r.steps, entropyBound: r.entropyBound, initLoss: r.initLoss, heads: r.heads, headTraces: r.headTraces, l2Bound: r.l2Bound, final: r.final,
    initQGradNorm: r.initQGradNorm, lengths: r.lengths, bigramValLoss: r.bigramValLoss, seconds: r.seconds,
  };
}
