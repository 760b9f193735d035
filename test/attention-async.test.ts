import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ScaledotError, randn, scaledDotProductAttention, scaledDotProductAttentionAsync,
  scaledDotProductAttentionBackward, scaledDotProductAttentionBackwardAsync, scaledDotProductAttentionWithLse,
  scaledDotProductAttentionWithLseAsync, webgpu,
} from '../src/index.js';
import { prepareAttention } from '../src/attention/options.js';
import { resolveBackend } from '../src/attention/backends.js';
import { WEBGPU_AUTO_MIN_FLOPS, webGpuPays } from '../src/attention/webgpu/backend.js';
import type { AsyncPasses } from '../src/attention/problem.js';
import { CASES, caseInputs, caseOptions } from './helpers/attention-cases.js';
import { ASYNC_IMPLS, BACKENDS, IMPLS, dtypesOf } from './helpers/backends.js';

// The async entry points in Node: for a sync impl they resolve exactly what the sync form returns;
// impl 'webgpu' has no device here, and says so. Its numbers are tested in Chromium (attention-webgpu*.test.ts).

const sameBytes = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((x, i) => Object.is(x, b[i]));

describe('attention: the async entry points', () => {
  it('resolve the sync result, bit for bit, for every sync impl (forward, lse, backward, saved)', async () => {
    const c = CASES.find((x) => x.name === 'all options: softcap, ALiBi, window, keyLengths, sinks, GQA, mask, dropout')!;
    for (const impl of ['auto', ...IMPLS]) {
      for (const dtype of impl === 'auto' ? ['float32' as const] : dtypesOf(impl)) {
        const x = caseInputs(c, dtype);
        const options = { ...caseOptions(c, x.attnMask), impl };
        const sync = scaledDotProductAttentionWithLse(x.q, x.k, x.v, options);
        const got = await scaledDotProductAttentionWithLseAsync(x.q, x.k, x.v, options);
        assert.ok(sameBytes(got.output.data, sync.output.data) && sameBytes(got.lse.data, sync.lse.data), `${impl} ${dtype} forward`);
        assert.ok(sameBytes((await scaledDotProductAttentionAsync(x.q, x.k, x.v, options)).data, scaledDotProductAttention(x.q, x.k, x.v, options).data));
        const gradsSync = scaledDotProductAttentionBackward(x.q, x.k, x.v, x.gradOutput, options);
        for (const saved of [undefined, got]) {
          const grads = await scaledDotProductAttentionBackwardAsync(x.q, x.k, x.v, x.gradOutput, { ...options, saved });
          for (const name of ['dq', 'dk', 'dv', 'dsinks'] as const) {
            assert.deepEqual(grads[name]!.shape, gradsSync[name]!.shape);
            assert.ok(sameBytes(grads[name]!.data, gradsSync[name]!.data), `${impl} ${dtype} ${name}${saved ? ' from saved' : ''}`);
          }
        }
      }
    }
  });

  it('reject bad input with the same ScaledotError as the sync forms', async () => {
    const q = randn([1, 2, 3, 4]);
    const k = randn([1, 2, 5, 8]);
    for (const call of [() => scaledDotProductAttentionAsync(q, k, k), () => scaledDotProductAttentionWithLseAsync(q, k, k), () => scaledDotProductAttentionBackwardAsync(q, k, k, q)]) {
      await assert.rejects(call(), (e: unknown) => e instanceof ScaledotError && e.code === 'E_SHAPE' && /last dimensions \(E\) must match/.test(e.message));
    }
    await assert.rejects(scaledDotProductAttentionAsync(q, q, q, { impl: 'gpu' }), (e: unknown) => e instanceof ScaledotError && e.code === 'E_OPTION' && e.message.includes('webgpu'));
  });
});

describe('attention: impl webgpu outside a browser', () => {
  it('is listed, and the sync forms refuse it naming the async form, before any device is asked for', () => {
    assert.deepEqual(ASYNC_IMPLS, ['webgpu']);
    const q = randn([1, 1, 3, 4]);
    for (const [fn, call] of [
      ['scaledDotProductAttention', () => scaledDotProductAttention(q, q, q, { impl: 'webgpu' })],
      ['scaledDotProductAttentionWithLse', () => scaledDotProductAttentionWithLse(q, q, q, { impl: 'webgpu' })],
      ['scaledDotProductAttentionBackward', () => scaledDotProductAttentionBackward(q, q, q, randn([1, 1, 3, 4]), { impl: 'webgpu' })],
    ] as const) {
      assert.throws(call, (e: unknown) => e instanceof ScaledotError && e.code === 'E_OPTION' && e.message.startsWith(`${fn}: impl 'webgpu'`) && e.message.includes(`call ${fn}Async`), fn);
    }
  });

  it('says why it is unavailable, before and after initWebGpuAttention(), and the async forms reject with that reason', async () => {
    const before = webgpu.info();
    if (!before.initialised) assert.match(before.reason ?? '', /webgpu\.init\(\) \(initWebGpuAttention\) has not been called/);
    const info = await webgpu.init();
    assert.equal(info.available, false);
    assert.equal(info.initialised, true);
    assert.match(info.reason ?? '', /no navigator\.gpu: this runtime \(Node\) has no WebGPU/);
    assert.equal(await webgpu.init(), info, 'asked once');
    const q = randn([1, 1, 3, 4]);
    await assert.rejects(scaledDotProductAttentionAsync(q, q, q, { impl: 'webgpu' }), (e: unknown) =>
      e instanceof ScaledotError && e.code === 'E_OPTION' && e.message.includes("impl 'webgpu' is unavailable: no navigator.gpu"));
    // 'auto' then runs what the sync form runs.
    assert.ok(sameBytes((await scaledDotProductAttentionAsync(q, q, q)).data, scaledDotProductAttention(q, q, q).data));
  });

  it("'auto''s size threshold: a documented default, adjustable with webgpu.setAutoMinFlops, never a CPU adapter", () => {
    assert.equal(webgpu.autoMinFlops(), WEBGPU_AUTO_MIN_FLOPS);
    const q = randn([1, 2, 8, 4]);
    const p = prepareAttention('test', q, q, q, {});
    const flops = 4 * 1 * 2 * 8 * 8 * 4;
    const gpuAdapter = { vendor: 'nvidia', architecture: 'hopper' };
    assert.equal(webGpuPays(p, gpuAdapter, webgpu.autoMinFlops()), flops >= WEBGPU_AUTO_MIN_FLOPS);
    const before = webgpu.setAutoMinFlops(flops);
    try {
      assert.equal(before, WEBGPU_AUTO_MIN_FLOPS);
      assert.equal(webgpu.autoMinFlops(), flops);
      assert.equal(webGpuPays(p, gpuAdapter, webgpu.autoMinFlops()), true);
      assert.equal(webGpuPays(p, gpuAdapter, flops + 1), false);
      assert.equal(webGpuPays(p, { vendor: 'google', architecture: 'swiftshader' }, 0), false);
      assert.equal(webGpuPays(p, null, 0), false);
      for (const bad of [-1, Number.NaN, '8' as unknown as number]) {
        assert.throws(() => webgpu.setAutoMinFlops(bad), (e: unknown) => e instanceof ScaledotError && e.code === 'E_OPTION' && /setAutoMinFlops: flops is .*expected a number >= 0/.test(e.message));
      }
      assert.equal(webgpu.autoMinFlops(), flops, 'a refused value changes nothing');
    } finally {
      webgpu.setAutoMinFlops(before);
    }
  });

  it("'auto' takes webgpu only from an async call, only where it supports the problem and only where it pays", () => {
    const gpu = BACKENDS.find((b) => b.name === 'webgpu')!;
    const passes = gpu.async as AsyncPasses;
    const { supports } = gpu;
    const { pays } = passes;
    const q = randn([1, 2, 8, 4]);
    const p = prepareAttention('test', q, q, q, {});
    const fallback = resolveBackend('test', 'auto', p).name;
    assert.notEqual(fallback, 'webgpu');
    const pick = (supported: boolean, paid: boolean, inAsync: boolean) => {
      (gpu as { supports: typeof supports }).supports = () => supported;
      passes.pays = () => paid;
      try {
        return resolveBackend('test', 'auto', p, inAsync).name;
      } finally {
        (gpu as { supports: typeof supports }).supports = supports;
        passes.pays = pays;
      }
    };
    assert.equal(pick(true, true, true), 'webgpu');
    assert.equal(pick(true, true, false), fallback);
    assert.equal(pick(true, false, true), fallback);
    assert.equal(pick(false, true, true), fallback);
  });
});
