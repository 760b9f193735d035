/// <reference lib="webworker" />
import { Trainer, type CurvePoint } from '../../src/nn/index.js';
import { pageTrainConfig, type TrainingChoice } from './training-config.js';

/** Messages from the worker: a curve point as it is measured, then the end of the run. */
export type TrainingMessage =
  | { type: 'step'; step: number; loss: number }
  | { type: 'point'; point: CurvePoint; seconds: number }
  | { type: 'done'; steps: number; seconds: number }
  | { type: 'error'; message: string };

/**
 * One training run off the main thread, so the page stays responsive: the
 * library's Trainer, stepped to the end, posting each step's training loss
 * and each validation point. Stopping
 * is terminating the worker.
 */
const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (event: MessageEvent<TrainingChoice>) => {
  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  try {
    const trainer = new Trainer(pageTrainConfig(event.data), {
      onStep: (step, loss) => scope.postMessage({ type: 'step', step, loss } satisfies TrainingMessage),
      onPoint: (point) => scope.postMessage({ type: 'point', point, seconds: seconds() } satisfies TrainingMessage),
    });
    while (!trainer.done) trainer.advance();
    scope.postMessage({ type: 'done', steps: trainer.step, seconds: seconds() } satisfies TrainingMessage);
  } catch (err) {
    scope.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies TrainingMessage);
  }
};
