import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ScaledotError } from '../tensor/index.js';
import { trialTogether } from './together.js';

/**
 * The measured memory-read ceiling: GB/s that f32x4 loads stream from a buffer
 * far larger than the caches with every thread reading its own slice at once
 * (assembly/bandwidth.ts). A decode kernel reads each byte of K and V once,
 * so its GB/s ÷ this is how close it runs to the memory. As with the compute
 * ceiling (ceiling.ts), the best trial is kept: contention only lowers one.
 */
export interface Bandwidth {
  /** The best trial, GB/s (10⁹ bytes) over all threads. */
  gbps: number;
  trials: number[];
  threads: number;
  /** Bytes of the buffer read (all threads together). */
  bytes: number;
}

/** 512 MiB: past the last-level cache of any CPU this runs on (a 2-core EPYC VM's L3 slice is 32 MiB). */
export const BANDWIDTH_BYTES = 512 * 2 ** 20;

// Plain JavaScript, so the worker needs no TypeScript loader under tsx or from dist/.
// Each message { ms, flag } is one trial: report ready, wait for the flag, read its slice again and again for ms.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { exports } = new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes), { env: { memory: workerData.memory } });
const { from, slice } = workerData;
exports.read(from, slice);                    // compile tiers up and fault the pages in before the clock starts
parentPort.on('message', ({ ms, flag }) => {
  parentPort.postMessage('ready');
  Atomics.wait(flag, 0, 0);
  let bytes = 0, sink = 0, elapsed = 0;
  const t0 = performance.now();
  while ((elapsed = performance.now() - t0) < ms) { sink += exports.read(from, slice); bytes += slice; }
  parentPort.postMessage({ bytes, seconds: elapsed / 1000, sink });
});
`;

/** One worker per thread over one shared memory, kept between trials so that a trial can sit between timed runs. */
export class BandwidthPool {
  readonly threads: number;
  readonly bytes: number;
  private readonly workers: Worker[];

  constructor(threads = os.availableParallelism(), bytes = BANDWIDTH_BYTES) {
    const path = fileURLToPath(new URL('../../wasm/bandwidth.wasm', import.meta.url));
    let module: Uint8Array<ArrayBuffer>;
    try {
      module = new Uint8Array(readFileSync(path));
    } catch {
      throw new ScaledotError('E_IO', `bench: ${path} is missing; run npm run build:wasm`);
    }
    const slice = Math.floor(bytes / threads / 64) * 64;
    const memory = new WebAssembly.Memory({ initial: Math.ceil((slice * threads + 65536) / 65536), maximum: 65536, shared: true });
    // Values 1, so that the pages are really mapped (a never-written page may read as a shared zero page).
    new Float32Array(memory.buffer).fill(1);
    this.threads = threads;
    this.bytes = slice * threads;
    this.workers = Array.from({ length: threads }, (_, t) =>
      new Worker(WORKER, { eval: true, workerData: { bytes: module, memory, from: 65536 + t * slice, slice } }));
  }

  /** One trial: every thread for `ms` at once; their total GB/s. */
  async trial(ms: number): Promise<number> {
    const replies = await trialTogether<{ bytes: number; seconds: number }>(this.workers, ms);
    return replies.reduce((total, r) => total + r.bytes / r.seconds / 1e9, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
