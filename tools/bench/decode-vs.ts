import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { median } from '../../src/lab/stats.js';
import { parseDecodeShape } from '../../src/bench/decode.js';

/**
 * npx tsx tools/bench/decode-vs.ts --other /path/to/another/checkout [--shape decode-8x4096x128,...] [--rounds 9]
 *
 * One decoding step on the default path (scaledDotProductAttention with plain
 * tensors, impl 'auto', no engine flags) of this checkout and of another one
 * (e.g. a worktree of main: "before"), loaded side by side in one process and
 * timed in turn (each the median of its rounds, 2 timed calls after 1 per
 * turn), so that the machine's load falls on both alike.
 */
const { values } = parseArgs({
  options: { other: { type: 'string' }, shape: { type: 'string', default: 'decode-8x4096x128,decode-32/8x4096x128' }, rounds: { type: 'string', default: '9' } },
});
if (values.other === undefined) throw new Error('--other: the checkout to compare with (its src/ is imported)');
type Lib = typeof import('../../src/index.js');
const libs: Record<'before' | 'after', Lib> = {
  before: (await import(`${values.other}/src/index.ts`)) as Lib,
  after: (await import('../../src/index.js')) as Lib,
};
for (const name of values.shape.split(',')) {
  const sh = parseDecodeShape(name);
  const calls = Object.fromEntries(Object.entries(libs).map(([which, lib]) => {
    const q = lib.randn([1, sh.hq, sh.l, sh.e], { seed: 1 });
    const k = lib.randn([1, sh.hkv, sh.s, sh.e], { seed: 2 });
    const v = lib.randn([1, sh.hkv, sh.s, sh.e], { seed: 3 });
    return [which, () => lib.scaledDotProductAttention(q, k, v, { enableGqa: sh.hq !== sh.hkv })];
  })) as Record<'before' | 'after', () => unknown>;
  const times: Record<string, number[]> = { before: [], after: [] };
  for (const call of Object.values(calls)) call();
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const which of (r % 2 === 0 ? ['before', 'after'] : ['after', 'before']) as ('before' | 'after')[]) {
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        calls[which]();
        if (i > 0) times[which].push(performance.now() - t0);
      }
    }
  }
  const before = median(times.before);
  const after = median(times.after);
  console.log(JSON.stringify({ shape: name, beforeMs: Number(before.toFixed(2)), afterMs: Number(after.toFixed(2)), speedup: Number((before / after).toFixed(2)) }));
}
process.exit(0);
