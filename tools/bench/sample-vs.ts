import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { median } from '../../src/lab/stats.js';

/**
 * npx tsx tools/bench/sample-vs.ts --other /path/to/another/checkout [--dtype float64] [--rounds 7]
 *
 * tools/bench/sample.ts's measurement (the names model, untrained, sampling 8
 * names of 64 characters through Transformer.decoder's KV caches) for this
 * checkout and another one (e.g. a worktree of main: "before"), loaded side
 * by side in one process and timed in turn, so that the machine's load falls
 * on both alike. Prints each one's median characters per second and the ratio.
 */
const { values } = parseArgs({
  options: {
    other: { type: 'string' }, dtype: { type: 'string', default: 'float64' }, rounds: { type: 'string', default: '7' },
    tokens: { type: 'string', default: '64' }, count: { type: 'string', default: '8' },
  },
});
if (values.other === undefined) throw new Error('--other: the checkout to compare with (its src/ is imported)');
type Nn = typeof import('../../src/nn/index.js');
const here = (await import('../../src/nn/index.js')) as Nn;
const other = (await import(`${values.other}/src/nn/index.ts`)) as Nn;

function setup(nn: Nn) {
  const c = { ...nn.resolveTrainConfig({ task: 'names', scaleRule: 'rsqrt', headDim: 16, steps: 1, seed: 0 }), dtype: values.dtype as 'float64' };
  const task = nn.makeNamesTask(c.seed, undefined, 1);
  const model = new nn.Transformer({
    vocabSize: task.vocabSize, width: c.width, layers: c.layers, heads: c.heads, headDim: c.headDim, scaleRule: c.scaleRule, dtype: c.dtype, seed: c.seed,
  });
  return () => nn.sampleNames(model, task.data, Number(values.count), 1, 0.1, Number(values.tokens), { cache: true });
}
const runs = { before: setup(other), after: setup(here) };
const rates: Record<string, number[]> = { before: [], after: [] };
for (const run of Object.values(runs)) run(); // warm-up
for (let r = 0; r < Number(values.rounds); r++) {
  for (const name of (r % 2 === 0 ? ['before', 'after'] : ['after', 'before']) as ('before' | 'after')[]) {
    const t0 = performance.now();
    const names = runs[name]();
    rates[name].push(names.reduce((n, x) => n + x.length, 0) / ((performance.now() - t0) / 1000));
  }
}
const before = median(rates.before);
const after = median(rates.after);
console.log(JSON.stringify({ dtype: values.dtype, rounds: Number(values.rounds), beforeCharsPerSecond: Math.round(before), afterCharsPerSecond: Math.round(after), ratio: Number((after / before).toFixed(2)) }));
process.exit(0);
