import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  scaledDotProductAttentionBackward, scaledDotProductAttentionWithLse, tensor, type FloatDType, type Tensor,
} from '../src/index.js';
import { attentionConfigArb, type AttentionConfig } from './helpers/attention-arbitrary.js';
import { IMPLS, dtypesOf } from './helpers/backends.js';
import { refAttention } from './helpers/attention-reference.js';
import { accumulationEps, maxAbs, outputTolerance } from './helpers/close.js';

// Every registered backend runs every property below, in every dtype it takes.
const RUNS = 40;

type Dims = AttentionConfig;

/** Problem sizes and options, in the dtypes a backend takes: a bool mask or none, no dropout. */
function dimsArb(dtypes: readonly FloatDType[]): fc.Arbitrary<Dims> {
  return attentionConfigArb({ dtypes, l: [1, 5], s: [1, 5], maxE: 4, maxEv: 3, maxGroup: 2, maskKinds: ['none', 'bool'], dropoutPs: [0] });
}

interface Problem {
  d: Dims;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  dO: Tensor;
  mask?: Tensor;
}

/**
 * A random problem of the given dims: q and k entries drawn from `qk`, v and
 * the output gradient from `vo` (rounded to the dtype), and a random bool
 * [L, S] mask when d.maskKind is 'bool'.
 */
function problemOf(d: Dims, qk: fc.Arbitrary<number>, vo: fc.Arbitrary<number> = qk): fc.Arbitrary<Problem> {
  const hq = d.hkv * d.group;
  const arr = (value: fc.Arbitrary<number>, n: number) => fc.array(value, { minLength: n, maxLength: n });
  return fc.record({
    q: arr(qk, d.batch * hq * d.l * d.e),
    k: arr(qk, d.batch * d.hkv * d.s * d.e),
    v: arr(vo, d.batch * d.hkv * d.s * d.ev),
    dO: arr(vo, d.batch * hq * d.l * d.ev),
    mask: fc.array(fc.boolean(), { minLength: d.l * d.s, maxLength: d.l * d.s }),
  }).map((x) => ({
    d,
    q: tensor(x.q, [d.batch, hq, d.l, d.e], { dtype: d.dtype }),
    k: tensor(x.k, [d.batch, d.hkv, d.s, d.e], { dtype: d.dtype }),
    v: tensor(x.v, [d.batch, d.hkv, d.s, d.ev], { dtype: d.dtype }),
    dO: tensor(x.dO, [d.batch, hq, d.l, d.ev], { dtype: d.dtype }),
    ...(d.maskKind === 'bool' ? { mask: tensor(x.mask.map(Number), [d.l, d.s], { dtype: 'bool' }) } : {}),
  }));
}

function problemArb(dtypes: readonly FloatDType[], value: fc.Arbitrary<number>): fc.Arbitrary<Problem> {
  return dimsArb(dtypes).chain((d) => problemOf(d, value));
}

function optionsOf(p: Problem, impl: string) {
  return { isCausal: p.d.causal, enableGqa: true, impl, ...(p.mask ? { attnMask: p.mask } : {}) };
}

/**
 * Asserts every output element of a row that sees some key lies within
 * [min_j v_jc, max_j v_jc] over its kv head, up to the accumulation error of
 * a sum of S terms (a convex combination cannot leave the hull of its points).
 */
function assertConvex(p: Problem, output: Tensor, lse: Tensor): void {
  const { batch: b, hkv, group, l, s, ev, dtype } = p.d;
  const slack = 4 * (s + 4) * accumulationEps(dtype) * maxAbs(p.v.data);
  for (let bi = 0; bi < b; bi++) {
    for (let h = 0; h < hkv * group; h++) {
      const g = Math.floor(h / group);
      for (let i = 0; i < l; i++) {
        const row = (bi * hkv * group + h) * l + i;
        if (lse.data[row] === -Infinity) continue;
        for (let c = 0; c < ev; c++) {
          let lo = Infinity;
          let hi = -Infinity;
          for (let j = 0; j < s; j++) {
            const x = p.v.data[((bi * hkv + g) * s + j) * ev + c];
            lo = Math.min(lo, x);
            hi = Math.max(hi, x);
          }
          const o = output.data[row * ev + c];
          assert.ok(o >= lo - slack && o <= hi + slack, `output[${row},${c}] = ${o} outside [${lo}, ${hi}]`);
        }
      }
    }
  }
}

/** k or v with rows along S reordered: result row j is row perm[j] of x. */
function permuteRows(x: Tensor, perm: number[]): Tensor {
  const [b, h, s, w] = x.shape;
  const out = new Array<number>(x.size);
  for (let bh = 0; bh < b * h; bh++) {
    for (let j = 0; j < s; j++) for (let c = 0; c < w; c++) out[(bh * s + j) * w + c] = x.data[(bh * s + perm[j]) * w + c];
  }
  return tensor(out, x.shape, { dtype: x.dtype });
}

function permuteColumns(mask: Tensor, perm: number[]): Tensor {
  const [l, s] = mask.shape;
  const out = new Array<number>(mask.size);
  for (let i = 0; i < l; i++) for (let j = 0; j < s; j++) out[i * s + j] = mask.data[i * s + perm[j]];
  return tensor(out, mask.shape, { dtype: mask.dtype });
}

for (const impl of IMPLS) {
  describe(`attention properties [${impl}]`, () => {
    const dtypes = dtypesOf(impl);
    it('output rows are convex combinations of value rows', () => {
      fc.assert(
        fc.property(problemArb(dtypes, fc.double({ min: -100, max: 100, noNaN: true })), (p) => {
          const { output, lse } = scaledDotProductAttentionWithLse(p.q, p.k, p.v, optionsOf(p, impl));
          assertConvex(p, output, lse);
        }),
        { numRuns: RUNS },
      );
    });

    it('is equivariant to permuting keys and values together', () => {
      const arb = problemArb(dtypes, fc.double({ min: -4, max: 4, noNaN: true })).chain((p) =>
        fc.shuffledSubarray(Array.from({ length: p.d.s }, (_, j) => j), { minLength: p.d.s, maxLength: p.d.s }).map((perm) => ({ p, perm })),
      );
      fc.assert(
        fc.property(arb, ({ p, perm }) => {
          // Causal masking depends on key positions, so this property holds without it.
          const options = { ...optionsOf(p, impl), isCausal: false };
          const before = scaledDotProductAttentionWithLse(p.q, p.k, p.v, options).output;
          const after = scaledDotProductAttentionWithLse(p.q, permuteRows(p.k, perm), permuteRows(p.v, perm), {
            ...options, ...(p.mask ? { attnMask: permuteColumns(p.mask, perm) } : {}),
          }).output;
          const exact = refAttention(p.q, p.k, p.v, { isCausal: false, ...(p.mask ? { attnMask: p.mask } : {}) });
          for (let i = 0; i < before.size; i++) {
            const tol = 2 * outputTolerance(p.d.dtype, p.d.s, p.d.e, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / p.d.ev)], maxAbs(p.v.data));
            assert.ok(Math.abs(before.data[i] - after.data[i]) <= tol, `output[${i}]: ${before.data[i]} vs ${after.data[i]} after permuting`);
          }
        }),
        { numRuns: RUNS },
      );
    });

    it('under isCausal, changing a future key or value never changes an earlier output', () => {
      const arb = problemArb(dtypes, fc.double({ min: -10, max: 10, noNaN: true })).chain((p) =>
        fc.record({
          p: fc.constant({ ...p, d: { ...p.d, causal: true } }),
          j0: fc.integer({ min: 0, max: p.d.s - 1 }),
          // New entries finite in every dtype (float16 tops out at 65504).
          newK: fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { minLength: p.d.e, maxLength: p.d.e }),
          newV: fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { minLength: p.d.ev, maxLength: p.d.ev }),
        }),
      );
      fc.assert(
        fc.property(arb, ({ p, j0, newK, newV }) => {
          const { batch: b, hkv, group, l, s, e, ev, dtype } = p.d;
          const k2 = Array.from(p.k.data);
          const v2 = Array.from(p.v.data);
          for (let bh = 0; bh < b * hkv; bh++) {
            for (let c = 0; c < e; c++) k2[(bh * s + j0) * e + c] = newK[c];
            for (let c = 0; c < ev; c++) v2[(bh * s + j0) * ev + c] = newV[c];
          }
          const options = optionsOf(p, impl);
          const before = scaledDotProductAttentionWithLse(p.q, p.k, p.v, options);
          const after = scaledDotProductAttentionWithLse(p.q, tensor(k2, p.k.shape, { dtype }), tensor(v2, p.v.shape, { dtype }), options);
          for (let row = 0; row < b * hkv * group * l; row++) {
            const i = row % l;
            if (j0 <= i + s - l) continue; // row i sees key j0
            assert.equal(after.lse.data[row], before.lse.data[row], `lse of row ${row} changed`);
            for (let c = 0; c < ev; c++) {
              assert.equal(after.output.data[row * ev + c], before.output.data[row * ev + c], `output[${row},${c}] changed by key ${j0}`);
            }
          }
        }),
        { numRuns: RUNS },
      );
    });

    it('gives no NaN or Infinity from finite inputs in any dtype, even with scores of ±1e30', () => {
      // q, k entries of magnitude up to 1e15 make scores up to ~1e30; in float16 (max 65504) up to 240,
      // so scores reach ~5e4: far past ln(65504) ≈ 11.09, where exp overflows unless the max is subtracted.
      // v and dO stay in [-1, 1] so that the true gradients (≈ |k| |v| |dO|) fit the dtype.
      const arb = dimsArb(dtypes).chain((d) => {
        const big = d.dtype === 'float16' ? 240 : 1e15;
        const qk = fc.oneof(fc.double({ min: -big, max: big, noNaN: true }), fc.constantFrom(big, -big));
        return problemOf(d, qk, fc.double({ min: -1, max: 1, noNaN: true }));
      });
      fc.assert(
        fc.property(arb, (p) => {
          const options = optionsOf(p, impl);
          const { output, lse } = scaledDotProductAttentionWithLse(p.q, p.k, p.v, options);
          const grads = scaledDotProductAttentionBackward(p.q, p.k, p.v, p.dO, options);
          assert.ok(output.data.every(Number.isFinite), 'output finite');
          assert.ok(lse.data.every((x) => Number.isFinite(x) || x === -Infinity), 'lse finite or -Infinity (fully masked)');
          assertConvex(p, output, lse);
          for (const name of ['dq', 'dk', 'dv'] as const) assert.ok(grads[name].data.every(Number.isFinite), `${name} finite`);
        }),
        { numRuns: RUNS },
      );
    });
  });
}
