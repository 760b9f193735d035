import { createKvCache, randn, scaledDotProductAttentionAsync, webgpu } from '../../src/index.js';

/**
 * The page of webgpu-decode-study.ts: one decoding step (batch 1, H heads,
 * one query over S cached keys of E dims) on impl 'webgpu', three ways:
 * the whole K and V uploaded (plain tensors: what every call did before the
 * GPU cache), K and V resident (createKvCache({ impl: 'webgpu' })), and the
 * upload of K and V alone (writeBuffer, then onSubmittedWorkDone).
 */

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(reps: number, call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function step(heads: number, s: number, e: number, reps: number) {
  const info = await webgpu.init();
  if (!info.available) throw new Error(`no WebGPU: ${info.reason}`);
  const q = randn([1, heads, 1, e], { seed: 1 });
  const k = randn([1, heads, s, e], { seed: 2 });
  const v = randn([1, heads, s, e], { seed: 3 });
  const cache = createKvCache({ batch: 1, heads, headDim: e, maxLength: s, impl: 'webgpu' });
  cache.append(k, v);
  const keyLengths = cache.lengths;
  const options = { impl: 'webgpu', keyLengths } as const;
  const uploaded = await timed(reps, () => scaledDotProductAttentionAsync(q, k, v, options));
  const resident = await timed(reps, () => scaledDotProductAttentionAsync(q, cache.keys, cache.values, options));
  // The upload alone, on a device of its own: two storage buffers of K and V written and waited for.
  const gpu = await (await (navigator as unknown as { gpu: GPU }).gpu.requestAdapter())!.requestDevice();
  const size = k.data.byteLength;
  const buffers = [0, 1].map(() => gpu.createBuffer({ size, usage: 0x80 | 0x8 }));
  const upload = await timed(reps, async () => {
    gpu.queue.writeBuffer(buffers[0], 0, k.data as Float32Array);
    gpu.queue.writeBuffer(buffers[1], 0, v.data as Float32Array);
    await gpu.queue.onSubmittedWorkDone();
  });
  // One appended row per head, as a decoding step writes it into the cache.
  const row = randn([1, heads, 1, e], { seed: 4 });
  const small = createKvCache({ batch: 1, heads, headDim: e, maxLength: reps + 2, impl: 'webgpu' });
  const append = await timed(reps, async () => {
    small.append(row, row);
    await gpu.queue.onSubmittedWorkDone();
  });
  return { adapter: `${info.adapter?.vendor} ${info.adapter?.architecture}`, heads, s, e, uploaded, resident, upload, append, kvMiB: (2 * size) / 2 ** 20 };
}

(globalThis as { study?: unknown }).study = { step };
