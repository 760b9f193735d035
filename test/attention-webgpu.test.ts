import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dtypeInfo, randn, tensor, zeros, type FloatDType, type Tensor } from '../src/index.js';
import { rounder } from '../src/kernels.js';
import { CASES, caseInputs, caseOptions, type AttentionCase, type AttentionInputs } from './helpers/attention-cases.js';
import { refAttention, refAttentionBackward } from './helpers/attention-reference.js';
import { refOptions } from './helpers/ref-options.js';
import { assertClose, gradTolerance, lseTolerance, maxAbs, outputTolerance } from './helpers/close.js';
import { browserSkip } from './helpers/browser.js';
import { openWebGpuPage, toWire, type WebGpuPage, type Wire } from './helpers/webgpu.js';

// The shared attention suite (attention.test.ts) on impl 'webgpu', which runs only in a browser:
// the library computes in headless Chromium on SwiftShader's WebGPU, the float64 reference and
// the tolerances (the float32 backends' own) are evaluated here in Node.

const DTYPES: FloatDType[] = ['float32', 'float16', 'bfloat16'];
const GRADIENT_CASES = CASES.filter((c) => c.isCausal || c.mask || c.enableGqa || c.dropoutP || c.sinks || c.window || c.softcap || c.alibiSlopes || c.keyLengths);

function dims(c: AttentionCase) {
  const r = c.q.length;
  return { l: c.q[r - 2], s: c.k[r - 2], e: c.q[r - 1], ev: c.v[r - 1] };
}

function representable(data: ArrayLike<number>, dtype: FloatDType): boolean {
  const round = rounder(dtype);
  for (let i = 0; i < data.length; i++) if (!Object.is(round(data[i]), data[i])) return false;
  return true;
}

/** A case's options for the page: tensors as wire arrays, impl 'webgpu'. */
function wireOptions(c: AttentionCase, inputs: AttentionInputs, extra: Record<string, unknown> = {}) {
  const o = caseOptions(c, inputs.attnMask);
  return { ...o, ...(inputs.attnMask ? { attnMask: toWire(inputs.attnMask) } : {}), impl: 'webgpu', ...extra };
}

describe('scaledDotProductAttention [webgpu] in headless Chromium (SwiftShader)', { skip: browserSkip }, () => {
  let gpu: WebGpuPage;
  before(async () => { gpu = await openWebGpuPage(); });
  after(async () => { await gpu?.close(); });

  const forward = (x: AttentionInputs, options: Record<string, unknown>) => gpu.call('forward', toWire(x.q), toWire(x.k), toWire(x.v), options as never);
  const backward = (x: AttentionInputs, options: Record<string, unknown>, saved?: { output: Wire; lse: Wire }) =>
    gpu.call('backward', toWire(x.q), toWire(x.k), toWire(x.v), toWire(x.gradOutput), options as never, saved as never);

  it('reports a WebGPU adapter, its limits and features', async () => {
    const info = await gpu.call('info');
    assert.equal(info.available, true);
    assert.equal(info.reason, null);
    assert.ok(info.adapter !== null && info.adapter.vendor.length > 0);
    assert.ok(info.limits !== null && info.limits.maxComputeWorkgroupStorageSize >= 16384);
  });

  for (const dtype of DTYPES) {
    it(`matches the float64 formula in ${dtype} on every case (output, lse, dtype, shapes)`, async () => {
      for (const c of CASES) {
        const inputs = caseInputs(c, dtype);
        const { output, lse } = await forward(inputs, wireOptions(c, inputs));
        const exact = refAttention(inputs.q, inputs.k, inputs.v, refOptions(caseOptions(c, inputs.attnMask)));
        const { s, e, ev } = dims(c);
        const what = `${c.name} ${dtype}`;
        assert.deepEqual(output.shape, [...c.q.slice(0, -1), ev], `${what}: output shape`);
        assert.deepEqual(lse.shape, c.q.slice(0, -1), `${what}: lse shape`);
        assert.equal(output.dtype, dtype, `${what}: output dtype`);
        assert.equal(lse.dtype, 'float64', `${what}: lse dtype`);
        assert.ok(representable(output.data, dtype), `${what}: output values are rounded to ${dtype}`);
        assertClose(output.data, exact.output, (i) =>
          outputTolerance(dtype, s, e, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / ev)], maxAbs(inputs.v.data)), `${what} output`);
        assertClose(lse.data, exact.lse, (i) => lseTolerance(dtype, s, e, exact.lse[i], exact.scoreMag[i]), `${what} lse`);
      }
    });
  }

  it('scaledDotProductAttentionAsync returns the output of the WithLse variant', async () => {
    const c = CASES.find((x) => x.name === 'causal with a bool padding mask')!;
    const inputs = caseInputs(c, 'float32');
    const output = await gpu.call('output', toWire(inputs.q), toWire(inputs.k), toWire(inputs.v), wireOptions(c, inputs) as never);
    const withLse = await forward(inputs, wireOptions(c, inputs));
    assert.deepEqual(output, withLse.output);
  });

  it('gives a fully masked row zeros, an lse of -Infinity and zero gradients, never NaN', async () => {
    const q = randn([1, 2, 4, 3], { seed: 3 });
    const k = randn([1, 2, 3, 3], { seed: 4 });
    const v = randn([1, 2, 3, 2], { seed: 5 });
    const dO = randn([1, 2, 4, 2], { seed: 6 });
    const x = { q, k, v, gradOutput: dO };
    const rowMasked = [true, false, true, true];
    const boolMask = tensor(rowMasked.flatMap((keep) => [keep, keep, keep].map(Number)), [4, 3], { dtype: 'bool' });
    const addMask = tensor(rowMasked.flatMap((keep) => [0, 0, 0].map((z) => (keep ? z : -Infinity))), [4, 3]);
    for (const options of [{ attnMask: toWire(boolMask) }, { attnMask: toWire(addMask) }, { isCausal: true }]) {
      const masked = 'isCausal' in options ? 0 : 1;
      const { output, lse } = await forward(x, { ...options, impl: 'webgpu' });
      const grads = await backward(x, { ...options, impl: 'webgpu' });
      for (const h of [0, 1]) {
        assert.equal(lse.data[h * 4 + masked], -Infinity);
        assert.deepEqual(output.data.slice((h * 4 + masked) * 2, (h * 4 + masked) * 2 + 2), [0, 0]);
        assert.deepEqual(grads.dq.data.slice((h * 4 + masked) * 3, (h * 4 + masked) * 3 + 3), [0, 0, 0]);
      }
      for (const t of [output, lse, grads.dq, grads.dk, grads.dv]) assert.ok(t.data.every((y) => !Number.isNaN(y)));
    }
    const none = await backward(x, { attnMask: toWire(zeros([4, 3], { dtype: 'bool' })), impl: 'webgpu' });
    for (const t of [none.dq, none.dk, none.dv]) assert.ok(t.data.every((y) => y === 0));
  });

  describe('backward', () => {
    for (const dtype of DTYPES) {
      const cases = dtype === 'float32' ? CASES : GRADIENT_CASES;
      it(`matches the chain-rule formula in ${dtype} on ${dtype === 'float32' ? 'every case' : 'the gradient cases'}`, async () => {
        for (const c of cases) {
          const inputs = caseInputs(c, dtype, 2);
          const grads = await backward(inputs, wireOptions(c, inputs));
          const opts = refOptions(caseOptions(c, inputs.attnMask));
          const exact = refAttentionBackward(inputs.q, inputs.k, inputs.v, inputs.gradOutput, opts);
          const { l, s, e, ev } = dims(c);
          const mag = maxAbs(refAttention(inputs.q, inputs.k, inputs.v, opts).scoreMag);
          for (const name of ['dq', 'dk', 'dv'] as const) {
            const like = inputs[name === 'dq' ? 'q' : name === 'dk' ? 'k' : 'v'];
            assert.deepEqual(grads[name].shape, like.shape);
            assert.equal(grads[name].dtype, dtype);
            assert.ok(representable(grads[name].data, dtype), `${c.name} ${name} is rounded to ${dtype}`);
            const scale = maxAbs(exact[name]);
            assertClose(grads[name].data, exact[name], (i) => gradTolerance(dtype, l + s + e + ev, mag, exact[name][i], scale), `${c.name} ${dtype} ${name}`);
          }
          if (!c.sinks) {
            assert.equal(grads.dsinks, null, `${c.name}: no dsinks without sinks`);
            continue;
          }
          assert.ok(grads.dsinks, `${c.name}: dsinks`);
          assert.deepEqual(grads.dsinks.shape, [c.sinks.length]);
          assert.equal(grads.dsinks.dtype, 'float32');
          assert.ok(maxAbs(exact.dsinks) > 0, `${c.name}: a dsinks that is not all zero`);
          const rows = inputs.q.size / e;
          assertClose(grads.dsinks.data, exact.dsinks, (i) => rows * gradTolerance(dtype, l + s + e + ev, mag, exact.dsinks[i], maxAbs(exact.dsinks)), `${c.name} ${dtype} dsinks`);
        }
      });
    }

    it("given the forward's saved output and lse, returns the same gradients bit for bit", async () => {
      for (const c of GRADIENT_CASES) {
        const inputs = caseInputs(c, 'float32', 5);
        const options = wireOptions(c, inputs);
        const plain = await backward(inputs, options);
        const saved = await forward(inputs, options);
        const fromSaved = await backward(inputs, options, saved);
        for (const name of ['dq', 'dk', 'dv'] as const) {
          assert.ok(plain[name].data.every((y, i) => Object.is(y, fromSaved[name].data[i])), `${c.name} ${name}: the bytes differ with saved`);
        }
      }
    });
  });

  describe('dropout', () => {
    it('is deterministic: the same seed gives the same bytes, another seed other weights', async () => {
      const c = CASES.find((x) => x.name === 'dropout 0.3')!;
      const inputs = caseInputs(c, 'float32');
      const run = async (seed: number, p = 0.3) => (await forward(inputs, { dropoutP: p, seed, impl: 'webgpu' })).output.data;
      assert.deepEqual(await run(7), await run(7));
      assert.notDeepEqual(await run(7), await run(8));
      assert.deepEqual(await run(99, 0), (await forward(inputs, { impl: 'webgpu' })).output.data);
    });

    it('keeps a fraction 1 − p of the weights (binomial, 5 sigma) and scales them by 1/(1 − p)', async () => {
      const [heads, l, s, p] = [2, 48, 64, 0.25];
      const identity = Array.from({ length: heads * s * s }, (_, i) => (Math.floor(i / s) % s === i % s ? 1 : 0));
      const x = { q: zeros([1, heads, l, 4]), k: randn([1, heads, s, 4], { seed: 1 }), v: tensor(identity, [1, heads, s, s]), gradOutput: zeros([1]) };
      const out = (await forward(x, { dropoutP: p, seed: 2024, impl: 'webgpu' })).output.data;
      const kept = out.filter((y) => y !== 0).length;
      const n = heads * l * s;
      assert.ok(Math.abs(kept - n * (1 - p)) <= 5 * Math.sqrt(n * p * (1 - p)), `kept ${kept} of ${n}, expected about ${n * (1 - p)}`);
      const keptValue = 1 / s / (1 - p);
      assert.ok(out.every((y) => y === 0 || Math.abs(y - keptValue) <= 4 * dtypeInfo('float32').eps * keptValue), 'kept weights are 1/(S(1 − p))');
    });
  });

  it('the sync entry points refuse impl webgpu with E_OPTION, naming the async form', async () => {
    const q: Tensor = randn([1, 1, 3, 4], { seed: 1 });
    const refused = await gpu.call('errorOf', 'sync', toWire(q), { impl: 'webgpu' } as never);
    assert.equal(refused?.code, 'E_OPTION');
    assert.match(refused?.message ?? '', /scaledDotProductAttention: impl 'webgpu'.*call scaledDotProductAttentionAsync/);
    assert.equal(await gpu.call('errorOf', 'async', toWire(q), { impl: 'webgpu' } as never), null);
  });
});
