import { parentPort, workerData } from 'node:worker_threads';
import { ScaledotError } from '../tensor/index.js';
import { runLab, type RunLabOptions } from './run.js';

// The worker of runLabInWorker: runs the lab on the options it was given,
// posts progress as it goes, then the results or the error.
const options = workerData as Omit<RunLabOptions, 'onProgress' | 'now'>;
try {
  const results = runLab({ ...options, onProgress: (label, fraction) => parentPort?.postMessage({ type: 'progress', label, fraction }) });
  parentPort?.postMessage({ type: 'done', results });
} catch (err) {
  const code = err instanceof ScaledotError ? err.code : null;
  parentPort?.postMessage({ type: 'error', code, message: err instanceof Error ? (code ? err.message : (err.stack ?? err.message)) : String(err) });
}
