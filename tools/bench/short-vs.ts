import { performance } from 'node:perf_hooks';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { median } from '../../src/lab/stats.js';
import { parseShape } from '../../src/bench/shapes.js';
import { quiet } from '../../src/bench/quiet.js';

/**
 * npx tsx tools/bench/short-vs.ts --other /path/to/another/checkout [--shape 8x256x64,1x1024x64] [--rounds 15]
 *
 * The default path (impl 'auto', no engine flags) of this checkout and of
 * another one (e.g. a worktree of main: "before"), loaded side by side in one
 * process and timed in turn, forward and backward (given the forward's saved
 * output and lse, as the bench's backward rows): per turn, after the
 * harness's quiet wait, a burst of 3 calls of which the last 2 are timed, the
 * order alternating each round, so that the machine's load falls on both alike.
 * Prints medians in ms, each direction's ratio before ÷ after, the fastest
 * call of each (on a loaded machine the least disturbed) and the load average.
 */
const { values } = parseArgs({
  options: { other: { type: 'string' }, shape: { type: 'string', default: '8x256x64,1x1024x64' }, rounds: { type: 'string', default: '15' } },
});
if (values.other === undefined) throw new Error('--other: the checkout to compare with (its src/ is imported)');
type Lib = typeof import('../../src/index.js');
const libs: Record<'before' | 'after', Lib> = {
  before: (await import(`${values.other}/src/index.ts`)) as Lib,
  after: (await import('../../src/index.js')) as Lib,
};
for (const name of values.shape.split(',')) {
  const sh = parseShape(name);
  for (const direction of ['forward', 'backward'] as const) {
    const calls = Object.fromEntries(Object.entries(libs).map(([which, lib]) => {
      const [q, k, v, dOut] = [1, 2, 3, 4].map((seed) => lib.randn([1, sh.heads, sh.n, sh.d], { seed }));
      const options = { isCausal: sh.causal };
      const saved = lib.scaledDotProductAttentionWithLse(q, k, v, options);
      const call = direction === 'forward'
        ? () => lib.scaledDotProductAttentionWithLse(q, k, v, options)
        : () => lib.scaledDotProductAttentionBackward(q, k, v, dOut, { ...options, saved });
      return [which, call];
    })) as Record<'before' | 'after', () => unknown>;
    const times: Record<string, number[]> = { before: [], after: [] };
    for (const call of Object.values(calls)) for (let i = 0; i < 3; i++) call();
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const which of (r % 2 === 0 ? ['before', 'after'] : ['after', 'before']) as ('before' | 'after')[]) {
        await quiet();
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          calls[which]();
          if (i > 0) times[which].push(performance.now() - t0);
        }
      }
    }
    const before = median(times.before);
    const after = median(times.after);
    const least = (t: number[]) => Number(Math.min(...t).toFixed(3));
    console.log(JSON.stringify({
      shape: name, direction, beforeMs: Number(before.toFixed(3)), afterMs: Number(after.toFixed(3)), speedup: Number((before / after).toFixed(2)),
      beforeMinMs: least(times.before), afterMinMs: least(times.after), load: os.loadavg()[0].toFixed(1),
    }));
  }
}
process.exit(0);
