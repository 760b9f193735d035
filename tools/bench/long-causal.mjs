import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

// Plain JavaScript over the built package (npm run build), not TypeScript
// under tsx: tsx's loader runs in a thread of its own with its own heap,
// about 38 MiB of a peak that is meant to be the attention's (node alone:
// 39 MiB; node --import tsx: 78 MiB, measured 2026-12-02).
if (!existsSync(new URL('../../dist/kernels.js', import.meta.url))) {
  process.stderr.write('long-causal: dist/ is missing; run npm run build first\n');
  process.exit(2);
}
const { randn } = await import('../../dist/index.js');
const { prepareAttention, resolveBackend } = await import('../../dist/kernels.js');

/**
 * One long causal sequence, forward then backward once, in this process: the
 * memory check (the N × N scores at N = 32768 would be 4 GiB in
 * float32; an O(N) kernel needs a few tens of MiB besides its inputs). Run it
 * under GNU time to read the peak RSS from outside the process:
 *
 *   npm run build && /usr/bin/time -v node tools/bench/long-causal.mjs --impl wasm --n 32768
 *
 * Prints one JSON line: times, and the peak RSS the process saw itself.
 */
const { values } = parseArgs({
  options: {
    impl: { type: 'string', default: 'tiled' },
    n: { type: 'string', default: '32768' },
    d: { type: 'string', default: '64' },
  },
});
const n = Number(values.n);
const d = Number(values.d);
if (!Number.isInteger(n) || n < 1 || !Number.isInteger(d) || d < 1) throw new Error(`long-causal: --n ${values.n} --d ${values.d}: expected positive integers`);
const dims = [1, 1, n, d];
const make = (seed) => randn(dims, { seed, dtype: 'float32' });
const [q, k, v, dOut] = [make(1), make(2), make(3), make(4)];
const problem = prepareAttention('long-causal', q, k, v, { isCausal: true, impl: values.impl });
const backend = resolveBackend('long-causal', values.impl ?? 'tiled', problem);
const mib = (bytes) => Math.round(bytes / 1024 / 1024);
const inputsRss = process.memoryUsage().rss;

let t0 = performance.now();
const { output, lse } = backend.forward(problem);
const forwardS = (performance.now() - t0) / 1000;
t0 = performance.now();
const grads = backend.backward(problem, output, lse, dOut.data);
const backwardS = (performance.now() - t0) / 1000;

let finite = true;
for (const x of [output, grads.dq, grads.dk, grads.dv]) for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) finite = false;
process.stdout.write(`${JSON.stringify({
  impl: backend.name, n, d, causal: true, forwardS, backwardS, finite,
  rssWithInputsMiB: mib(inputsRss), peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
  scoreMatrixMiB: mib(4 * n * n),
})}\n`);
