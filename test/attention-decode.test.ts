import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createKvCache, randn, scaledDotProductAttention, tensor, wasm } from '../src/index.js';
import { residentOffset } from '../src/attention/wasm/resident.js';

// The wasm decode path's storage: a KV cache whose keys and values live in
// the kernels' memory, read there without a copy. (Its numbers are checked
// with every other backend's by the shared cases and decode properties.)
const available = wasm.info().available && wasm.info().threads > 1;

describe('wasm decode and resident KV caches', { skip: available ? false : 'needs the threaded wasm kernels' }, () => {
  it("keeps a float32 or half cache's keys and values in the kernels' memory, a float64 one in an ordinary array", () => {
    for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
      const cache = createKvCache({ batch: 1, heads: 2, headDim: 8, maxLength: 5, dtype });
      assert.notEqual(residentOffset(cache.keys.data as Float32Array), null, dtype);
      assert.notEqual(residentOffset(cache.values.data as Float32Array), null, dtype);
      assert.ok(cache.keys.data.every((x) => x === 0), `${dtype}: starts zeroed`);
    }
    assert.equal(residentOffset(createKvCache({ batch: 1, heads: 1, headDim: 4, maxLength: 3, dtype: 'float64' }).keys.data as Float64Array), null);
  });

  it('a decoding step over a resident cache copies neither keys nor values: memory grows by far less than K and V', () => {
    const [heads, maxLength, e] = [8, 8192, 64];
    const cache = createKvCache({ batch: 1, heads, headDim: e, maxLength });
    cache.append(randn([1, heads, maxLength, e], { seed: 1 }), randn([1, heads, maxLength, e], { seed: 2 }));
    const before = wasm.info().memoryBytes;
    scaledDotProductAttention(randn([1, heads, 1, e], { seed: 3 }), cache.keys, cache.values, { keyLengths: cache.lengths, impl: 'wasm' });
    const grown = wasm.info().memoryBytes - before;
    const kvBytes = 2 * cache.keys.data.byteLength;
    assert.ok(grown < kvBytes / 8, `memory grew by ${grown} bytes during the call; K and V hold ${kvBytes}`);
  });

  it('gives the same bytes from a resident cache as from the same values in ordinary tensors, and keeps its values when memory grows', () => {
    const cache = createKvCache({ batch: 2, heads: 2, headDim: 12, valueDim: 7, maxLength: 1500 });
    const k = randn([2, 2, 1300, 12], { seed: 4 });
    const v = randn([2, 2, 1300, 7], { seed: 5 });
    cache.append(k, v);
    const copy = (x: typeof cache.keys) => tensor(Float32Array.from(x.data), x.shape, { dtype: 'float32' });
    const keysBefore = Float32Array.from(cache.keys.data);
    // A large call grows the shared memory: the cache's views stay valid.
    const big = randn([1, 4, 2048, 64], { seed: 6 });
    scaledDotProductAttention(big, big, big, { impl: 'wasm' });
    assert.deepEqual(cache.keys.data, keysBefore);
    const q = randn([2, 4, 3, 12], { seed: 7 });
    const options = { keyLengths: cache.lengths, isCausal: true, enableGqa: true, impl: 'wasm' as const };
    const resident = scaledDotProductAttention(q, cache.keys, cache.values, options);
    const ordinary = scaledDotProductAttention(q, copy(cache.keys), copy(cache.values), options);
    assert.deepEqual(resident.data, ordinary.data);
  });

  it('copies plain K and V in while the workers already run the chunks copied: the same bytes as from a resident cache', async () => {
    // Large enough that the job wakes the workers (the copy then overlaps their work).
    const [hkv, s, e] = [2, 20000, 64];
    const cache = createKvCache({ batch: 1, heads: hkv, headDim: e, maxLength: s + 100 });
    const k = randn([1, hkv, s, e], { seed: 11 });
    const v = randn([1, hkv, s, e], { seed: 12 });
    cache.append(k, v);
    const q = randn([1, 8, 2, e], { seed: 13 });
    const fromCache = scaledDotProductAttention(q, cache.keys, cache.values, { keyLengths: cache.lengths, enableGqa: true, isCausal: true, impl: 'wasm' });
    // Workers start asynchronously with the first call that wakes them: try until they have taken part.
    let joined = false;
    for (let attempt = 0; attempt < 30 && !joined; attempt++) {
      const before = wasm.info().workerTasks;
      const plain = scaledDotProductAttention(q, k, v, { enableGqa: true, isCausal: true, impl: 'wasm' });
      assert.deepEqual(plain.data, fromCache.data);
      joined = wasm.info().workerTasks > before;
      if (!joined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(joined, 'the workers took part');
  });

  it('gives bit-identical decode results on 1 and 2 threads (the key chunks depend on the shape only)', () => {
    const q = randn([1, 8, 1, 64], { seed: 8 });
    const k = randn([1, 2, 5000, 64], { seed: 9 });
    const v = randn([1, 2, 5000, 64], { seed: 10 });
    const run = () => scaledDotProductAttention(q, k, v, { enableGqa: true, impl: 'wasm' }).data;
    wasm.setThreads(1);
    const one = run();
    wasm.setThreads(2);
    assert.deepEqual(run(), one);
  });
});
