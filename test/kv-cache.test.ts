import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ScaledotError, attentionWeights, createKvCache, randn, scaledDotProductAttention, tensor, type FloatDType, type Tensor,
} from '../src/index.js';
import { IMPLS, dtypesOf, takesModelOptions } from './helpers/backends.js';
import { refAttention } from './helpers/attention-reference.js';
import { assertClose, maxAbs, outputTolerance } from './helpers/close.js';

/** Positions [from, to) of x (batch, heads, N, w) along N, as a new tensor. */
function slicePositions(x: Tensor, from: number, to: number): Tensor {
  const [b, h, n, w] = x.shape;
  const out: number[] = [];
  for (let bh = 0; bh < b * h; bh++) out.push(...x.data.subarray((bh * n + from) * w, (bh * n + to) * w));
  return tensor(out, [b, h, to - from, w], { dtype: x.dtype as FloatDType });
}

/** Batch element b of x (batch, ...), without the batch dimension. */
function element(x: Tensor, b: number): Tensor {
  const size = x.size / x.shape[0];
  return tensor(Array.from(x.data.subarray(b * size, (b + 1) * size)), x.shape.slice(1), { dtype: x.dtype as FloatDType });
}

describe('createKvCache', () => {
  for (const impl of IMPLS) {
    for (const dtype of dtypesOf(impl).filter((d) => takesModelOptions(impl, d))) {
      it(`decoding in chunks with the cache equals one causal prefill [${impl}, ${dtype}]`, () => {
        const arb = fc.record({
          batch: fc.integer({ min: 1, max: 2 }), hkv: fc.integer({ min: 1, max: 2 }), group: fc.integer({ min: 1, max: 3 }),
          e: fc.integer({ min: 1, max: 6 }), ev: fc.integer({ min: 1, max: 4 }), n: fc.integer({ min: 1, max: 9 }),
          spare: fc.integer({ min: 0, max: 4 }), chunks: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 9, maxLength: 9 }),
          seed: fc.integer({ min: 0, max: 1000 }),
        });
        fc.assert(fc.property(arb, ({ batch, hkv, group, e, ev, n, spare, chunks, seed }) => {
          const hq = hkv * group;
          const q = randn([batch, hq, n, e], { seed, dtype });
          const k = randn([batch, hkv, n, e], { seed: seed + 1, dtype });
          const v = randn([batch, hkv, n, ev], { seed: seed + 2, dtype });
          const prefill = scaledDotProductAttention(q, k, v, { isCausal: true, enableGqa: true, impl });
          const cache = createKvCache({ batch, heads: hkv, headDim: e, valueDim: ev, maxLength: n + spare, dtype });
          const exact = refAttention(q, k, v, { isCausal: true });
          let t = 0;
          for (const size of chunks) {
            if (t >= n) break;
            const end = Math.min(n, t + size);
            cache.append(slicePositions(k, t, end), slicePositions(v, t, end));
            assert.deepEqual(Array.from(cache.lengths), new Array(batch).fill(end));
            const step = scaledDotProductAttention(slicePositions(q, t, end), cache.keys, cache.values, {
              keyLengths: cache.lengths, isCausal: true, enableGqa: true, impl,
            });
            const expected = slicePositions(prefill, t, end);
            const rows = slicePositions(tensor(exact.output, prefill.shape, { dtype: 'float64' }), t, end);
            const absSum = slicePositions(tensor(exact.absSum, prefill.shape, { dtype: 'float64' }), t, end);
            assertClose(step.data, expected.data, (i) => 2 * outputTolerance(dtype, n, e, rows.data[i], absSum.data[i], maxAbs(exact.scoreMag), maxAbs(v.data)), `positions ${t}..${end}`);
            t = end;
          }
        }), { numRuns: 25 });
      });
    }
  }

  it('appends one batch element at a time; lengths work as keyLengths', () => {
    const cache = createKvCache({ batch: 2, heads: 2, headDim: 3, valueDim: 2, maxLength: 6, dtype: 'float64' });
    const k0 = randn([2, 4, 3], { seed: 1, dtype: 'float64' });
    const v0 = randn([2, 4, 2], { seed: 2, dtype: 'float64' });
    const k1 = randn([2, 2, 3], { seed: 3, dtype: 'float64' });
    const v1 = randn([2, 2, 2], { seed: 4, dtype: 'float64' });
    cache.append(k0, v0, { batchIndex: 0 });
    cache.append(k1, v1, { batchIndex: 1 });
    assert.deepEqual(Array.from(cache.lengths), [4, 2]);
    const q = randn([2, 2, 1, 3], { seed: 5, dtype: 'float64' });
    const out = scaledDotProductAttention(q, cache.keys, cache.values, { keyLengths: cache.lengths, isCausal: true });
    for (const [b, kb, vb] of [[0, k0, v0], [1, k1, v1]] as const) {
      const alone = scaledDotProductAttention(element(q, b), kb, vb, { isCausal: true });
      assertClose(element(out, b).data, alone.data, 1e-14, `element ${b}`);
    }
  });

  it('refuses to append past maxLength and leaves the cache unchanged; reset empties it', () => {
    const cache = createKvCache({ batch: 2, heads: 1, headDim: 2, maxLength: 3 });
    cache.append(randn([1, 2, 2], { seed: 1 }), randn([1, 2, 2], { seed: 2 }), { batchIndex: 1 });
    cache.append(randn([2, 1, 1, 2], { seed: 3 }), randn([2, 1, 1, 2], { seed: 4 }));
    const before = { keys: Array.from(cache.keys.data), values: Array.from(cache.values.data), lengths: Array.from(cache.lengths) };
    // Element 1 holds 3: one more to every element must fail whole, not write element 0 first.
    assert.throws(() => cache.append(randn([2, 1, 1, 2], { seed: 5 }), randn([2, 1, 1, 2], { seed: 6 })),
      (err: unknown) => err instanceof ScaledotError && err.code === 'E_SHAPE' && /maxLength 3/.test(err.message) && /nothing was written/.test(err.message));
    assert.throws(() => cache.append(randn([1, 1, 2]), randn([1, 1, 2]), { batchIndex: 1 }), /maxLength/);
    assert.deepEqual({ keys: Array.from(cache.keys.data), values: Array.from(cache.values.data), lengths: Array.from(cache.lengths) }, before);
    // Bad shapes and dtypes are refused before any write too.
    assert.throws(() => cache.append(randn([2, 1, 1, 3]), randn([2, 1, 1, 2])), (err: unknown) => err instanceof ScaledotError && err.code === 'E_SHAPE' && /\[2,1,1,3\]/.test(err.message));
    assert.throws(() => cache.append(randn([2, 1, 1, 2], { dtype: 'float64' }), randn([2, 1, 1, 2], { dtype: 'float64' })), (err: unknown) => err instanceof ScaledotError && err.code === 'E_DTYPE');
    assert.throws(() => cache.append(randn([1, 1, 2]), randn([1, 1, 2]), { batchIndex: 2 }), (err: unknown) => err instanceof ScaledotError && err.code === 'E_OPTION');
    assert.deepEqual(Array.from(cache.lengths), before.lengths);
    cache.reset();
    assert.deepEqual(Array.from(cache.lengths), [0, 0]);
    cache.append(randn([2, 1, 3, 2]), randn([2, 1, 3, 2]));
    assert.deepEqual(Array.from(cache.lengths), [3, 3]);
  });

  it('checks its options', () => {
    assert.throws(() => createKvCache({ batch: 0, heads: 1, headDim: 2, maxLength: 3 }), (err: unknown) => err instanceof ScaledotError && err.code === 'E_OPTION' && /batch/.test(err.message));
    assert.throws(() => createKvCache({ batch: 1, heads: 1, headDim: 2, maxLength: 3, dtype: 'bool' as never }), (err: unknown) => err instanceof ScaledotError && err.code === 'E_DTYPE');
    assert.throws(() => createKvCache(new Map() as never), (err: unknown) => err instanceof ScaledotError && err.code === 'E_OPTION' && /a Map/.test(err.message));
    // 2^31 elements of float32 are 8 GiB: refused before anything is allocated.
    assert.throws(() => createKvCache({ batch: 1, heads: 1, headDim: 2 ** 10, maxLength: 2 ** 21 }), (err: unknown) => err instanceof ScaledotError && err.code === 'E_SIZE' && /keys \[1, 1, 2097152, 1024\]/.test(err.message));
    const cache = createKvCache({ batch: 1, heads: 2, headDim: 4, maxLength: 5, dtype: 'float16' });
    assert.deepEqual([cache.keys.shape, cache.values.shape, cache.keys.dtype], [[1, 2, 5, 4], [1, 2, 5, 4], 'float16']);
  });

  it('refuses unknown keys by name, as attention does, and its lengths cannot be written through', () => {
    const unknown = (key: string) => (err: unknown) =>
      err instanceof ScaledotError && err.code === 'E_OPTION' && err.message.includes(`unknown option "${key}"`) && /expected one of/.test(err.message);
    // A typo is an error, not a silent default (float32) or a misleading "maxLength is undefined".
    assert.throws(() => createKvCache({ batch: 1, heads: 1, headDim: 2, maxLength: 3, dtyp: 'float64' } as never), unknown('dtyp'));
    assert.throws(() => createKvCache({ batch: 1, heads: 1, headDim: 2, maxLen: 4 } as never), unknown('maxLen'));
    const cache = createKvCache({ batch: 2, heads: 1, headDim: 2, maxLength: 4 });
    // batchIndx would be ignored and append to every element.
    assert.throws(() => cache.append(randn([1, 1, 2]), randn([1, 1, 2]), { batchIndx: 1 } as never), unknown('batchIndx'));
    assert.deepEqual(Array.from(cache.lengths), [0, 0]);
    cache.append(randn([2, 1, 1, 2]), randn([2, 1, 1, 2]));
    const seen = cache.lengths;
    seen[0] = 99;
    assert.deepEqual(Array.from(cache.lengths), [1, 1]);
    cache.append(randn([2, 1, 1, 2]), randn([2, 1, 1, 2]));
    assert.deepEqual(Array.from(cache.lengths), [2, 2]);
  });
});

describe('attentionWeights', () => {
  it('gives the weights of the float64 formula under every option, rows summing to 1 − p_sink', () => {
    const [b, hq, hkv, l, s, e] = [2, 4, 2, 3, 6, 4];
    const q = randn([b, hq, l, e], { seed: 1, dtype: 'float64' });
    const k = randn([b, hkv, s, e], { seed: 2, dtype: 'float64' });
    const options = {
      enableGqa: true, isCausal: true, softcap: 1.2, alibiSlopes: [0.5, 0.25, 0.1, 0], window: [2, 0] as [number, number],
      keyLengths: [6, 4], sinks: [0, 1, -1, -Infinity],
    };
    // With v = the identity over keys, the output of the formula is the weight matrix itself.
    const eye = tensor(Array.from({ length: b * hkv * s * s }, (_, i) => (Math.floor(i / s) % s === i % s ? 1 : 0)), [b, hkv, s, s], { dtype: 'float64' });
    const weights = attentionWeights(q, k, eye, options);
    assert.deepEqual(weights.shape, [b, hq, l, s]);
    const exact = refAttention(q, k, eye, options);
    assertClose(weights.data, exact.output, 1e-14, 'weights');
    for (let row = 0; row < b * hq * l; row++) {
      const h = Math.floor(row / l) % hq;
      const sum = Array.from(weights.data.subarray(row * s, (row + 1) * s)).reduce((x, y) => x + y, 0);
      const pSink = options.sinks[h] === -Infinity ? 0 : Math.exp(options.sinks[h] - exact.lse[row]);
      assert.ok(Math.abs(sum - (1 - pSink)) < 1e-14, `row ${row}: sums to ${sum}, expected 1 − ${pSink}`);
      if (options.sinks[h] !== -Infinity) assert.ok(pSink > 0.01, 'the sink takes a visible share');
    }
  });

  it('rounds to the input dtype and refuses dropout', () => {
    const q = randn([1, 2, 3, 4], { seed: 1, dtype: 'float16' });
    const w = attentionWeights(q, q, q, { isCausal: true });
    assert.equal(w.dtype, 'float16');
    assert.deepEqual(Array.from(w.data.subarray(0, 3)), [1, 0, 0]);
    assert.throws(() => attentionWeights(q, q, q, { dropoutP: 0.1 }), (err: unknown) => err instanceof ScaledotError && err.code === 'E_OPTION' && /dropoutP/.test(err.message));
  });

  it('refuses weights over MAX_BUFFER_BYTES before allocating them (E_SIZE), though the output is small', () => {
    const long = randn([1, 1, 2 ** 16, 1], { seed: 2 }); // L = S = 65,536: 2^32 weights, 16 GiB of float32
    assert.throws(() => attentionWeights(long, long, long), (err: unknown) => err instanceof ScaledotError && err.code === 'E_SIZE' && /weights \(\.\.\., Hq, L, S\) = \[1,1,65536,65536\]/.test(err.message));
  });
});
