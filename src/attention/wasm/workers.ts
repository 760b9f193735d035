import { nodeHost } from './platform.js';
import { WORKER_SOURCE } from './worker-source.js';

/**
 * Worker start-up for the WebAssembly kernels: each worker instantiates the
 * module over the shared memory and runs jobs' tasks as they come (see
 * worker-source.ts). A starter returns a function that starts worker `tid`
 * (the dispatcher calls it when a job first needs that many threads), or
 * null where workers cannot start. Workers are unref'd in Node: they never
 * keep a process alive.
 */
export type WorkerStarter = (module: WebAssembly.Module, memory: WebAssembly.Memory) => ((tid: number) => void) | null;

/** Node: worker_threads running the worker source as an eval'd script. */
export function startNodeWorkers(module: WebAssembly.Module, memory: WebAssembly.Memory): (tid: number) => void {
  const { Worker } = nodeHost!.workerThreads;
  return (tid) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module, memory, ctrl: 0, tid },
      // The worker runs a few lines of JavaScript, then stays in WebAssembly: a small heap is plenty.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 },
    });
    worker.unref();
    worker.on('error', () => { /* raised in the error word; the caller reports it */ });
  };
}

/** A browser: classic Web Workers from a Blob URL of the worker source; null where the page cannot start them. */
export function startWebWorkers(module: WebAssembly.Module, memory: WebAssembly.Memory): ((tid: number) => void) | null {
  if (typeof Worker === 'undefined' || typeof Blob === 'undefined' || typeof URL.createObjectURL !== 'function') return null;
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  return (tid) => {
    const worker = new Worker(url);
    worker.postMessage({ module, memory, ctrl: 0, tid });
  };
}
