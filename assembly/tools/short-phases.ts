import { parseArgs } from 'node:util';
import { randn, scaledDotProductAttentionWithLse, scaledDotProductAttentionBackward, wasm } from '../../src/index.js';
import { kernelRuntime } from '../../src/attention/wasm/loader.js';
import { parseShape } from '../../src/bench/shapes.js';
import { median } from '../../src/lab/index.js';

/**
 * Where one wasm call's time goes on a short shape: each job the dispatcher
 * runs (timed by wrapping KernelRuntime.run) against the whole call, so the
 * rest is the TypeScript side's copies in and out, the layout and the
 * allocation of the results. Medians and fastest over --reps calls, forward
 * and backward.
 *
 *   node --import tsx assembly/tools/short-phases.ts --shape 8x256x64 --threads 2
 *   node --import tsx assembly/tools/short-phases.ts --shape 8x256x64,8x1024x64 --threads 1 --cpu
 */
const { values } = parseArgs({ options: {
  shape: { type: 'string', default: '8x256x64' }, reps: { type: 'string', default: '41' },
  threads: { type: 'string', default: '0' }, relaxed: { type: 'boolean', default: false }, cpu: { type: 'boolean', default: false },
} });
if (values.relaxed) wasm.enableRelaxedSimd();
if (Number(values.threads) > 0) wasm.setThreads(Number(values.threads));
const reps = Number(values.reps);
// --cpu: the CPU time of the whole process (all threads) rather than the wall
// clock; with --threads 1 it is the calling thread's work, which a loaded
// machine does not stretch the way it stretches wall time.
const clock = values.cpu ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } : () => performance.now();

for (const shape of values.shape.split(',')) {
  const dims = parseShape(shape);
  const make = (seed: number) => randn([1, dims.heads, dims.n, dims.d], { seed });
  const [q, k, v, dOut] = [make(1), make(2), make(3), make(4)];
  const opts = { isCausal: dims.causal, impl: 'wasm' as const };
  scaledDotProductAttentionWithLse(q, k, v, opts); // loads the module
  const rt = kernelRuntime()!;
  const jobs: Record<string, number[]> = {};
  let current: Record<string, number> = {};
  const run = rt.run.bind(rt);
  rt.run = ((kind: string, ...rest: unknown[]) => {
    const t0 = clock();
    (run as (...a: unknown[]) => void)(kind, ...rest);
    current[kind] = (current[kind] ?? 0) + clock() - t0;
  }) as typeof rt.run;
  for (const direction of ['forward', 'backward'] as const) {
    const { output, lse } = scaledDotProductAttentionWithLse(q, k, v, opts);
    const call = direction === 'forward'
      ? () => scaledDotProductAttentionWithLse(q, k, v, opts)
      : () => scaledDotProductAttentionBackward(q, k, v, dOut, { ...opts, saved: { output, lse } });
    for (let i = 0; i < 5; i++) call();
    const total: number[] = [];
    for (const key of Object.keys(jobs)) delete jobs[key];
    for (let r = 0; r < reps; r++) {
      current = {};
      const t0 = clock();
      call();
      total.push(clock() - t0);
      for (const [kind, ms] of Object.entries(current)) (jobs[kind] ??= []).push(ms);
    }
    // The fastest of each is the least disturbed by other processes; the median is the usual figure.
    for (const [stat, of] of [['median', median], ['fastest', (t: number[]) => Math.min(...t)]] as const) {
      const kernels = Object.values(jobs).reduce((sum, t) => sum + of(t), 0);
      const parts = Object.entries(jobs).map(([kind, t]) => `${kind} ${of(t).toFixed(3)}`).join(', ');
      console.log(`${shape} ${direction} ${stat} (${wasm.info().path}, ${rt.threadLimit} threads, ${values.cpu ? 'CPU' : 'wall'} ms): call ${of(total).toFixed(3)}; ${parts}; rest ${(of(total) - kernels).toFixed(3)}`);
    }
  }
}
