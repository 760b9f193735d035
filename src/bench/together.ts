import type { Worker } from 'node:worker_threads';

/**
 * One timed trial on every worker at once, for the ceilings (compute and
 * memory read): each worker says 'ready', all are released by one shared flag
 * so none runs alone, each runs for `ms` and replies with what it did; the
 * result is their replies, in the workers' order, for the caller to add up.
 */
export function trialTogether<M>(workers: readonly Worker[], ms: number): Promise<M[]> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  return new Promise((resolve, reject) => {
    let ready = 0;
    let done = 0;
    const replies: M[] = new Array<M>(workers.length);
    workers.forEach((worker, i) => {
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
        replies[i] = msg;
        if (++done === workers.length) resolve(replies);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.postMessage({ ms, flag });
    });
  });
}
