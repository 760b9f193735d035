import { Worker } from 'node:worker_threads';
import { workerEntry } from '../node/worker-entry.js';
import { ScaledotError, type ErrorCode } from '../tensor/index.js';
import type { LabResults, RunLabOptions } from './run.js';

export interface LabInWorker {
  /** The run's results, or null once stop() ended it; rejects with the lab's own error. */
  results: Promise<LabResults | null>;
  /** Ends the run at once (the worker is terminated mid-experiment); nothing has been written. */
  stop(): void;
}

/**
 * runLab in a worker thread. The experiments are synchronous and run for
 * seconds to minutes; on the main thread they would keep Node from handling
 * SIGTERM (its default then kills the process with status 143), and Ctrl-C
 * could not be answered with the documented exit status. Here the main thread
 * stays free to stop the run and exit as the command promises.
 */
export function runLabInWorker(options: Omit<RunLabOptions, 'onProgress' | 'now'>, onProgress?: RunLabOptions['onProgress']): LabInWorker {
  const { script, eval: isEval } = workerEntry('run-worker', import.meta.url);
  const worker = new Worker(script, { eval: isEval, workerData: options });
  let stopped = false;
  const results = new Promise<LabResults | null>((resolve, reject) => {
    worker.on('message', (m: { type: 'progress'; label: string; fraction: number } | { type: 'done'; results: LabResults } | { type: 'error'; code: ErrorCode | null; message: string }) => {
      if (m.type === 'progress') onProgress?.(m.label, m.fraction);
      else if (m.type === 'done') resolve(m.results);
      else reject(m.code ? new ScaledotError(m.code, m.message) : new Error(m.message));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (stopped) resolve(null);
      else reject(new Error(`lab: the worker running the experiments exited with code ${code} before it gave results`));
    });
  });
  return {
    results,
    stop() {
      stopped = true;
      void worker.terminate();
    },
  };
}
