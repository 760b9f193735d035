import os from 'node:os';
import { parseArgs } from 'node:util';
import { createKvCache, randn, scaledDotProductAttention, wasm } from '../../src/index.js';
import { parseDecodeShape } from '../../src/bench/decode.js';
import { median } from '../../src/lab/stats.js';

/**
 * npx tsx tools/bench/decode-bf16.ts [--shape decode-8x4096x128,...] [--rounds 9] [--simd128] [--cpu]
 *
 * A KV cache stored in bfloat16 (createKvCache's storage: 'bfloat16') against
 * the same cache stored in float32, decoding one token (L = 1) with impl
 * 'wasm', interleaved in one process: each round times every (shape, storage)
 * in turn, so load from other processes falls on both alike. Wall time on the
 * default threads, as ms per call, tokens/s (1000 / ms: one attention layer's
 * step) and the round's f32 ÷ bf16 ratio (above 1: bf16 is faster), medians
 * over rounds. With --cpu, one thread and its CPU time (process.cpuUsage)
 * instead, which other processes' load barely moves. Relaxed SIMD unless --simd128.
 */
const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: 'decode-8x4096x128,decode-8x32768x128,decode-32/8x4096x128' },
    rounds: { type: 'string', default: '9' }, simd128: { type: 'boolean', default: false }, cpu: { type: 'boolean', default: false },
  },
});
if (!values.simd128) wasm.enableRelaxedSimd();
if (values.cpu) wasm.setThreads(1);
const storages = ['float32', 'bfloat16'] as const;
const calls = values.shape.split(',').flatMap((name) => {
  const sh = parseDecodeShape(name);
  const q = randn([1, sh.hq, sh.l, sh.e], { seed: 1 });
  const k = randn([1, sh.hkv, sh.s, sh.e], { seed: 2 });
  const v = randn([1, sh.hkv, sh.s, sh.e], { seed: 3 });
  // About 2 M keys · heads per timed batch: well above the clock's step, short enough to interleave.
  const reps = Math.max(3, Math.round(2e6 / (sh.s * sh.hkv)));
  return storages.map((storage) => {
    const cache = createKvCache({ batch: 1, heads: sh.hkv, headDim: sh.e, maxLength: sh.s, storage });
    cache.append(k, v);
    const options = { enableGqa: sh.hq !== sh.hkv, keyLengths: cache.lengths, impl: 'wasm' as const };
    return { name, storage, reps, call: () => scaledDotProductAttention(q, cache.keys, cache.values, options) };
  });
});
const ms: number[][] = calls.map(() => []);
for (const c of calls) c.call();
for (let r = 0; r < Number(values.rounds); r++) {
  for (const [i, c] of calls.entries()) {
    const t0 = performance.now();
    const before = process.cpuUsage();
    for (let j = 0; j < c.reps; j++) c.call();
    const used = process.cpuUsage(before);
    ms[i].push(values.cpu ? (used.user + used.system) / 1000 / c.reps : (performance.now() - t0) / c.reps);
  }
}
const info = wasm.info();
console.log(JSON.stringify({ path: info.path, threads: info.threads, clock: values.cpu ? 'cpu, one thread' : 'wall', load: os.loadavg().map((x) => Number(x.toFixed(2))), rounds: Number(values.rounds) }));
for (let i = 0; i < calls.length; i += 2) {
  const ratios = ms[i].map((f32, r) => f32 / ms[i + 1][r]);
  const row = (j: number) => ({ msPerCall: Number(median(ms[j]).toFixed(3)), tokensPerSecond: Math.round(1000 / median(ms[j])) });
  console.log(JSON.stringify({ shape: calls[i].name, float32: row(i), bfloat16: row(i + 1), f32OverBf16: Number(median(ratios).toFixed(3)) }));
}
process.exit(0);
