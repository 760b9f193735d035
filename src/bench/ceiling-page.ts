import { bestFormGflops, MEASURE_FORMS_JS, type FormsReply } from './ceiling-forms.js';
import { startPageWorkers } from './page-workers.js';
import type { CeilingTrials } from './case.js';
import type { Ceiling } from './ceiling.js';

// ceiling.ts's measurement on Web Workers, for the browser benchmark page:
// the first message compiles the module, each later one { ms, flag } is one
// trial: report ready, wait for the flag (every thread starts together), run
// each loop form for its share of ms, report the flops done (ceiling-forms.ts).
const WORKER = `
${MEASURE_FORMS_JS}
let forms;
onmessage = ({ data }) => {
  if (data.bytes) {
    forms = loadForms(new WebAssembly.Instance(new WebAssembly.Module(data.bytes), {}).exports);
    postMessage('loaded');
    return;
  }
  postMessage('ready');
  Atomics.wait(data.flag, 0, 0);
  postMessage(measureForms(forms, data.ms));
};
`;

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
  const pool = await startPageWorkers<FormsReply>(WORKER, threads, 'ceiling', () => ({ bytes }));
  return {
    op: picked.op,
    threads,
    async trial(ms) {
      return bestFormGflops(await pool.trial(ms));
    },
    async close() {
      pool.close();
    },
  };
}
