import os from 'node:os';
import { parseArgs } from 'node:util';
import { median } from '../../src/lab/stats.js';
import { parseShape } from '../../src/bench/shapes.js';
import { quiet } from '../../src/bench/quiet.js';
import { beforeAndAfter, timeInTurns } from './in-turns.js';

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
const libs = await beforeAndAfter<typeof import('../../src/index.js')>(values.other, 'index');
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
    const times = await timeInTurns(calls, Number(values.rounds), { warmup: 3, pause: quiet });
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
