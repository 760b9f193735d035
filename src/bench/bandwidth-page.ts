import { startPageWorkers } from './page-workers.js';

// bandwidth.ts's measurement on Web Workers, for the browser decode page: the
// first message instantiates the module over the shared memory and reads the
// worker's slice once (pages mapped, code tiered up); each later one
// { ms, flag } is one trial: report ready, wait for the flag (every thread
// starts together), read the slice again and again for ms, report the bytes.
const WORKER = `
let exports, from, slice;
onmessage = ({ data }) => {
  if (data.bytes) {
    exports = new WebAssembly.Instance(new WebAssembly.Module(data.bytes), { env: { memory: data.memory } }).exports;
    from = data.from;
    slice = data.slice;
    exports.read(from, slice);
    postMessage('loaded');
    return;
  }
  postMessage('ready');
  Atomics.wait(data.flag, 0, 0);
  let bytes = 0, sink = 0, elapsed = 0;
  const t0 = performance.now();
  while ((elapsed = performance.now() - t0) < data.ms) { sink += exports.read(from, slice); bytes += slice; }
  postMessage({ bytes, seconds: elapsed / 1000, sink });
};
`;

type Reply = { bytes: number; seconds: number };

/**
 * The memory-read ceiling in the page: assembly/bandwidth.ts's f32x4 loads
 * over `bytes` (Node's BANDWIDTH_BYTES, sent by browser.ts) of one shared WebAssembly memory, one Web Worker per
 * thread on its own slice, as BandwidthPool does with Node's workers.
 */
export async function pageBandwidthPool(wasmBase: string, threads: number, bytes: number): Promise<{ trial(ms: number): Promise<number>; close(): Promise<void> }> {
  const response = await fetch(new URL('bandwidth.wasm', wasmBase));
  if (!response.ok) throw new Error('bandwidth: wasm/bandwidth.wasm does not load in this page (run npm run build:wasm)');
  const module = await response.arrayBuffer();
  const slice = Math.floor(bytes / threads / 64) * 64;
  const pages = Math.ceil((slice * threads + 65536) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  // Values 1, so that the pages are really mapped (a never-written page may read as a shared zero page).
  new Float32Array(memory.buffer).fill(1);
  const pool = await startPageWorkers<Reply>(WORKER, threads, 'bandwidth', (t) => ({ bytes: module, memory, from: 65536 + t * slice, slice }));
  return {
    async trial(ms) {
      return (await pool.trial(ms)).reduce((total, r) => total + r.bytes / r.seconds / 1e9, 0);
    },
    async close() {
      pool.close();
    },
  };
}
