import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createKvCache, randn, scaledDotProductAttention, tensor, wasm } from '../src/index.js';
import { refAttention } from './helpers/attention-reference.js';
import { assertClose, maxAbs, outputTolerance } from './helpers/close.js';

// A decoding call over a KV cache (K and V resident in the kernels' memory)
// on more than one thread: the calling thread takes tasks from the far end of
// the job while the workers take them from the front (KernelRuntime.run). A
// task run by no one leaves the previous call's partial in place; so each
// call here reads a fresh cache whose values differ from call to call and
// from one 256-key chunk to the next, and must match the float64 formula, and
// match bit for bit what one thread computes (the chunking, and so each
// partial's sums, does not depend on who runs it).

const available = wasm.info().available && wasm.info().threads > 1;

describe('wasm decode over a KV cache: the caller from the far end, the workers from the front', { skip: available ? false : 'needs the threaded wasm kernels' }, () => {
  it('runs every task once: each call matches the float64 formula on 2 threads, and equals the 1-thread result', () => {
    const e = 64;
    // Large enough to wake the workers (decodeWork above the parallel threshold), with several chunks per kv head.
    for (const [hq, hkv, s] of [[2, 2, 4096 + 256], [8, 2, 8192]]) {
      const q = randn([1, hq, 1, e], { seed: 5 });
      for (let call = 0; call < 6; call++) {
        const k = randn([1, hkv, s, e], { seed: 200 + 2 * call });
        const v0 = randn([1, hkv, s, e], { seed: 201 + 2 * call });
        const v = tensor(Float32Array.from(v0.data, (x, i) => x + call + Math.floor((Math.floor(i / e) % s) / 256)), v0.shape, { dtype: 'float32' });
        const cache = createKvCache({ batch: 1, heads: hkv, headDim: e, maxLength: s });
        cache.append(k, v);
        const options = { enableGqa: true, keyLengths: cache.lengths, impl: 'wasm' as const };
        wasm.setThreads(2);
        const two = scaledDotProductAttention(q, cache.keys, cache.values, options);
        wasm.setThreads(1);
        const one = scaledDotProductAttention(q, cache.keys, cache.values, options);
        const exact = refAttention(q, k, v);
        assertClose(two.data, exact.output, (i) =>
          outputTolerance('float32', s, e, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / e)], maxAbs(v.data)),
        `${hq}/${hkv} heads, call ${call}`);
        assert.deepEqual(two.data, one.data, `${hq}/${hkv} heads, call ${call}: 2 threads and 1 differ`);
      }
    }
    wasm.setThreads(2);
  });
});
