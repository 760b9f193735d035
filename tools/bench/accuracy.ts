import { parseArgs } from 'node:util';
import { listAttentionImpls, randn } from '../../src/index.js';
import { prepareAttention, referenceBackward, referenceForward, resolveBackend, type AttentionProblem } from '../../src/kernels.js';

/**
 * The accuracy goal, measured: every float32 backend against the
 * float64 reference on the same float32 inputs (unit variance), forward and
 * backward, at full size (the unit tests check a slice of it).
 *
 *   node --import tsx tools/bench/accuracy.ts [--n 4096] [--d 64] [--causal] [--impl tiled,wasm]
 *
 * Prints one JSON line per backend: the largest |error| of output, lse, dq,
 * dk, dv, and whether any value is NaN or infinite where the reference is finite.
 */
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '4096' },
    d: { type: 'string', default: '64' },
    causal: { type: 'boolean', default: false },
    impl: { type: 'string' },
  },
});
const n = Number(values.n);
const d = Number(values.d);
const impls = values.impl ? values.impl.split(',') : listAttentionImpls().filter((name) => name !== 'reference');
const dims = [1, 1, n, d];
const [q, k, v, dOut] = [1, 2, 3, 4].map((seed) => randn(dims, { seed, dtype: 'float32' }));
const options = { isCausal: values.causal };
const p32 = prepareAttention('accuracy', q, k, v, options);
// The same float32 numbers, with every step and the result kept in float64.
const p64: AttentionProblem = { ...p32, dtype: 'float64' };
const exact = referenceForward(p64);
const exactGrads = referenceBackward(p64, exact.output, exact.lse, dOut.data as Float32Array);

function maxError(actual: ArrayLike<number>, expected: ArrayLike<number>): { max: number; nonFinite: number } {
  let max = 0;
  let nonFinite = 0;
  for (let i = 0; i < actual.length; i++) {
    if (!Number.isFinite(actual[i]) && Number.isFinite(expected[i])) nonFinite++;
    else if (actual[i] !== expected[i]) max = Math.max(max, Math.abs(actual[i] - expected[i]));
  }
  return { max, nonFinite };
}

for (const impl of impls) {
  const problem = prepareAttention('accuracy', q, k, v, { ...options, impl });
  const backend = resolveBackend('accuracy', impl, problem);
  const { output, lse } = backend.forward(problem);
  const grads = backend.backward(problem, output, lse, dOut.data as Float32Array);
  const errors = {
    output: maxError(output, exact.output),
    lse: maxError(lse, exact.lse),
    dq: maxError(grads.dq, exactGrads.dq),
    dk: maxError(grads.dk, exactGrads.dk),
    dv: maxError(grads.dv, exactGrads.dv),
  };
  process.stdout.write(`${JSON.stringify({
    impl, n, d, causal: values.causal,
    maxAbsError: Object.fromEntries(Object.entries(errors).map(([name, e]) => [name, e.max])),
    nonFinite: Object.values(errors).reduce((sum, e) => sum + e.nonFinite, 0),
  })}\n`);
}
