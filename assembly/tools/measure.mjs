// GFLOP/s of impl 'wasm' at one shape, on one thread and on every core:
// a measurement, not a test (speed is never asserted by the test suite).
//
//   node --import tsx assembly/tools/measure.mjs [bh] [n] [d] [reps] [causal]
//   node --experimental-wasm-relaxed-simd --import tsx assembly/tools/measure.mjs   (Node 20: fused multiply-add)
//
// FLOPs are counted FlashAttention's way: forward 4·BH·N²·d, backward 10·BH·N²·d (halved
// under causal). The backward entry point also runs a forward (it needs o
// and lse), so backward = median(forward + backward) − median(forward).
// Besides wall-clock medians it prints GFLOP/s per CPU-second (process CPU
// time, all threads), which stays meaningful when other work shares the cores.
import { loadavg } from 'node:os';
import {
  randn, scaledDotProductAttention, scaledDotProductAttentionBackward, setWasmAttentionThreads, wasmAttentionInfo,
} from '../../src/index.js';

const args = process.argv.slice(2);
const [bh = 8, n = 1024, d = 64, reps = 15] = args.slice(0, 4).map(Number);
const isCausal = args[4] === 'causal';
const q = randn([bh, n, d], { seed: 1 });
const k = randn([bh, n, d], { seed: 2 });
const v = randn([bh, n, d], { seed: 3 });
const dO = randn([bh, n, d], { seed: 4 });
const options = { impl: 'wasm', isCausal };
const flops = (4 * bh * n * n * d) / (isCausal ? 2 : 1);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall ms and median CPU ms of `run`, after two warm-up calls (JIT tier-up, memory growth, workers starting). */
function time(run) {
  run();
  run();
  const wall = [];
  const cpu = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

const rows = [];
const cores = wasmAttentionInfo().threads;
for (const threads of [...new Set([1, cores])]) {
  setWasmAttentionThreads(threads);
  const fwd = time(() => scaledDotProductAttention(q, k, v, options));
  const both = time(() => scaledDotProductAttentionBackward(q, k, v, dO, options));
  const bwd = { wall: both.wall - fwd.wall, cpu: both.cpu - fwd.cpu };
  rows.push({
    threads,
    shape: `${bh}x${n}x${d}${isCausal ? ' causal' : ''}`,
    fwdMs: +fwd.wall.toFixed(1),
    fwdGflops: +(flops / fwd.wall / 1e6).toFixed(1),
    fwdGflopsPerCpuS: +(flops / fwd.cpu / 1e6).toFixed(1),
    bwdMs: +bwd.wall.toFixed(1),
    bwdGflops: +((2.5 * flops) / bwd.wall / 1e6).toFixed(1),
    bwdGflopsPerCpuS: +((2.5 * flops) / bwd.cpu / 1e6).toFixed(1),
  });
}
setWasmAttentionThreads(cores);
const info = wasmAttentionInfo();
console.log(`path ${info.path}, ${info.threads} threads${info.reason ? ` (${info.reason})` : ''}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.table(rows);
