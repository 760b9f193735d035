import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { trainSync, type TrainConfig } from './train.js';
import { recordOf } from './train-record.js';

// A worker of trainManySync: says it is ready, then receives { index, config } on its port, trains,
// posts { index, record } back and bumps the shared counter the main thread
// waits on. Closing the port ends the worker.
const { port, counter } = workerData as { port: MessagePort; counter: Int32Array };

port.on('message', (job: { index: number; config: TrainConfig }) => {
  let message: object;
  try {
    message = { index: job.index, record: recordOf(trainSync(job.config)) };
  } catch (err) {
    message = { index: job.index, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
  port.postMessage(message);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
});
port.on('close', () => parentPort?.close());
port.postMessage({ ready: true });
Atomics.add(counter, 0, 1);
Atomics.notify(counter, 0);
