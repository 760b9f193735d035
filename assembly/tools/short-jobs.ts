import { parseArgs } from 'node:util';
import { parseShape } from '../../src/bench/shapes.js';

/**
 * npx tsx assembly/tools/short-jobs.ts [--other /path/to/another/checkout] [--shape 8x256x64,1x1024x64] [--batches 9]
 *
 * The kernel jobs of one forward and one backward call (given the forward's
 * saved output and lse), each rerun on its own in batches on the calling
 * thread alone (setThreads(1)) with the parameters the call gave it; prints
 * each job's best batch, in ms per job. The best of several batches is the
 * least disturbed by other processes on a shared machine: these are CPU work
 * per job, not a call's wall time (tools/bench/short-vs.ts times calls). With
 * --other, the same for another checkout (e.g. a worktree of main: "before").
 */
const { values } = parseArgs({
  options: { other: { type: 'string' }, shape: { type: 'string', default: '8x256x64,1x1024x64' }, batches: { type: 'string', default: '9' } },
});
type Lib = typeof import('../../src/index.js');
type Loader = typeof import('../../src/attention/wasm/loader.js');
const roots: [string, string][] = [['this checkout', '../..'], ...(values.other === undefined ? [] : [['other', values.other] as [string, string]])];

for (const [which, root] of roots) {
  const lib = (await import(`${root}/src/index.ts`)) as Lib;
  const { kernelRuntime } = (await import(`${root}/src/attention/wasm/loader.ts`)) as Loader;
  lib.wasm.setThreads(1);
  for (const name of values.shape.split(',')) {
    const sh = parseShape(name);
    const [q, k, v, dOut] = [1, 2, 3, 4].map((seed) => lib.randn([1, sh.heads, sh.n, sh.d], { seed }));
    const options = { isCausal: sh.causal, impl: 'wasm' as const };
    const saved = lib.scaledDotProductAttentionWithLse(q, k, v, options);
    const rt = kernelRuntime()!;
    const jobs: [string, unknown, number][] = [];
    const run = rt.run.bind(rt);
    rt.run = ((kind: string, params: unknown, nTasks: number, ...rest: unknown[]) => {
      jobs.push([kind, params, nTasks]);
      (run as (...a: unknown[]) => void)(kind, params, nTasks, ...rest);
    }) as typeof rt.run;
    lib.scaledDotProductAttentionWithLse(q, k, v, options);
    lib.scaledDotProductAttentionBackward(q, k, v, dOut, { ...options, saved });
    rt.run = run;
    const rerun = run as (kind: string, params: unknown, nTasks: number, flops: number) => void;
    const best: string[] = [];
    for (const [kind, params, nTasks] of jobs) {
      // About 20 ms a batch: the first run says how many fit.
      const t0 = performance.now();
      rerun(kind, params, nTasks, 0);
      const reps = Math.max(1, Math.round(20 / Math.max(performance.now() - t0, 0.01)));
      let least = Infinity;
      for (let b = 0; b < Number(values.batches); b++) {
        const start = performance.now();
        for (let i = 0; i < reps; i++) rerun(kind, params, nTasks, 0);
        least = Math.min(least, (performance.now() - start) / reps);
      }
      best.push(`${kind} ${least.toFixed(3)}`);
    }
    console.log(JSON.stringify({ checkout: which, shape: name, path: lib.wasm.info().path, bestMsPerJob: best.join(', ') }));
  }
}
process.exit(0);
