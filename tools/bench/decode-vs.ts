import { beforeAndAfter, timeInTurns } from './in-turns.js';
import { parseArgs } from 'node:util';
import { median } from '../../src/lab/stats.js';
import { parseDecodeShape } from '../../src/bench/decode.js';

/**
 * npx tsx tools/bench/decode-vs.ts --other /path/to/another/checkout [--shape decode-8x4096x128,...] [--rounds 9] [--cache] [--threads N]
 *
 * One decoding step on the default path (scaledDotProductAttention with plain
 * tensors, impl 'auto', no engine flags) of this checkout and of another one
 * (e.g. a worktree of main: "before"), loaded side by side in one process and
 * timed in turn (each the median of its rounds, 2 timed calls after 1 per
 * turn), so that the machine's load falls on both alike. With --cache, over a
 * KV cache (createKvCache) holding the keys instead of plain tensors. With
 * --threads, both sides' pools are limited to N threads.
 */
const { values } = parseArgs({
  options: { other: { type: 'string' }, shape: { type: 'string', default: 'decode-8x4096x128,decode-32/8x4096x128' }, rounds: { type: 'string', default: '9' }, cache: { type: 'boolean', default: false }, threads: { type: 'string' } },
});
const libs = await beforeAndAfter<typeof import('../../src/index.js')>(values.other, 'index');
if (values.threads !== undefined) for (const lib of Object.values(libs)) lib.wasm.setThreads(Number(values.threads));
for (const name of values.shape.split(',')) {
  const sh = parseDecodeShape(name);
  const calls = Object.fromEntries(Object.entries(libs).map(([which, lib]) => {
    const q = lib.randn([1, sh.hq, sh.l, sh.e], { seed: 1 });
    const k = lib.randn([1, sh.hkv, sh.s, sh.e], { seed: 2 });
    const v = lib.randn([1, sh.hkv, sh.s, sh.e], { seed: 3 });
    if (!values.cache) return [which, () => lib.scaledDotProductAttention(q, k, v, { enableGqa: sh.hq !== sh.hkv })];
    const cache = lib.createKvCache({ batch: 1, heads: sh.hkv, headDim: sh.e, maxLength: sh.s });
    cache.append(k, v);
    const options = { enableGqa: sh.hq !== sh.hkv, keyLengths: cache.lengths };
    return [which, () => lib.scaledDotProductAttention(q, cache.keys, cache.values, options)];
  })) as Record<'before' | 'after', () => unknown>;
  const times = await timeInTurns(calls, Number(values.rounds), { warmup: 1 });
  const before = median(times.before);
  const after = median(times.after);
  console.log(JSON.stringify({ shape: name, beforeMs: Number(before.toFixed(2)), afterMs: Number(after.toFixed(2)), speedup: Number((before / after).toFixed(2)) }));
}
process.exit(0);
