import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  randn, scaledDotProductAttention, scaledDotProductAttentionBackward, scaledDotProductAttentionWithLse, tensor,
  type AttentionOptions, type FloatDType, type Tensor,
} from '../src/index.js';
import { IMPLS, dtypesOf, takesModelOptions } from './helpers/backends.js';
import { refAttention, refAttentionBackward } from './helpers/attention-reference.js';
import { assertClose, gradTolerance, lseTolerance, maxAbs, outputTolerance } from './helpers/close.js';

// Properties of the model options of issue 9 (softcap, ALiBi, window,
// keyLengths, sinks), on every backend that takes them, in every dtype it takes.
const RUNS = 30;

interface Problem {
  dtype: FloatDType;
  b: number; hq: number; hkv: number; l: number; s: number; e: number; ev: number;
  q: Tensor; k: Tensor; v: Tensor; dO: Tensor;
  options: {
    isCausal: boolean; softcap?: number; alibiSlopes?: number[]; window?: [number, number]; keyLengths?: number[]; sinks?: number[];
  };
}

const arr = (value: fc.Arbitrary<number>, n: number) => fc.array(value, { minLength: n, maxLength: n });
const unit = fc.double({ min: -3, max: 3, noNaN: true });

/** A random problem with a random subset of the model options (windows and key lengths of every size, 0 included). */
function problemArb(dtypes: readonly FloatDType[]): fc.Arbitrary<Problem> {
  return fc.record({
    dtype: fc.constantFrom(...dtypes), b: fc.integer({ min: 1, max: 2 }), hkv: fc.integer({ min: 1, max: 2 }),
    group: fc.integer({ min: 1, max: 2 }), l: fc.integer({ min: 1, max: 5 }), s: fc.integer({ min: 1, max: 6 }),
    e: fc.integer({ min: 1, max: 4 }), ev: fc.integer({ min: 1, max: 3 }), isCausal: fc.boolean(),
  }).chain((d) => {
    const hq = d.hkv * d.group;
    const side = fc.integer({ min: -1, max: d.s });
    return fc.record({
      q: arr(unit, d.b * hq * d.l * d.e), k: arr(unit, d.b * d.hkv * d.s * d.e),
      v: arr(unit, d.b * d.hkv * d.s * d.ev), dO: arr(unit, d.b * hq * d.l * d.ev),
      softcap: fc.option(fc.double({ min: 0.25, max: 5, noNaN: true }), { nil: undefined }),
      alibiSlopes: fc.option(arr(fc.double({ min: 0, max: 1, noNaN: true }), hq), { nil: undefined }),
      window: fc.option(fc.tuple(side, side), { nil: undefined }),
      keyLengths: fc.option(arr(fc.integer({ min: 0, max: d.s }), d.b), { nil: undefined }),
      sinks: fc.option(arr(fc.double({ min: -3, max: 3, noNaN: true }), hq), { nil: undefined }),
    }).map((x) => {
      const t = (values: number[], shape: number[]) => tensor(values, shape, { dtype: d.dtype });
      const options: Problem['options'] = { isCausal: d.isCausal };
      for (const key of ['softcap', 'alibiSlopes', 'window', 'keyLengths', 'sinks'] as const) {
        if (x[key] !== undefined) Object.assign(options, { [key]: x[key] });
      }
      return {
        ...d, hq, options,
        q: t(x.q, [d.b, hq, d.l, d.e]), k: t(x.k, [d.b, d.hkv, d.s, d.e]),
        v: t(x.v, [d.b, d.hkv, d.s, d.ev]), dO: t(x.dO, [d.b, hq, d.l, d.ev]),
      };
    });
  });
}

const run = (p: Problem, impl: string, extra: AttentionOptions = {}) =>
  scaledDotProductAttentionWithLse(p.q, p.k, p.v, { ...p.options, enableGqa: true, impl, ...extra });

for (const impl of IMPLS) {
  const dtypes = dtypesOf(impl).filter((d) => takesModelOptions(impl, d));
  describe(`attention model options, properties [${impl}]`, { skip: dtypes.length === 0 ? `${impl} does not take the model options` : false }, () => {
    it('matches the float64 test reference (output, lse, and in the widest dtype dq, dk, dv, dsinks)', () => {
      fc.assert(fc.property(problemArb(dtypes), (p) => {
        const { output, lse } = run(p, impl);
        const exact = refAttention(p.q, p.k, p.v, p.options);
        assertClose(output.data, exact.output, (i) =>
          outputTolerance(p.dtype, p.s, p.e, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / p.ev)], maxAbs(p.v.data)), 'output');
        assertClose(lse.data, exact.lse, (i) => lseTolerance(p.dtype, p.s, p.e, exact.lse[i], exact.scoreMag[i]), 'lse');
        const grads = scaledDotProductAttentionBackward(p.q, p.k, p.v, p.dO, { ...p.options, enableGqa: true, impl });
        const exactGrads = refAttentionBackward(p.q, p.k, p.v, p.dO, p.options);
        const mag = maxAbs(exact.scoreMag);
        const n = p.l + p.s + p.e + p.ev;
        // dS = P (dP − D) cancels: measure against the size of its terms, not of the result.
        const terms = maxAbs(p.dO.data) * maxAbs(p.v.data) * (1 + maxAbs(p.q.data) + maxAbs(p.k.data));
        // dv = Pᵀ dO does not involve v: its terms are the products p·dO, summed over a GQA
        // group's query heads and the rows (with v = 0, `terms` is 0 and a dv that cancels to
        // ~1e-16 in float64 left a tolerance of 1e-21).
        const dvTerms = maxAbs(p.dO.data) * (p.hq / p.hkv) * p.l;
        for (const name of ['dq', 'dk', 'dv'] as const) {
          const scale = Math.max(maxAbs(exactGrads[name]), name === 'dv' ? Math.max(terms, dvTerms) : terms);
          assertClose(grads[name].data, exactGrads[name], (i) => gradTolerance(p.dtype, n, mag, exactGrads[name][i], scale), name);
        }
        if (p.options.sinks) {
          const rows = p.b * p.l;
          assertClose(grads.dsinks!.data, exactGrads.dsinks, (i) => rows * gradTolerance(p.dtype, n, mag, exactGrads.dsinks[i], terms), 'dsinks');
        }
      }), { numRuns: RUNS });
    });

    it('window [-1, -1], or one wider than any distance, equals no window', () => {
      fc.assert(fc.property(problemArb(dtypes), (p) => {
        const base = run(p, impl, { window: undefined });
        for (const window of [[-1, -1], [p.l + p.s, p.l + p.s], [-1, p.l + p.s]] as [number, number][]) {
          const other = run(p, impl, { window });
          assert.deepEqual(Array.from(other.output.data), Array.from(base.output.data), `window ${window}`);
          assert.deepEqual(Array.from(other.lse.data), Array.from(base.lse.data), `window ${window}`);
        }
      }), { numRuns: RUNS });
    });

    it('keyLengths = S for every element equals no keyLengths', () => {
      fc.assert(fc.property(problemArb(dtypes), (p) => {
        const base = run(p, impl, { keyLengths: undefined });
        const full = run(p, impl, { keyLengths: new Array(p.b).fill(p.s) });
        assert.deepEqual(Array.from(full.output.data), Array.from(base.output.data));
        assert.deepEqual(Array.from(full.lse.data), Array.from(base.lse.data));
      }), { numRuns: RUNS });
    });

    it('keys at or past keyLengths[b] never change any output', () => {
      fc.assert(fc.property(problemArb(dtypes), fc.double({ min: -50, max: 50, noNaN: true }), (p, x) => {
        const lengths = p.options.keyLengths ?? new Array(p.b).fill(Math.floor(p.s / 2));
        const k2 = Array.from(p.k.data);
        const v2 = Array.from(p.v.data);
        for (let b = 0; b < p.b; b++) {
          for (let g = 0; g < p.hkv; g++) {
            for (let j = lengths[b]; j < p.s; j++) {
              const row = (b * p.hkv + g) * p.s + j;
              for (let c = 0; c < p.e; c++) k2[row * p.e + c] = x;
              for (let c = 0; c < p.ev; c++) v2[row * p.ev + c] = -x;
            }
          }
        }
        const options = { ...p.options, keyLengths: lengths, enableGqa: true, impl };
        const before = scaledDotProductAttention(p.q, p.k, p.v, options);
        const after = scaledDotProductAttention(p.q, tensor(k2, p.k.shape, { dtype: p.dtype }), tensor(v2, p.v.shape, { dtype: p.dtype }), options);
        assert.deepEqual(Array.from(after.data), Array.from(before.data));
      }), { numRuns: RUNS });
    });

    it('softcap -> infinity tends to no softcap', () => {
      fc.assert(fc.property(problemArb(dtypes), (p) => {
        const base = run(p, impl, { softcap: undefined });
        const exact = refAttention(p.q, p.k, p.v, { ...p.options, softcap: undefined });
        // c·tanh(s/c) = s − s³/(3c²) + …: with c = 1e8 (1 + σ) every score moves by under 1e-16 σ, below float64's epsilon.
        const capped = run(p, impl, { softcap: 1e8 * (1 + maxAbs(exact.scoreMag)) });
        // Two runs, each within the tolerance of the formula; tanh, the division and the product add
        // a few roundings to every score (counted as E + 3 terms instead of E).
        assertClose(capped.output.data, base.output.data, (i) =>
          2 * outputTolerance(p.dtype, p.s, p.e + 3, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / p.ev)], maxAbs(p.v.data)), 'output');
        // The rate, in the formula: |c·tanh(s/c) − s| <= |s|³/(3c²), and moving every score by at
        // most δ moves an output by at most 2δ max|v|. At c = 10σ that is 2σ/300 · max|v|, well above rounding.
        const sigma = maxAbs(exact.scoreMag);
        const c = 10 * (1 + sigma);
        const gap = maxAbs(refAttention(p.q, p.k, p.v, { ...p.options, softcap: c }).output.map((y, i) => y - exact.output[i]));
        assert.ok(gap <= (2 * sigma ** 3 / (3 * c * c)) * maxAbs(p.v.data) + 1e-12, `gap ${gap} at softcap ${c}, sigma ${sigma}`);
      }), { numRuns: RUNS });
    });

    it('sinks -> -infinity tend to no sinks', () => {
      fc.assert(fc.property(problemArb(dtypes), (p) => {
        const base = run(p, impl, { sinks: undefined });
        for (const sink of [-1e30, -Infinity]) {
          const sunk = run(p, impl, { sinks: new Array(p.hq).fill(sink) });
          assert.deepEqual(Array.from(sunk.output.data), Array.from(base.output.data), `sinks ${sink}`);
          // A row that sees no key has lse = its sink by definition (−∞ without one); lse is float64
          // for every dtype, and a float32 kernel (wasm) carries the sink in float32 (as σ·log2 e), so
          // below float64 that row's lse is the sink to float32's rounding. Every other row is unchanged.
          const sunkLse = Array.from(sunk.lse.data);
          base.lse.data.forEach((x, i) => {
            if (x !== -Infinity) assert.equal(sunkLse[i], x, `sinks ${sink}: lse[${i}] of a row that sees a key`);
            else if (p.dtype === 'float64' || sink === -Infinity) assert.equal(sunkLse[i], sink, `sinks ${sink}: lse[${i}]`);
            else assert.ok(Math.abs(sunkLse[i] - sink) <= 2 ** -23 * Math.abs(sink), `sinks ${sink}: lse[${i}] = ${sunkLse[i]}`);
          });
        }
      }), { numRuns: RUNS });
    });

    it('gives no NaN: fully masked rows, a -Infinity mask entry under softcap, sinks of +-1e30', () => {
      fc.assert(fc.property(problemArb(dtypes), fc.constantFrom(1e30, -1e30, 0), (p, sinkValue) => {
        // Mask out key 0 with −∞ for every row and everything else for row 0 (a fully masked row).
        const mask = tensor(Array.from({ length: p.l * p.s }, (_, at) => (at % p.s === 0 || at < p.s ? -Infinity : 0)), [p.l, p.s], { dtype: p.dtype });
        const options = { ...p.options, softcap: p.options.softcap ?? 2, sinks: new Array(p.hq).fill(sinkValue), attnMask: mask, enableGqa: true, impl };
        const { output, lse } = scaledDotProductAttentionWithLse(p.q, p.k, p.v, options);
        const grads = scaledDotProductAttentionBackward(p.q, p.k, p.v, p.dO, options);
        for (const t of [output, grads.dq, grads.dk, grads.dv, grads.dsinks!]) assert.ok(t.data.every(Number.isFinite), 'finite');
        assert.ok(lse.data.every((x) => !Number.isNaN(x)), 'lse not NaN');
        for (let row = 0; row < p.b * p.hq * p.l; row++) {
          // Row 0 of every head sees nothing: zeros, and lse = the sink.
          if (row % p.l === 0) {
            // lse is stored in float32 outside float64: 1e30 rounds by up to 6e-8 relative.
            assert.ok(Math.abs(lse.data[row] - sinkValue) <= 1e-7 * Math.abs(sinkValue), `lse ${lse.data[row]} of a fully masked row is the sink ${sinkValue}`);
            for (let c = 0; c < p.ev; c++) assert.equal(output.data[row * p.ev + c], 0);
          }
        }
        if (sinkValue === 1e30) assert.ok(output.data.every((x) => x === 0), 'a sink of 1e30 takes every weight');
      }), { numRuns: RUNS });
    });
  });
}

/**
 * Long rows, so that the block kernels cross block boundaries and skip key
 * blocks (64 × 64 tiles): random windows, key lengths and the other options
 * on L, S up to 300, each fast backend against the float64 reference backend
 * (itself held to the test reference above). Tolerances from close.ts with
 * bounds in place of the per-row terms: A <= max|v|, σ <= |scale| E max|q| max|k| + slope · S.
 */
describe('attention model options on long rows, against the reference backend', () => {
  const arb = fc.record({
    b: fc.integer({ min: 1, max: 2 }), hkv: fc.integer({ min: 1, max: 2 }), group: fc.integer({ min: 1, max: 2 }),
    l: fc.integer({ min: 1, max: 200 }), s: fc.integer({ min: 1, max: 300 }), e: fc.constantFrom(8, 16), ev: fc.constantFrom(4, 8),
    causal: fc.boolean(), left: fc.integer({ min: -1, max: 150 }), right: fc.integer({ min: -1, max: 150 }),
    lengths: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 2 }),
    softcap: fc.option(fc.constantFrom(1, 5), { nil: undefined }), alibi: fc.boolean(), sinks: fc.boolean(), seed: fc.nat(1000),
  });
  for (const impl of IMPLS.filter((x) => x !== 'reference')) {
    const dtype = dtypesOf(impl).includes('float64') ? 'float64' : 'float32';
    if (!takesModelOptions(impl, dtype)) continue;
    it(`[${impl}, ${dtype}] forward, lse and every gradient`, () => {
      fc.assert(fc.property(arb, (c) => {
        const hq = c.hkv * c.group;
        const q = randnOf([c.b, hq, c.l, c.e], c.seed, dtype);
        const k = randnOf([c.b, c.hkv, c.s, c.e], c.seed + 1, dtype);
        const v = randnOf([c.b, c.hkv, c.s, c.ev], c.seed + 2, dtype);
        const dO = randnOf([c.b, hq, c.l, c.ev], c.seed + 3, dtype);
        const slopes = c.alibi ? Array.from({ length: hq }, (_, h) => 2 ** -(h + 3)) : undefined;
        const options: AttentionOptions = {
          enableGqa: true, isCausal: c.causal, window: [c.left, c.right],
          keyLengths: Array.from({ length: c.b }, (_, bi) => Math.round(c.lengths[bi] * c.s)),
          ...(c.softcap ? { softcap: c.softcap } : {}), ...(slopes ? { alibiSlopes: slopes } : {}),
          ...(c.sinks ? { sinks: Array.from({ length: hq }, (_, h) => h - 1) } : {}),
        };
        const fast = scaledDotProductAttentionWithLse(q, k, v, { ...options, impl });
        const exact = scaledDotProductAttentionWithLse(q, k, v, { ...options, impl: 'reference' });
        const sigma = (1 / Math.sqrt(c.e)) * c.e * maxAbs(q.data) * maxAbs(k.data) + (slopes ? slopes[0] * c.s : 0);
        const a = maxAbs(v.data);
        assertClose(fast.output.data, exact.output.data, (i) => outputTolerance(dtype, c.s, c.e, exact.output.data[i], a, sigma, a), 'output');
        assertClose(fast.lse.data, exact.lse.data, (i) => lseTolerance(dtype, c.s, c.e, exact.lse.data[i], sigma), 'lse');
        const gFast = scaledDotProductAttentionBackward(q, k, v, dO, { ...options, impl });
        const gExact = scaledDotProductAttentionBackward(q, k, v, dO, { ...options, impl: 'reference' });
        const n = c.l + c.s + c.e + c.ev;
        const terms = maxAbs(dO.data) * a * (1 + maxAbs(q.data) + maxAbs(k.data));
        for (const name of ['dq', 'dk', 'dv'] as const) {
          const scale = Math.max(maxAbs(gExact[name].data), terms);
          assertClose(gFast[name].data, gExact[name].data, (i) => gradTolerance(dtype, n, sigma, gExact[name].data[i], scale), name);
        }
        if (c.sinks) {
          assertClose(gFast.dsinks!.data, gExact.dsinks!.data, (i) => c.b * c.l * gradTolerance(dtype, n, sigma, gExact.dsinks!.data[i], terms), 'dsinks');
        }
      }), { numRuns: 12, examples: BLOCK_EDGES.map((c): [typeof c] => [c]) });
    });
  }
});

/**
 * Windows and key lengths whose edges fall exactly on, or one past, a
 * 64-key or 64-query block boundary: where a block-skipping bound that is off
 * by one drops or keeps a whole block (random draws rarely land there).
 */
const BLOCK_EDGES = [
  { left: 1, right: 0, l: 192, s: 192, lengths: [1, 1] }, // query 128 sees key 127: key block 1 reaches query block 2
  { left: 64, right: -1, l: 192, s: 192, lengths: [1, 1] },
  { left: 63, right: 1, l: 130, s: 130, lengths: [1, 1] },
  { left: -1, right: 0, l: 128, s: 129, lengths: [128 / 129, 1] }, // keyLengths 128 and 129: a block of one key
  { left: 2, right: 64, l: 65, s: 200, lengths: [65 / 200, 0.64] },
].map((x) => ({
  b: 2, hkv: 1, group: 2, e: 8 as const, ev: 4 as const, causal: x.right === 0, softcap: undefined, alibi: false, sinks: true, seed: 7, ...x,
}));

function randnOf(shape: number[], seed: number, dtype: FloatDType): Tensor {
  return randn(shape, { seed, dtype });
}
