import os from 'node:os';
import { parseArgs } from 'node:util';
import * as here from '../../src/index.js';
import { CeilingPool } from '../../src/bench/ceiling.js';
import { parseDecodeShape } from '../../src/bench/decode.js';
import { median } from '../../src/lab/stats.js';

/**
 * npx tsx tools/bench/decode-cpu.ts [--shape decode-8x512x128,decode-32/8x512x128,...] [--rounds 9] [--simd128] [--other /path/to/a/checkout]
 *
 * Where a decode step's time goes, on a loaded machine: the CPU time (not the
 * wall time) of one call over a resident KV cache on ONE thread, so that
 * other processes' load does not count, as ms per call and as GFLOP/s per
 * CPU-second (4 · Hq · L · S · E flops), against the one-thread multiply-add
 * ceiling (src/bench/ceiling.ts, best of 5 trials). A shape whose K and V fit
 * the caches (S = 512) shows the arithmetic alone; S = 4096 (32 MiB) adds
 * the reads from memory. Relaxed SIMD unless --simd128. With --other, that
 * checkout's kernels too (e.g. a worktree of main: "before"), in turn with
 * this one's in the same process.
 */
const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: 'decode-8x512x128,decode-32/8x512x128,decode-8x4096x128,decode-32/8x4096x128' },
    rounds: { type: 'string', default: '9' }, simd128: { type: 'boolean', default: false }, other: { type: 'string' },
  },
});
type Lib = typeof here;
const libs: [string, Lib][] = [['this', here]];
if (values.other !== undefined) libs.unshift(['other', (await import(`${values.other}/src/index.ts`)) as Lib]);
for (const [, lib] of libs) {
  if (!values.simd128) lib.wasm.enableRelaxedSimd();
  lib.wasm.setThreads(1);
}
const calls = libs.flatMap(([which, { createKvCache, randn, scaledDotProductAttention }]) => values.shape.split(',').map((name) => {
  const sh = parseDecodeShape(name);
  const q = randn([1, sh.hq, sh.l, sh.e], { seed: 1 });
  const k = randn([1, sh.hkv, sh.s, sh.e], { seed: 2 });
  const v = randn([1, sh.hkv, sh.s, sh.e], { seed: 3 });
  const cache = createKvCache({ batch: 1, heads: sh.hkv, headDim: sh.e, maxLength: sh.s });
  cache.append(k, v);
  const options = { enableGqa: sh.hq !== sh.hkv, keyLengths: cache.lengths };
  // About 2 M keys · heads per batch of calls, so that a batch's CPU time is well above the clock's step.
  const reps = Math.max(5, Math.round(2e6 / (sh.s * sh.hkv)));
  return { which, name, flops: 4 * sh.hq * sh.l * sh.s * sh.e, reps, call: () => scaledDotProductAttention(q, cache.keys, cache.values, options) };
}));
const cpuMs: number[][] = calls.map(() => []);
for (const c of calls) c.call();
for (let r = 0; r < Number(values.rounds); r++) {
  for (const [i, c] of calls.entries()) {
    const before = process.cpuUsage();
    for (let j = 0; j < c.reps; j++) c.call();
    const used = process.cpuUsage(before);
    cpuMs[i].push((used.user + used.system) / 1000 / c.reps);
  }
}
const pool = new CeilingPool(1);
const trials: number[] = [];
for (let t = 0; t < 5; t++) trials.push(await pool.trial(200));
await pool.close();
const ceiling = Math.max(...trials);
console.log(JSON.stringify({ path: here.wasm.info().path, load: os.loadavg().map((x) => Number(x.toFixed(1))), oneThreadCeilingGflops: Number(ceiling.toFixed(1)), op: pool.op }));
for (const [i, c] of calls.entries()) {
  const ms = median(cpuMs[i]);
  const gflops = c.flops / ms / 1e6;
  console.log(JSON.stringify({ checkout: c.which, shape: c.name, cpuMsPerCall: Number(ms.toFixed(3)), gflopsPerCpuSecond: Number(gflops.toFixed(1)), ofCeiling: `${Math.round((100 * gflops) / ceiling)}%` }));
}
process.exit(0);
