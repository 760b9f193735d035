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

type Reply = 'loaded' | 'ready' | { bytes: number; seconds: number };

function next(worker: Worker): Promise<Reply> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<Reply>) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(`bandwidth worker: ${event.message}`));
  });
}

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
  const url = URL.createObjectURL(new Blob([WORKER], { type: 'text/javascript' }));
  const workers = Array.from({ length: threads }, () => new Worker(url));
  const loaded = workers.map(next);
  workers.forEach((worker, t) => worker.postMessage({ bytes: module, memory, from: 65536 + t * slice, slice }));
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
      const replies = await Promise.all(done);
      return replies.reduce((total, r) => total + (typeof r === 'object' ? r.bytes / r.seconds / 1e9 : 0), 0);
    },
    async close() {
      for (const worker of workers) worker.terminate();
      URL.revokeObjectURL(url);
    },
  };
}
