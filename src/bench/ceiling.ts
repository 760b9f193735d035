import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { median } from '../lab/index.js';
import { ScaledotError } from '../tensor/index.js';

/**
 * The measured ceiling: how many GFLOP/s of f32x4 multiply-add this CPU and
 * engine retire with every thread busy and nothing else to do (no loads,
 * stores, exp or bounds checks; assembly/ceiling.ts). An attention kernel
 * made of multiply-adds cannot beat it, so GFLOP/s ÷ ceiling says how much is
 * left to gain. It is measured, not taken from a datasheet, so it moves with
 * the machine's load like every other figure of the run.
 */
export interface Ceiling {
  gflops: number;
  /** Each trial's total over all threads; gflops is their median. */
  trials: number[];
  threads: number;
  /** 'relaxed-madd' (fused where the CPU has FMA) or 'mul+add', matching the attention module the engine runs. */
  op: 'relaxed-madd' | 'mul+add';
}

// Plain JavaScript, so the worker needs no TypeScript loader under tsx or from dist/.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, flag, ms } = workerData;
const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
const perIter = exports.flopsPerIteration();
exports.run(100000, 1);                       // compile tiers up before the clock starts
parentPort.postMessage('ready');
Atomics.wait(flag, 0, 0);                     // every thread starts together
let iterations = 0, sink = 0;
const t0 = performance.now();
let elapsed = 0;
while ((elapsed = performance.now() - t0) < ms) { sink += exports.run(1000000, 1); iterations += 1000000; }
parentPort.postMessage({ flops: iterations * perIter, seconds: elapsed / 1000, sink });
`;

function trial(bytes: Uint8Array, threads: number, ms: number): Promise<number> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  return new Promise((resolve, reject) => {
    let ready = 0;
    let total = 0;
    let done = 0;
    for (let t = 0; t < threads; t++) {
      const worker = new Worker(WORKER, { eval: true, workerData: { bytes, flag, ms } });
      worker.on('error', reject);
      worker.on('message', (msg: 'ready' | { flops: number; seconds: number }) => {
        if (msg === 'ready') {
          if (++ready === threads) {
            Atomics.store(flag, 0, 1);
            Atomics.notify(flag, 0);
          }
          return;
        }
        total += msg.flops / msg.seconds / 1e9;
        void worker.terminate();
        if (++done === threads) resolve(total);
      });
    }
  });
}

/**
 * The module to measure: relaxed SIMD wherever the engine validates it, the
 * same order in which src/attention/wasm/loader.ts picks the attention module.
 */
function ceilingModule(): { bytes: Uint8Array<ArrayBuffer>; op: Ceiling['op'] } {
  for (const [name, op] of [['ceiling-relaxed', 'relaxed-madd'], ['ceiling', 'mul+add']] as const) {
    const path = fileURLToPath(new URL(`../../wasm/${name}.wasm`, import.meta.url));
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(readFileSync(path));
    } catch {
      throw new ScaledotError('E_IO', `bench: ${path} is missing; run npm run build:wasm`);
    }
    if (WebAssembly.validate(bytes)) return { bytes, op };
  }
  throw new ScaledotError('E_IO', 'bench: this engine does not validate WebAssembly SIMD128, so there is no SIMD ceiling to measure');
}

/** Three trials of `ms` each on `threads` threads at once (default: every core); the median of their totals. */
export async function measureCeiling(options: { threads?: number; ms?: number } = {}): Promise<Ceiling> {
  const threads = options.threads ?? os.availableParallelism();
  const { bytes, op } = ceilingModule();
  const trials: number[] = [];
  for (let i = 0; i < 3; i++) trials.push(await trial(bytes, threads, options.ms ?? 500));
  return { gflops: median(trials), trials, threads, op };
}
