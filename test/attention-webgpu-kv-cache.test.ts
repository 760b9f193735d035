import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ScaledotError, createKvCache, randn, type Tensor } from '../src/index.js';
import { refAttention } from './helpers/attention-reference.js';
import { assertClose, maxAbs, outputTolerance } from './helpers/close.js';
import { browserSkip } from './helpers/browser.js';
import { openWebGpuPage, toWire, type WebGpuPage } from './helpers/webgpu.js';

// createKvCache({ impl: 'webgpu' }): keys and values kept on the GPU, each append
// uploading only its rows (src/attention/webgpu/resident.ts). Decoding over it in
// headless Chromium (SwiftShader) against the float64 reference in Node.

const BATCH = 2;
const HKV = 2;
const HQ = 4;
const E = 16;
const EV = 8;
const MAX = 70;

/** A prefill across the 32-key tile, single-row steps, and one element alone: the appends a decoder makes. */
function appends(): { k: Tensor; v: Tensor; batchIndex?: number }[] {
  let seed = 10;
  const step = (t: number, batchIndex?: number) => {
    const lead = batchIndex === undefined ? [BATCH, HKV] : [HKV];
    return { k: randn([...lead, t, E], { seed: seed++ }), v: randn([...lead, t, EV], { seed: seed++ }), ...(batchIndex === undefined ? {} : { batchIndex }) };
  };
  return [step(33), step(1), step(2, 1), step(1), step(1, 0), step(1)];
}

describe('createKvCache impl option in Node', () => {
  it('refuses impl webgpu without a device (with the reason) and an unknown impl, before allocating', () => {
    const base = { batch: 1, heads: 1, headDim: 4, maxLength: 8 };
    assert.throws(() => createKvCache({ ...base, impl: 'webgpu' }), (e: unknown) =>
      e instanceof ScaledotError && e.code === 'E_OPTION' && /impl 'webgpu' is unavailable: .*webgpu\.init\(\)/.test(e.message));
    assert.throws(() => createKvCache({ ...base, impl: 'cuda' as never }), (e: unknown) =>
      e instanceof ScaledotError && e.code === 'E_OPTION' && /impl is the string "cuda"; expected 'webgpu' or none/.test(e.message));
  });
});

describe('createKvCache({ impl: "webgpu" }) in headless Chromium (SwiftShader)', { skip: browserSkip }, () => {
  let gpu: WebGpuPage;
  before(async () => { gpu = await openWebGpuPage(); });
  after(async () => { await gpu?.close(); });

  const options = { batch: BATCH, heads: HKV, headDim: E, valueDim: EV, maxLength: MAX };
  const wireAppends = () => appends().map((a) => ({ k: toWire(a.k), v: toWire(a.v), ...(a.batchIndex === undefined ? {} : { batchIndex: a.batchIndex }) }));

  /** The same appends on a CPU cache: the keys, values and lengths the GPU cache must hold. */
  function cpuCache() {
    const cache = createKvCache(options);
    for (const a of appends()) cache.append(a.k, a.v, a.batchIndex === undefined ? {} : { batchIndex: a.batchIndex });
    return cache;
  }

  for (const [l, overwrite] of [[1, false], [3, false], [1, true]] as const) {
    it(`attends over the cache as the float64 formula does: L = ${l}, GQA, causal${overwrite ? ', with the CPU copy zeroed (so the GPU copy is what was read)' : ''}`, async () => {
      const q = randn([BATCH, HQ, l, E], { seed: 99 + l });
      const got = await gpu.call('kvCache', options, wireAppends(), toWire(q), { isCausal: true, enableGqa: true }, overwrite);
      const cpu = cpuCache();
      // The appends reached the cache as on the CPU, byte for byte.
      assert.deepEqual(got.lengths, Array.from(cpu.lengths));
      assert.deepEqual(got.keys.data, Array.from(cpu.keys.data));
      assert.deepEqual(got.values.data, Array.from(cpu.values.data));
      const exact = refAttention(q, cpu.keys, cpu.values, { isCausal: true, keyLengths: Array.from(cpu.lengths) });
      assert.deepEqual(got.output.shape, [BATCH, HQ, l, EV]);
      assertClose(got.output.data, exact.output, (i) =>
        outputTolerance('float32', MAX, E, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / EV)], maxAbs(cpu.values.data)), `L = ${l} output`);
    });
  }
});
