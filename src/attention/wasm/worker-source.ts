import { CTRL } from './abi.js';

/**
 * How long a worker keeps polling the wake word after a job (or an early
 * wake-up, KernelRuntime.wakeAhead) before it blocks in Atomics.wait. A
 * blocked worker takes a futex wake-up, and on a virtual machine the wake of
 * an idle core, before its first task; a short call's next job (or the next
 * call, or the job a wakeAhead announced while the caller copies the inputs
 * in) usually comes within this time, and then the worker is already awake.
 * Kept short because the poll holds a core that other processes could use.
 */
export const LINGER_MS = 0.5;

/**
 * The source of one kernel worker, as text so that the same code starts from
 * src/ (tsx), dist/ and a browser bundle without a separate file to resolve:
 * Node runs it with `new Worker(source, { eval: true })` (CommonJS, workerData)
 * and a browser from a Blob URL (a classic worker, one postMessage). The
 * worker instantiates the module over the shared memory and loops: run the
 * current job's tasks (the kernel's runJob), poll the wake word for
 * LINGER_MS, then block in Atomics.wait until the next job bumps it. If the
 * kernel traps, it raises the error word so the caller stops waiting for
 * tasks that will never finish.
 *
 * The loop is JavaScript rather than WebAssembly on purpose: the same poll
 * written as a loop in the module (assembly/index.ts's former workerLoop)
 * ran for a few jobs on Node 20 and then stopped taking tasks, or hung a
 * call, with the job's claim word found overwritten (docs/performance.md,
 * short shapes, third round). The JavaScript loop reads the same words through
 * Atomics and does not show it (test/attention-wasm-linger.test.ts).
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
  const words = new Int32Array(memory.buffer, ctrl, ${CTRL.bytes / 4});
  const runJob = instance.exports.runJob;
  try {
    let seen = Atomics.load(words, ${CTRL.wake / 4});
    for (;;) {
      runJob(ctrl, tid);
      const until = performance.now() + ${LINGER_MS};
      while (Atomics.load(words, ${CTRL.wake / 4}) === seen && performance.now() < until);
      Atomics.wait(words, ${CTRL.wake / 4}, seen);
      seen = Atomics.load(words, ${CTRL.wake / 4});
    }
  } catch (err) {
    Atomics.store(words, ${CTRL.error / 4}, 1);
    Atomics.notify(words, ${CTRL.done / 4});
    throw err;
  }
}
if (typeof require === 'function') start(require('node:worker_threads').workerData);
else self.onmessage = (event) => start(event.data);
`;
