import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { workerEntry } from '../node/worker-entry.js';
import { ScaledotError } from '../tensor/index.js';
import { trainSync, type TrainConfig } from './train.js';
import { recordOf, type TrainRecord } from './train-record.js';

const STARTUP_MS = 30_000;

export interface TrainManyOptions {
  /** Worker threads; default the machine's available parallelism. 1 trains in this thread. */
  threads?: number;
  /** Called as each run finishes (in completion order) with its index and the number done. */
  onDone?: (index: number, done: number) => void;
}

/**
 * Trains every config and returns their records in the order given, using
 * worker threads but blocking like a plain function: the lab's experiments
 * are synchronous, and independent runs are the one thing here that
 * parallelises for free. Each run is seeded, so which thread ran it changes
 * nothing in its record except `seconds`.
 *
 * The calling thread sleeps in Atomics.wait on a shared counter the workers
 * bump after each run, then drains their ports with receiveMessageOnPort:
 * no event loop turn is needed.
 */
export function trainManySync(configs: readonly TrainConfig[], options: TrainManyOptions = {}): TrainRecord[] {
  const threads = Math.min(options.threads ?? availableParallelism(), configs.length);
  if (!Number.isSafeInteger(threads) || threads < 0) {
    throw new ScaledotError('E_OPTION', `trainManySync: threads is ${options.threads}; expected a positive integer`);
  }
  const records: (TrainRecord | undefined)[] = new Array(configs.length);
  let done = 0;
  const finish = (index: number, record: TrainRecord): void => {
    records[index] = record;
    done++; // not inside the optional call below: without onDone its arguments are never evaluated
    options.onDone?.(index, done);
  };
  if (threads <= 1) {
    configs.forEach((config, i) => finish(i, recordOf(trainSync(config))));
    return records as TrainRecord[];
  }

  const counter = new Int32Array(new SharedArrayBuffer(4));
  const { script, eval: isEval } = workerEntry('train-worker', import.meta.url);
  const ports: MessagePort[] = [];
  const workers: Worker[] = [];
  for (let t = 0; t < threads; t++) {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(script, { eval: isEval, workerData: { port: port2, counter }, transferList: [port2] });
    // A failed start is handled below (fallback to this thread); keep it from crashing the process later.
    worker.on('error', () => undefined);
    workers.push(worker);
    ports.push(port1);
  }
  try {
    // A worker that cannot start (its module failing to load) never says so
    // to a blocked thread; after a generous wait, train here instead.
    const deadline = Date.now() + STARTUP_MS;
    while (Atomics.load(counter, 0) < threads && Date.now() < deadline) Atomics.wait(counter, 0, Atomics.load(counter, 0), 100);
    if (Atomics.load(counter, 0) < threads) {
      for (const w of workers) void w.terminate();
      return trainManySync(configs, { ...options, threads: 1 });
    }
    let next = 0;
    for (const port of ports) {
      receiveMessageOnPort(port); // the ready message
      port.postMessage({ index: next, config: configs[next++] });
    }
    let seen = Atomics.load(counter, 0);
    while (done < configs.length) {
      Atomics.wait(counter, 0, seen);
      seen = Atomics.load(counter, 0);
      ports.forEach((port) => {
        for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
          const msg = m.message as { index: number; record?: TrainRecord; error?: string };
          if (msg.error !== undefined) throw new ScaledotError('E_ARG', `trainManySync: run ${msg.index} failed in a worker: ${msg.error}`);
          finish(msg.index, msg.record as TrainRecord);
          if (next < configs.length) port.postMessage({ index: next, config: configs[next++] });
        }
      });
    }
  } finally {
    for (const port of ports) port.close();
    for (const w of workers) w.unref();
  }
  return records as TrainRecord[];
}
