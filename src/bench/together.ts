import type { Worker } from 'node:worker_threads';

/**
 * One timed trial on every worker at once, for the ceilings (compute and
 * memory read): each worker says 'ready', all are released by one shared flag
 * so none runs alone, each runs for `ms` and reports how much work it did in
 * how many seconds; the result is the sum of their rates in units of 1e9 a
 * second (GFLOP/s or GB/s, as `amount` reads the message).
 */
export function trialTogether<M extends { seconds: number }>(workers: readonly Worker[], ms: number, amount: (msg: M) => number): Promise<number> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  return new Promise((resolve, reject) => {
    let ready = 0;
    let done = 0;
    let total = 0;
    for (const worker of workers) {
      const onMessage = (msg: 'ready' | M) => {
        if (msg === 'ready') {
          if (++ready === workers.length) {
            Atomics.store(flag, 0, 1);
            Atomics.notify(flag, 0);
          }
          return;
        }
        worker.off('message', onMessage);
        worker.off('error', reject);
        total += amount(msg) / msg.seconds / 1e9;
        if (++done === workers.length) resolve(total);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.postMessage({ ms, flag });
    }
  });
}
