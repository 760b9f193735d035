import { parseArgs } from 'node:util';
import { randn, scaledDotProductAttention, wasm } from '../../src/index.js';
import { onnxImpl } from '../../src/bench/impls-onnx.js';
import { loadPeer, type Ort } from '../../src/bench/peers.js';
import { parseShape } from '../../src/bench/shapes.js';
import { alternating, quietBursts, type Call } from './protocols.js';

/**
 * The library's default path (scaledDotProductAttention, impl 'auto', as a
 * user calls it: no engine flags) against onnxruntime-web's two graphs, in
 * one process, alternating and in quiet bursts (protocols.ts).
 *
 *   npm run bench:peers-install
 *   node --import tsx tools/bench/default-vs-ort-web.ts --shape 8x256x64,1x1024x64,8x1024x64,1x4096x64
 */
const { values } = parseArgs({ options: { shape: { type: 'string', default: '8x256x64,1x1024x64,8x1024x64,1x4096x64' }, rounds: { type: 'string', default: '15' } } });
const ortWeb = () => loadPeer<Ort>('onnxruntime-web');
const missing = ortWeb();
if ('missing' in missing) throw new Error(missing.missing);
const rounds = Number(values.rounds);

for (const shape of values.shape.split(',')) {
  const dims = parseShape(shape);
  const { heads, n, d } = dims;
  const make = (seed: number) => randn([1, heads, n, d], { seed });
  const [q, k, v, dOut] = [make(1), make(2), make(3), make(4)];
  const calls: Record<string, Call> = { scaledot: async () => scaledDotProductAttention(q, k, v, { isCausal: dims.causal }) };
  // The bench's own onnxruntime-web rows (src/bench/impls-onnx.ts), 2 threads as there.
  const inputs = { shape: dims, q: q.data as Float32Array, k: k.data as Float32Array, v: v.data as Float32Array, dOut: dOut.data as Float32Array };
  const runners = [];
  for (const [name, fused] of [['ort-web-unfused', false], ['ort-web-mha', true]] as const) {
    try {
      const runner = await onnxImpl(name, 'onnxruntime-web', fused, ortWeb, 2).setup(inputs, 'forward');
      await runner.run();
      runners.push(runner);
      calls[name] = async () => runner.run();
    } catch (err) {
      console.log(`${shape}: ${name} fails: ${(err as Error).message.split('\n')[0].slice(-80)}`);
    }
  }
  for (const call of Object.values(calls)) for (let i = 0; i < 5; i++) await call(); // warm-up
  const alt = await alternating(calls, rounds);
  const qb = await quietBursts(calls, rounds);
  const fmt = (x: number) => x.toFixed(2);
  const peers = Object.keys(calls).filter((c) => c !== 'scaledot');
  const best = (pick: (name: string) => number) => Math.min(...peers.map(pick));
  console.log(`${shape} (${wasm.info().path}):`);
  console.log(`  alternating  ms: ${Object.entries(alt).map(([c, t]) => `${c} ${fmt(t)}`).join(', ')}; vs the faster graph ${fmt(best((p) => alt[p]) / alt.scaledot)}x`);
  console.log(`  quiet, hot   ms: ${Object.entries(qb).map(([c, t]) => `${c} ${fmt(t.hot)}`).join(', ')}; vs the faster graph ${fmt(best((p) => qb[p].hot) / qb.scaledot.hot)}x`);
  console.log(`  quiet, cold  ms: ${Object.entries(qb).map(([c, t]) => `${c} ${fmt(t.cold)}`).join(', ')}; vs the faster graph ${fmt(best((p) => qb[p].cold) / qb.scaledot.cold)}x`);
  for (const runner of runners) await runner.dispose?.();
}
process.exit(0); // onnxruntime-web's threads would keep the process alive
