import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FLOAT_DTYPES, type FloatDType } from '../../src/index.js';
import { Transformer, makeNamesTask, resolveTrainConfig, sampleNames } from '../../src/nn/index.js';

/**
 * npx tsx tools/bench/sample.ts [--tokens 64 --count 8 --repeats 3 --temperature 0.1] [--no-cache] [--dtype float32]
 *
 * Sampling speed of the names model (`scaledot train --task names` at its
 * defaults: head dim 16, width 64, 2 layers), untrained. At temperature 0.1
 * its seeded random weights almost never pick the boundary, so the names run
 * to --tokens characters, the length the figure is for (`chars` says how
 * many were drawn). Prints the best of --repeats wall times and characters
 * per second. --no-cache samples the way it did before the KV cache (the
 * whole name so far through forward at every step), for the comparison.
 * --dtype sets the model's dtype (default float64, as `scaledot train`
 * makes it, which runs attention on the tiled path: the wasm kernels take
 * float32 and the half dtypes only).
 */
const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '64' }, count: { type: 'string', default: '8' }, repeats: { type: 'string', default: '3' },
    temperature: { type: 'string', default: '0.1' }, 'no-cache': { type: 'boolean', default: false },
    dtype: { type: 'string', default: 'float64' },
  },
});
const tokens = Number(values.tokens);
const count = Number(values.count);
const repeats = Number(values.repeats);
const dtype = values.dtype as FloatDType;
if (!FLOAT_DTYPES.includes(dtype)) throw new Error(`--dtype is ${values.dtype}; expected one of ${FLOAT_DTYPES.join(', ')}`);
const c = { ...resolveTrainConfig({ task: 'names', scaleRule: 'rsqrt', headDim: 16, steps: 1, seed: 0 }), dtype };
const task = makeNamesTask(c.seed, undefined, 1);
const model = new Transformer({
  vocabSize: task.vocabSize, width: c.width, layers: c.layers, heads: c.heads, headDim: c.headDim, scaleRule: c.scaleRule, dtype: c.dtype, seed: c.seed,
});
let best = Infinity;
let chars = 0;
for (let r = 0; r < repeats; r++) {
  const start = performance.now();
  const names = sampleNames(model, task.data, count, 1, Number(values.temperature), tokens, { cache: !values['no-cache'] });
  best = Math.min(best, performance.now() - start);
  chars = names.reduce((n, name) => n + name.length, 0);
}
console.log(JSON.stringify({ cache: !values['no-cache'], dtype, tokens, count, chars, bestMs: Math.round(best), charsPerSecond: Math.round((chars / best) * 1000) }));
