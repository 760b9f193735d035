import os from 'node:os';
import { parseArgs } from 'node:util';
import { randn, scaledDotProductAttentionWithLse, wasm } from '../../src/index.js';
import { kernelRuntime } from '../../src/attention/wasm/loader.js';
import type { KernelExports } from '../../src/attention/wasm/abi.js';
import { parseShape } from '../../src/bench/shapes.js';
import { median } from '../../src/lab/index.js';

/**
 * How the forward job of a short call splits between the calling thread and
 * the worker: per call, the time of the caller's `meanwhile` (the result's
 * allocation and first touch), the tasks the caller ran itself (of the job's
 * total) and the wall time of its own runJob, and the rest of the job (the
 * wait for the worker's last tasks, and publishing), beside the whole job
 * and the whole call. Back-to-back calls; prints the median and the --show
 * fastest calls, whose split is the least disturbed by other processes.
 *
 *   node --import tsx assembly/tools/short-split.ts --shape 8x256x64 --calls 300
 *
 * It lives beside the kernels rather than in tools/bench because it wraps the
 * dispatcher's internals (kernelRuntime, the module's runJob), which tools/bench
 * may not reach (test/import-graph.test.ts: only through src/attention's index).
 */
const { values } = parseArgs({ options: {
  shape: { type: 'string', default: '8x256x64' }, calls: { type: 'string', default: '300' }, show: { type: 'string', default: '5' },
} });
const dims = parseShape(values.shape);
const [q, k, v] = [1, 2, 3].map((seed) => randn([1, dims.heads, dims.n, dims.d], { seed }));
const options = { isCausal: dims.causal, impl: 'wasm' as const };
scaledDotProductAttentionWithLse(q, k, v, options); // loads the module, starts the workers
const rt = kernelRuntime()!;

// The caller's runJob, timed: the exports object is replaced by a copy whose runJob records.
let own = { ms: 0, tasks: 0 };
const exports = rt.exports;
(rt as { exports: KernelExports }).exports = {
  ...exports,
  runJob: (ctrl, tid) => {
    const t0 = performance.now();
    const tasks = exports.runJob(ctrl, tid);
    own = { ms: performance.now() - t0, tasks };
    return tasks;
  },
};
let forward = { ms: 0, tasks: 0, own, meanwhileMs: 0 };
const run = rt.run.bind(rt);
rt.run = ((kind, params, nTasks, flops, options = {}) => {
  let meanwhileMs = 0;
  const meanwhile = options.meanwhile && (() => {
    const t = performance.now();
    options.meanwhile!();
    meanwhileMs = performance.now() - t;
  });
  const t0 = performance.now();
  run(kind, params, nTasks, flops, { ...options, meanwhile });
  if (kind === 'forward') forward = { ms: performance.now() - t0, tasks: nTasks, own, meanwhileMs };
}) as typeof rt.run;

for (let i = 0; i < 20; i++) scaledDotProductAttentionWithLse(q, k, v, options);
const rows: { call: number; job: number; tasks: number; meanwhileMs: number; ownTasks: number; ownMs: number; restMs: number }[] = [];
for (let i = 0; i < Number(values.calls); i++) {
  const t0 = performance.now();
  scaledDotProductAttentionWithLse(q, k, v, options);
  const call = performance.now() - t0;
  const f = forward;
  rows.push({ call, job: f.ms, tasks: f.tasks, meanwhileMs: f.meanwhileMs, ownTasks: f.own.tasks, ownMs: f.own.ms, restMs: f.ms - f.meanwhileMs - f.own.ms });
}
const fmt = (r: Omit<(typeof rows)[number], 'tasks'>) =>
  `call ${r.call.toFixed(3)}, forward job ${r.job.toFixed(3)}: meanwhile ${r.meanwhileMs.toFixed(3)}, caller ran ${r.ownTasks} tasks in ${r.ownMs.toFixed(3)}, rest ${r.restMs.toFixed(3)}`;
const tasks = rows[0].tasks;
console.log(`${values.shape} forward (${wasm.info().path}, ${rt.threadLimit} threads, wall ms, ${tasks} tasks per job; load ${os.loadavg()[0].toFixed(1)})`);
const pick = <K extends keyof (typeof rows)[number]>(key: K) => median(rows.map((r) => r[key]));
console.log(`  median of ${rows.length}: ${fmt({ call: pick('call'), job: pick('job'), meanwhileMs: pick('meanwhileMs'), ownTasks: pick('ownTasks'), ownMs: pick('ownMs'), restMs: pick('restMs') })}`);
for (const r of [...rows].sort((a, b) => a.call - b.call).slice(0, Number(values.show))) console.log(`  fastest: ${fmt(r)}`);
