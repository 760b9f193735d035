import os from 'node:os';
import { parseArgs } from 'node:util';
import { randn, scaledDotProductAttention, wasm, type AttentionOptions, type Tensor } from '../../src/index.js';
import { median } from '../../src/lab/index.js';

/**
 * npx tsx tools/bench/model-options.ts [--impl wasm,tiled] [--reps 5] [--threads N]
 *
 * The two shapes issue 9 asks for, timed in one process (median of --reps
 * after one warm-up run), float32:
 *
 * - window: 16,384 queries and keys, causal, window [255, 0] (each query sees
 *   at most 256 keys), against the same 16,384 queries over just 256 keys, and
 *   against the full causal problem. A kernel that skips the key blocks the
 *   window hides costs about what 256 keys cost.
 * - decode: one query (L = 1) per head against a cache of 4,096 keys, 32 query
 *   heads, 8 kv heads, E = 128 (GQA), keyLengths = 4,096: reported in GB/s of
 *   K and V read (2 · 8 · 4096 · 128 · 4 bytes per call).
 *
 * Prints one JSON line per row and the machine's load, since figures from a
 * shared machine move with it. --threads caps the wasm kernels' threads (one
 * thread gives steadier ratios on a loaded machine).
 */
const { values } = parseArgs({
  options: { impl: { type: 'string', default: 'wasm,tiled' }, reps: { type: 'string', default: '5' }, threads: { type: 'string' } },
});
if (values.threads !== undefined) wasm.setThreads(Number(values.threads));
const impls = values.impl.split(',');
const reps = Number(values.reps);

function time(run: () => unknown): number {
  run();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const f32 = (shape: number[], seed: number) => randn(shape, { seed, dtype: 'float32' });

interface Row { impl: string; row: string; ms: number; extra?: Record<string, number> }
const rows: Row[] = [];
const call = (q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions) => () => scaledDotProductAttention(q, k, v, options);

const n = 16384;
const window = 256;
const qLong = f32([1, 1, n, 64], 1);
const kLong = f32([1, 1, n, 64], 2);
const vLong = f32([1, 1, n, 64], 3);
const kShort = f32([1, 1, window, 64], 4);
const vShort = f32([1, 1, window, 64], 5);
const qDecode = f32([1, 32, 1, 128], 6);
const kCache = f32([1, 8, 4096, 128], 7);
const vCache = f32([1, 8, 4096, 128], 8);
const kvBytes = 2 * 8 * 4096 * 128 * 4;

for (const impl of impls) {
  rows.push({ impl, row: `window [${window - 1}, 0] causal, L = S = ${n}, E = 64`, ms: time(call(qLong, kLong, vLong, { isCausal: true, window: [window - 1, 0], impl })) });
  rows.push({ impl, row: `no window, L = ${n}, S = ${window}, E = 64`, ms: time(call(qLong, kShort, vShort, { impl })) });
  if (impl !== 'tiled') rows.push({ impl, row: `causal, no window, L = S = ${n}, E = 64`, ms: time(call(qLong, kLong, vLong, { isCausal: true, impl })) });
  const ms = time(call(qDecode, kCache, vCache, { enableGqa: true, isCausal: true, keyLengths: [4096], impl }));
  rows.push({ impl, row: 'decode L = 1, S = 4096 cached, Hq 32, Hkv 8, E = 128', ms, extra: { gbPerSecondKV: kvBytes / (ms * 1e6) } });
}
for (const r of rows) console.log(JSON.stringify({ ...r, ms: Math.round(r.ms * 10) / 10 }));
console.log(JSON.stringify({ loadAvg1m: os.loadavg()[0], cpus: os.cpus().length, threads: values.threads ?? 'all', node: process.version }));
