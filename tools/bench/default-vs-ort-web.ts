import { parseArgs } from 'node:util';
import { randn, scaledDotProductAttention, wasm } from '../../src/index.js';
import { onnxImpl } from '../../src/bench/impls-onnx.js';
import { loadPeer, type Ort } from '../../src/bench/peers.js';
import { quiet } from '../../src/bench/quiet.js';
import { parseShape } from '../../src/bench/shapes.js';
import { median } from '../../src/lab/index.js';

/**
 * The library's default path (scaledDotProductAttention, impl 'auto', as a
 * user calls it: no engine flags) against onnxruntime-web's two graphs, in
 * one process, under two protocols:
 *   alternating: one call of each in turn, back to back, as a simple check
 *                would time them; onnxruntime-web's threads keep spinning for
 *                tens of ms after each call, so whatever runs next shares the
 *                cores with them;
 *   quiet:       the harness's protocol (src/bench/case.ts): a burst of calls
 *                per implementation once the process has gone quiet, the
 *                first call reported apart (threads asleep), the rest timed.
 *
 *   npm run bench:peers-install
 *   node --import tsx tools/bench/default-vs-ort-web.ts --shape 8x256x64,1x1024x64,8x1024x64,1x4096x64
 */
const { values } = parseArgs({ options: { shape: { type: 'string', default: '8x256x64,1x1024x64,8x1024x64,1x4096x64' }, rounds: { type: 'string', default: '15' } } });
const ortWeb = () => loadPeer<Ort>('onnxruntime-web');
const missing = ortWeb();
if ('missing' in missing) throw new Error(missing.missing);
const rounds = Number(values.rounds);

type Call = () => Promise<unknown>;

async function alternating(calls: Record<string, Call>): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, call] of Object.entries(calls)) {
      const t0 = performance.now();
      await call();
      times[name].push(performance.now() - t0);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, t]) => [k, median(t)]));
}

async function quietBursts(calls: Record<string, Call>): Promise<Record<string, { hot: number; cold: number }>> {
  const hot: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  const cold: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  for (let r = 0; r < Math.ceil(rounds / 2); r++) {
    for (const [name, call] of Object.entries(calls)) {
      await quiet();
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await call();
        (i === 0 ? cold : hot)[name].push(performance.now() - t0);
      }
    }
  }
  return Object.fromEntries(Object.keys(calls).map((k) => [k, { hot: median(hot[k]), cold: median(cold[k]) }]));
}

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
  const alt = await alternating(calls);
  const qb = await quietBursts(calls);
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
