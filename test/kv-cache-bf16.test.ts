import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ScaledotError, createKvCache, randn, scaledDotProductAttentionWithLse, tensor, wasm, type Tensor } from '../src/index.js';
import { roundBfloat16 } from '../src/tensor/dtype.js';
import { writeBf16Rows } from '../src/attention/kv-bf16.js';
import { residentBf16Offset, residentOffset } from '../src/attention/wasm/resident.js';
import { IMPLS, takesModelOptions } from './helpers/backends.js';
import { refAttention } from './helpers/attention-reference.js';
import { assertClose, lseTolerance, maxAbs, outputTolerance } from './helpers/close.js';
import { decodeOptionsArb } from './helpers/decode-options.js';

// A KV cache stored in bfloat16 (storage: 'bfloat16'): appended values are
// rounded the library's way (roundBfloat16, which rounds from float64 with
// float64 adds: a different algorithm from the cache's bit arithmetic), and
// attention over it must equal the float64 formula on those rounded K and V,
// to float32 tolerances, on every backend; on wasm it reads the 16-bit copy.

const rounded = (x: Tensor): Tensor => tensor(Float32Array.from(x.data, roundBfloat16), x.shape, { dtype: 'float32' });
const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

describe("createKvCache storage 'bfloat16'", () => {
  it('rounds each float32 to the nearest bfloat16, ties to even, as roundBfloat16 does (subnormals, overflow, −0, NaN)', () => {
    const f32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];
    const edge = [0, -0, 1, -1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 3.4028234663852886e38, -3.4028234663852886e38,
      3.3895313892515355e38, 3.3961775292304470e38, 1e-45, -1e-45, 1.1754942e-38, f32(0x00008000), f32(0x00018000), f32(0x007fffff),
      Infinity, -Infinity, NaN, f32(0x7f800001), f32(0xffc00001), f32(0x7f7f8000), f32(0x7f7fffff)];
    const check = (values: number[]) => {
      const src = Float32Array.from(values);
      const dst = new Float32Array(src.length + 2);
      const bits = new Uint16Array(src.length + 2);
      writeBf16Rows(src, 0, src.length, dst, 1, bits);
      src.forEach((x, i) => {
        assert.ok(same(dst[i + 1], roundBfloat16(x)), `${x} (bits ${new Uint32Array(src.buffer)[i].toString(16)}) became ${dst[i + 1]}; roundBfloat16 gives ${roundBfloat16(x)}`);
        assert.equal(bits[i + 1], new Uint32Array(dst.buffer)[i + 1] >>> 16, 'the 16 bits are the float32 value\'s high half');
      });
      assert.ok(dst[0] === 0 && dst.at(-1) === 0 && bits[0] === 0 && bits.at(-1) === 0, 'nothing written outside [to, to + count)');
    };
    check(edge);
    fc.assert(fc.property(fc.array(fc.float(), { minLength: 1, maxLength: 40 }), check), { numRuns: 300 });
  });

  it('keys and values read back as float32 tensors of the rounded values, appended in pieces and per batch element', () => {
    const cache = createKvCache({ batch: 2, heads: 3, headDim: 5, valueDim: 3, maxLength: 9, storage: 'bfloat16' });
    assert.equal(cache.storage, 'bfloat16');
    assert.equal(createKvCache({ batch: 1, heads: 1, headDim: 1, maxLength: 1 }).storage, 'float32');
    const k = randn([2, 3, 4, 5], { seed: 1 }), v = randn([2, 3, 4, 3], { seed: 2 });
    const k1 = randn([3, 2, 5], { seed: 3 }), v1 = randn([3, 2, 3], { seed: 4 });
    cache.append(k, v);
    cache.append(k1, v1, { batchIndex: 1 });
    assert.equal(cache.keys.dtype, 'float32');
    assert.deepEqual(cache.keys.shape, [2, 3, 9, 5]);
    const at = (b: number, h: number, pos: number, c: number, w: number) => (((b * 3 + h) * 9 + pos) * w + c);
    for (let h = 0; h < 3; h++) {
      for (let c = 0; c < 5; c++) {
        for (let b = 0; b < 2; b++) for (let pos = 0; pos < 4; pos++) assert.equal(cache.keys.data[at(b, h, pos, c, 5)], roundBfloat16(k.data[((b * 3 + h) * 4 + pos) * 5 + c]));
        for (let pos = 0; pos < 2; pos++) assert.equal(cache.keys.data[at(1, h, 4 + pos, c, 5)], roundBfloat16(k1.data[(h * 2 + pos) * 5 + c]));
        assert.equal(cache.keys.data[at(0, h, 4, c, 5)], 0, 'element 0 got no second append');
      }
      for (let pos = 0; pos < 2; pos++) for (let c = 0; c < 3; c++) assert.equal(cache.values.data[at(1, h, 4 + pos, c, 3)], roundBfloat16(v1.data[(h * 2 + pos) * 3 + c]));
    }
    assert.deepEqual([...cache.lengths], [4, 6]);
  });

  it("refuses a bad storage, a dtype it cannot hold and impl 'webgpu', naming the argument, before allocating", () => {
    const base = { batch: 1, heads: 1, headDim: 4, maxLength: 4 };
    const refuses = (options: object, code: string, words: RegExp) => assert.throws(() => createKvCache({ ...base, ...options } as never), (err: unknown) =>
      err instanceof ScaledotError && err.code === code && words.test(err.message));
    refuses({ storage: 'bf16' }, 'E_DTYPE', /createKvCache: storage is the string "bf16"; expected 'float32' or 'bfloat16'/);
    refuses({ storage: 16 }, 'E_DTYPE', /storage is number 16/);
    refuses({ storage: 'bfloat16', dtype: 'float16' }, 'E_DTYPE', /storage 'bfloat16'.*dtype is float16/);
    refuses({ storage: 'bfloat16', dtype: 'float64' }, 'E_DTYPE', /dtype is float64/);
    refuses({ storage: 'bfloat16', impl: 'webgpu' }, 'E_OPTION', /impl 'webgpu'/);
    refuses({ storage: 'bfloat16', maxLength: 2 ** 40 }, 'E_SIZE', /keys/);
  });

  for (const impl of IMPLS.filter((name) => takesModelOptions(name, 'float32'))) {
    it(`equals the float64 formula on the rounded K and V, with every option, to float32 tolerances [${impl}]`, () => {
      // L up to 20: past 16 query rows impl 'wasm' runs its block kernels, which read the float32 tensors.
      const arb = fc.record({
        b: fc.integer({ min: 1, max: 2 }), hkv: fc.integer({ min: 1, max: 2 }), group: fc.integer({ min: 1, max: 4 }),
        l: fc.integer({ min: 1, max: 20 }), s: fc.integer({ min: 1, max: 700 }), e: fc.integer({ min: 1, max: 20 }),
        ev: fc.integer({ min: 1, max: 17 }), pieces: fc.integer({ min: 1, max: 3 }), isCausal: fc.boolean(), seed: fc.integer({ min: 0, max: 1000 }),
        dtype: fc.constantFrom('float32' as const, 'bfloat16' as const),
      }).chain((d) => {
        const hq = d.hkv * d.group;
        // keyLengths drawn: shorter than the cache's lengths, or (undefined) the cache's own.
        return decodeOptionsArb(d, hq).map((o) => ({ ...d, hq, ...o }));
      });
      fc.assert(fc.property(arb, (p) => {
        // K and V as float32 draws: the cache rounds them (a bfloat16 cache's append takes them already rounded).
        const k = randn([p.b, p.hkv, p.s, p.e], { seed: p.seed + 1 });
        const v = randn([p.b, p.hkv, p.s, p.ev], { seed: p.seed + 2 });
        const q = randn([p.b, p.hq, p.l, p.e], { seed: p.seed, dtype: p.dtype });
        const cache = createKvCache({ batch: p.b, heads: p.hkv, headDim: p.e, valueDim: p.ev, maxLength: p.s + 3, storage: 'bfloat16', dtype: p.dtype });
        const cut = Array.from({ length: p.pieces + 1 }, (_, i) => Math.round((i * p.s) / p.pieces));
        for (let i = 0; i < p.pieces; i++) cache.append(slice(k, cut[i], cut[i + 1], p.dtype), slice(v, cut[i], cut[i + 1], p.dtype));
        const n = p.hq * p.l * (p.s + 3);
        const maskValues = Array.from({ length: n }, (_, i) => ((i * 2654435761) >>> 0) % 4);
        const attnMask = p.mask === 'none' ? undefined : p.mask === 'bool'
          ? tensor(maskValues.map((x) => (x === 0 ? 0 : 1)), [p.hq, p.l, p.s + 3], { dtype: 'bool' })
          : tensor(maskValues.map((x) => x - 2), [p.hq, p.l, p.s + 3], { dtype: 'float64' });
        const options = {
          isCausal: p.isCausal, keyLengths: p.keyLengths ?? [...cache.lengths],
          ...(p.softcap !== undefined ? { softcap: p.softcap } : {}), ...(p.alibiSlopes ? { alibiSlopes: p.alibiSlopes } : {}),
          ...(p.window ? { window: p.window } : {}), ...(p.sinks ? { sinks: p.sinks } : {}), ...(attnMask ? { attnMask } : {}),
        };
        const { output, lse } = scaledDotProductAttentionWithLse(q, cache.keys, cache.values, { ...options, enableGqa: true, impl });
        const kr = pad(rounded(k), p.s + 3), vr = pad(rounded(v), p.s + 3);
        const exact = refAttention(q, kr, vr, options);
        assertClose(output.data, exact.output, (i) =>
          outputTolerance(p.dtype, p.s, p.e, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / p.ev)], maxAbs(vr.data)), 'output');
        assertClose(lse.data, exact.lse, (i) => lseTolerance(p.dtype, p.s, p.e, exact.lse[i], exact.scoreMag[i]), 'lse');
      }), { numRuns: 25 });
    });
  }
});

const threaded = wasm.info().available && wasm.info().threads > 1;

describe("a bfloat16-stored cache on the wasm decode kernel", { skip: threaded ? false : 'needs the threaded wasm kernels (a shared memory)' }, () => {
  it("keeps 16-bit copies in the kernels' memory and the float32 keys and values outside it", () => {
    const cache = createKvCache({ batch: 1, heads: 2, headDim: 8, maxLength: 5, storage: 'bfloat16' });
    for (const x of [cache.keys, cache.values]) {
      assert.equal(residentOffset(x.data as Float32Array), null);
      assert.notEqual(residentBf16Offset(x.data as Float32Array), null);
    }
    assert.equal(residentBf16Offset(createKvCache({ batch: 1, heads: 2, headDim: 8, maxLength: 5 }).keys.data as Float32Array), null);
  });

  it('gives the same bytes as plain float32 tensors of the rounded values (widening is exact), GQA and every row count', () => {
    for (const [hq, hkv, l, s, e, ev] of [[8, 2, 1, 3000, 64, 64], [4, 4, 3, 700, 13, 7], [6, 2, 16, 257, 9, 21]]) {
      const cache = createKvCache({ batch: 2, heads: hkv, headDim: e, valueDim: ev, maxLength: s + 10, storage: 'bfloat16' });
      const k = randn([2, hkv, s, e], { seed: s }), v = randn([2, hkv, s, ev], { seed: s + 1 });
      cache.append(k, v);
      const q = randn([2, hq, l, e], { seed: s + 2 });
      const options = { keyLengths: cache.lengths, isCausal: true, enableGqa: true, impl: 'wasm' as const };
      const fromCache = scaledDotProductAttentionWithLse(q, cache.keys, cache.values, options);
      const copy = (x: Tensor) => tensor(Float32Array.from(x.data), x.shape, { dtype: 'float32' });
      const plain = scaledDotProductAttentionWithLse(q, copy(cache.keys), copy(cache.values), options);
      assert.deepEqual(fromCache.output.data, plain.output.data, `${hq}/${hkv}x${s}x${e}, l ${l}`);
      assert.deepEqual(fromCache.lse.data, plain.lse.data);
    }
  });

  it('a decoding step copies neither keys nor values: memory grows by far less than the 16-bit K and V', () => {
    const [heads, maxLength, e] = [8, 8192, 64];
    const cache = createKvCache({ batch: 1, heads, headDim: e, maxLength, storage: 'bfloat16' });
    cache.append(randn([1, heads, maxLength, e], { seed: 1 }), randn([1, heads, maxLength, e], { seed: 2 }));
    const q = randn([1, heads, 1, e], { seed: 3 });
    const before = wasm.info().memoryBytes;
    scaledDotProductAttentionWithLse(q, cache.keys, cache.values, { keyLengths: cache.lengths, impl: 'wasm' });
    const grown = wasm.info().memoryBytes - before;
    assert.ok(grown < cache.keys.data.byteLength / 8, `memory grew by ${grown} bytes; the 16-bit K and V hold ${cache.keys.data.byteLength}`);
  });
});

/** Positions [from, to) of x (batch, heads, N, w), as a tensor of dtype (its values rounded to it). */
function slice(x: Tensor, from: number, to: number, dtype: 'float32' | 'bfloat16'): Tensor {
  const [b, h, n, w] = x.shape;
  const out: number[] = [];
  for (let bh = 0; bh < b * h; bh++) out.push(...x.data.subarray((bh * n + from) * w, (bh * n + to) * w));
  return tensor(out, [b, h, to - from, w], { dtype });
}

/** x (batch, heads, N, w) with zero positions up to `length`: what a cache holds past its lengths. */
function pad(x: Tensor, length: number): Tensor {
  const [b, h, n, w] = x.shape;
  const out = new Float32Array(b * h * length * w);
  for (let bh = 0; bh < b * h; bh++) out.set(x.data.subarray(bh * n * w, (bh + 1) * n * w), bh * length * w);
  return tensor(out, [b, h, length, w], { dtype: 'float32' });
}
