import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ScaledotError } from '../tensor/index.js';
import { bestFormGflops, MEASURE_FORMS_JS, type FormsReply } from './ceiling-forms.js';
import { trialTogether } from './together.js';

/**
 * The measured ceiling: how many GFLOP/s of f32x4 multiply-add this CPU and
 * engine retire with every thread busy and nothing else to do (no exp, no
 * softmax; the best of assembly/ceiling.ts's loop forms, the kernels' own
 * product on a block in L1 among them). An attention kernel made of
 * multiply-adds cannot beat it, so GFLOP/s ÷ ceiling says how much is left
 * to gain. It is measured, not taken from a datasheet, so it moves with the
 * machine's load like every other figure of the run.
 */
export interface Ceiling {
  /** The best trial: contention (this machine is shared) only ever lowers a trial, so the ceiling is the highest one seen. */
  gflops: number;
  /** Each trial's total over all threads. */
  trials: number[];
  threads: number;
  /** 'relaxed-madd' (fused where the CPU has FMA) or 'mul+add', matching the attention module the engine runs. */
  op: 'relaxed-madd' | 'mul+add';
}

// Plain JavaScript, so the worker needs no TypeScript loader under tsx or from dist/.
// Each message { ms, flag } is one trial: report ready, wait for the flag
// (every thread starts together), run each form for its share of ms, report
// the flops done (ceiling-forms.ts).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
${MEASURE_FORMS_JS}
const forms = loadForms(new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes), {}).exports);
parentPort.on('message', ({ ms, flag }) => {
  parentPort.postMessage('ready');
  Atomics.wait(flag, 0, 0);
  parentPort.postMessage(measureForms(forms, ms));
});
`;

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

/** One worker per thread, kept between trials so a trial can sit between two timed runs of a benchmark. */
export class CeilingPool {
  readonly op: Ceiling['op'];
  readonly threads: number;
  private readonly workers: Worker[];

  constructor(threads = os.availableParallelism()) {
    const { bytes, op } = ceilingModule();
    this.op = op;
    this.threads = threads;
    this.workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true, workerData: { bytes } }));
  }

  /** One trial: every thread for `ms` at once; their total GFLOP/s in the best loop form. */
  async trial(ms: number): Promise<number> {
    return bestFormGflops(await trialTogether<FormsReply>(this.workers, ms));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** `count` trials of `ms` each on every core at once; gflops is the best of them. */
export async function measureCeiling(count = 3, ms = 300): Promise<Ceiling> {
  const pool = new CeilingPool();
  try {
    const trials: number[] = [];
    for (let i = 0; i < count; i++) trials.push(await pool.trial(ms));
    return { gflops: Math.max(...trials), trials, threads: pool.threads, op: pool.op };
  } finally {
    await pool.close();
  }
}
