/**
 * The protocol the page's measuring workers share (ceiling-page.ts, bandwidth-page.ts):
 * one Web Worker per thread from one script; the first message loads the module and
 * the worker answers 'loaded'; each trial { ms, flag } is answered 'ready', then all
 * workers start on one Atomics flag (every thread runs at once), run for ms and
 * answer with what they did.
 */
export interface PageWorkers<R> {
  /** One trial on every worker at once: their replies. */
  trial(ms: number): Promise<R[]>;
  close(): void;
}

/** Starts `threads` workers of `script`, sends worker t `load(t)` and waits until each has loaded. */
export async function startPageWorkers<R>(script: string, threads: number, name: string, load: (t: number) => unknown): Promise<PageWorkers<R>> {
  const url = URL.createObjectURL(new Blob([script], { type: 'text/javascript' }));
  const workers = Array.from({ length: threads }, () => new Worker(url));
  const next = (worker: Worker): Promise<'loaded' | 'ready' | R> =>
    new Promise((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<'loaded' | 'ready' | R>) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(`${name} worker: ${event.message}`));
    });
  const loaded = workers.map(next);
  workers.forEach((worker, t) => worker.postMessage(load(t)));
  await Promise.all(loaded);
  return {
    async trial(ms) {
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const ready = workers.map(next);
      for (const worker of workers) worker.postMessage({ ms, flag });
      await Promise.all(ready);
      const done = workers.map(next);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      // The replies after 'ready' are the trial's results (R is an object, never one of the two words).
      return (await Promise.all(done)) as R[];
    },
    close() {
      for (const worker of workers) worker.terminate();
      URL.revokeObjectURL(url);
    },
  };
}
