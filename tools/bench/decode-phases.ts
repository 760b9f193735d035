import { performance } from 'node:perf_hooks';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { randn, scaledDotProductAttention, wasm } from '../../src/index.js';
import { median } from '../../src/lab/stats.js';

/**
 * A diagnostic, not a benchmark: with docs/notes/2026-12-07-plain-decode-probe.patch
 * applied (to main from 9156bc0 on; 2026-12-06-plain-decode-probe.patch is the
 * same probe for the code of that day, as docs/performance.md used it), where a decoding call with plain K and V spends its time (the copy
 * loop, what the caller runs after it, the wait for the workers) and how often
 * the workers sleep on the ready count and are notified. Medians over rounds.
 *
 *   git apply docs/notes/2026-12-07-plain-decode-probe.patch && npm run build:wasm
 *   npx tsx tools/bench/decode-phases.ts [--hq 8] [--hkv 8] [--s 4096] [--threads 2] [--rounds 30]
 */
const { values } = parseArgs({ options: {
  hq: { type: 'string', default: '8' }, hkv: { type: 'string', default: '8' }, s: { type: 'string', default: '4096' },
  threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '30' },
} });
const [hq, hkv, s, e] = [Number(values.hq), Number(values.hkv), Number(values.s), 128];
wasm.setThreads(Number(values.threads));
const q = randn([1, hq, 1, e], { seed: 1 });
const k = randn([1, hkv, s, e], { seed: 2 });
const v = randn([1, hkv, s, e], { seed: 3 });
const probe: Record<string, number>[] = [];
(globalThis as { __probe?: unknown }).__probe = probe;
const call = () => scaledDotProductAttention(q, k, v, { enableGqa: hq !== hkv });
for (let i = 0; i < 3; i++) call();
probe.length = 0;
const callMs: number[] = [];
for (let r = 0; r < Number(values.rounds); r++) {
  await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    call();
    if (i > 0) callMs.push(performance.now() - t0);
    else probe.pop();
  }
}
if (probe.length === 0) throw new Error('no probe records: apply docs/notes/2026-12-07-plain-decode-probe.patch and npm run build:wasm');
const fields = Object.fromEntries(Object.keys(probe[0]).map((key) => [key, Number(median(probe.map((x) => x[key])).toFixed(3))]));
console.log(JSON.stringify({ shape: `${hq}/${hkv}x${s}x${e}`, threads: Number(values.threads), load: os.loadavg().map((x) => Number(x.toFixed(2))), callMs: Number(median(callMs).toFixed(3)), ...fields }));
process.exit(0);
