import { CTRL } from './abi.js';

/**
 * The source of one kernel worker, as text so that the same code starts from
 * src/ (tsx), dist/ and a browser bundle without a separate file to resolve:
 * Node runs it with `new Worker(source, { eval: true })` (CommonJS, workerData)
 * and a browser from a Blob URL (a classic worker, one postMessage). The
 * worker instantiates the module over the shared memory and stays in the
 * kernel's workerLoop, blocked in memory.atomic.wait between jobs. If the
 * kernel traps, it raises the error word so the caller stops waiting for
 * tasks that will never finish.
 */
export const WORKER_SOURCE = `'use strict';
function start(data) {
  const { module, memory, ctrl, tid } = data;
  let instance;
  try {
    instance = new WebAssembly.Instance(module, { env: { memory } });
  } catch (err) {
    return; // never claimed a task: the caller's threads do the work
  }
  try {
    instance.exports.workerLoop(ctrl, tid);
  } catch (err) {
    const words = new Int32Array(memory.buffer, ctrl, ${CTRL.bytes / 4});
    Atomics.store(words, ${CTRL.error / 4}, 1);
    Atomics.notify(words, ${CTRL.done / 4});
    throw err;
  }
}
if (typeof require === 'function') start(require('node:worker_threads').workerData);
else self.onmessage = (event) => start(event.data);
`;
