import { startPageWorkers } from './page-workers.js';
import type { CeilingTrials } from './case.js';
import type { Ceiling } from './ceiling.js';

// ceiling.ts's measurement on Web Workers, for the browser benchmark page:
// the first message compiles the module, each later one { ms, flag } is one
// trial: report ready, wait for the flag (every thread starts together), run
// for ms, report the flops done.
const WORKER = `
let exports, perIter;
onmessage = ({ data }) => {
  if (data.bytes) {
    exports = new WebAssembly.Instance(new WebAssembly.Module(data.bytes), {}).exports;
    perIter = exports.flopsPerIteration();
    exports.run(100000, 1);                     // compile tiers up before the clock starts
    postMessage('loaded');
    return;
  }
  postMessage('ready');
  Atomics.wait(data.flag, 0, 0);
  let iterations = 0, sink = 0, elapsed = 0;
  const t0 = performance.now();
  while ((elapsed = performance.now() - t0) < data.ms) { sink += exports.run(200000, 1); iterations += 200000; }
  postMessage({ flops: iterations * perIter, seconds: elapsed / 1000, sink });
};
`;

type Reply = { flops: number; seconds: number };

/**
 * The SIMD ceiling in the page, one Web Worker per thread: the module
 * ceiling.ts measures in Node (relaxed SIMD where the engine validates it),
 * fetched from the served wasm/ folder.
 */
export async function pageCeilingPool(wasmBase: string, threads: number): Promise<CeilingTrials> {
  let picked: { bytes: ArrayBuffer; op: Ceiling['op'] } | null = null;
  for (const [name, op] of [['ceiling-relaxed', 'relaxed-madd'], ['ceiling', 'mul+add']] as const) {
    const response = await fetch(new URL(`${name}.wasm`, wasmBase));
    const bytes = response.ok ? await response.arrayBuffer() : null;
    if (bytes !== null && WebAssembly.validate(bytes)) {
      picked = { bytes, op };
      break;
    }
  }
  if (picked === null) throw new Error('ceiling: no ceiling module loads in this page (run npm run build:wasm)');
  const bytes = picked.bytes;
  const pool = await startPageWorkers<Reply>(WORKER, threads, 'ceiling', () => ({ bytes }));
  return {
    op: picked.op,
    threads,
    async trial(ms) {
      return (await pool.trial(ms)).reduce((total, r) => total + r.flops / r.seconds / 1e9, 0);
    },
    async close() {
      pool.close();
    },
  };
}
