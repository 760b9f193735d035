import { parseArgs } from 'node:util';
import { randn, scaledDotProductAttention, wasm } from '../../src/index.js';
import { ortCalls, parseDecodeShape } from '../../src/bench/decode.js';
import { loadPeer, type Ort } from '../../src/bench/peers.js';
import { quiet } from '../../src/bench/quiet.js';
import { alternating, quietBursts, type Call } from './protocols.js';

/**
 * One decoding step on the default path (plain tensors, as a user calls it)
 * against onnxruntime-web's unfused decode graph and a Float32Array.set copy
 * of K and V, in one process, alternating and in quiet bursts (the hot
 * calls: protocols.ts).
 *
 *   npx tsx tools/bench/decode-alt.ts [--shape decode-8x4096x128,decode-8x32768x128] [--rounds 21]
 */
const { values } = parseArgs({ options: { shape: { type: 'string', default: 'decode-8x4096x128,decode-32/8x4096x128' }, rounds: { type: 'string', default: '21' } } });
const rounds = Number(values.rounds);
for (const name of values.shape.split(',')) {
  const sh = parseDecodeShape(name);
  const q = randn([1, sh.hq, sh.l, sh.e], { seed: 1 });
  const k = randn([1, sh.hkv, sh.s, sh.e], { seed: 2 });
  const v = randn([1, sh.hkv, sh.s, sh.e], { seed: 3 });
  const gqa = { enableGqa: sh.hq !== sh.hkv };
  const expected = scaledDotProductAttention(q, k, v, gqa).data as Float32Array;
  const host = { ort: () => loadPeer<Ort>('onnxruntime-web'), bandwidth: { trial: async () => 0 }, quiet, threads: 2 };
  const ort = await ortCalls(sh, q, k, v, host, expected);
  const target = new Float32Array(k.size + v.size);
  const calls: Record<string, Call> = {
    scaledot: () => scaledDotProductAttention(q, k, v, gqa),
    'ort-web-unfused': ort.calls['ort-web-unfused'],
    copy: () => { target.set(k.data, 0); target.set(v.data, k.size); },
  };
  for (const c of Object.values(calls)) for (let i = 0; i < 3; i++) await c();
  const alt = await alternating(calls, rounds);
  const hot = Object.fromEntries(Object.entries(await quietBursts(calls, rounds)).map(([c, t]) => [c, t.hot]));
  const fmt = (m: Record<string, number>) =>
    `${Object.entries(m).map(([c, x]) => `${c} ${x.toFixed(2)}`).join(', ')}; ort ÷ scaledot ${(m['ort-web-unfused'] / m.scaledot).toFixed(2)}x, scaledot ÷ copy ${(m.scaledot / m.copy).toFixed(2)}`;
  console.log(`${name} (${wasm.info().path}):`);
  console.log(`  alternating ms: ${fmt(alt)}`);
  console.log(`  quiet, hot  ms: ${fmt(hot)}`);
  await ort.close();
}
process.exit(0);
