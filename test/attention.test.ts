import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Tensor, dtypeInfo, full, randn, scaledDotProductAttention,
  scaledDotProductAttentionBackward, scaledDotProductAttentionWithLse, tensor, zeros, type FloatDType,
} from '../src/index.js';
import { rounder } from '../src/kernels.js';
import { prepareAttention } from '../src/attention/options.js';
import { resolveBackend } from '../src/attention/backends.js';
import { CASES, caseInputs, caseOptions, type AttentionCase } from './helpers/attention-cases.js';
import { refAttention, refAttentionBackward } from './helpers/attention-reference.js';
import { refOptions } from './helpers/ref-options.js';
import { assertClose, gradTolerance, lseTolerance, maxAbs, outputTolerance } from './helpers/close.js';
import { dot, finiteDifferenceGradient } from './helpers/finite-diff.js';
import { BACKENDS, IMPLS, dtypesOf, widestDtype } from './helpers/backends.js';

// Every registered backend runs every test below, in every dtype it takes: a new backend inherits them all.

function dims(c: AttentionCase) {
  const r = c.q.length;
  return { l: c.q[r - 2], s: c.k[r - 2], e: c.q[r - 1], ev: c.v[r - 1] };
}

/** Whether every value is exactly representable in the dtype (what the output contract promises). */
function representable(data: ArrayLike<number>, dtype: FloatDType): boolean {
  const round = rounder(dtype);
  for (let i = 0; i < data.length; i++) if (!Object.is(round(data[i]), data[i])) return false;
  return true;
}

/** The gradient checks use these cases: masks, causal, GQA and dropout, small enough for finite differences. */
const GRADIENT_CASES = CASES.filter((c) =>
  [
    'Ev != E', 'rank 2 (no heads)', 'additive mask [1,1,L,S] with -Infinity', 'bool mask with fully masked rows',
    'causal L < S', 'causal L > S (first rows see nothing)', 'MQA (Hkv 1) causal additive mask [Hq,L,S]',
    'GQA (Hq 6, Hkv 2)', 'negative scale', 'dropout with GQA, causal and a mask',
    'softcap 0.8 (below the scores)', 'ALiBi, causal L < S', 'window [3, 0] causal L < S',
    'window [-1, 1] L > S (first rows see nothing)', 'keyLengths (one element empty), causal', 'sinks',
    'sinks with fully masked rows', 'all options: softcap, ALiBi, window, keyLengths, sinks, GQA, mask, dropout',
  ].includes(c.name),
);

/** Checks dsinks against the formula: present exactly when the case has sinks, shape [Hq], float64 or float32 like lse. */
function checkDsinks(
  c: AttentionCase, dtype: FloatDType, grads: { dsinks?: Tensor }, exact: Float64Array, tolerance: (i: number) => number,
): void {
  if (!c.sinks) {
    assert.equal(grads.dsinks, undefined, `${c.name}: no dsinks without sinks`);
    return;
  }
  assert.ok(grads.dsinks, `${c.name}: dsinks`);
  assert.deepEqual(grads.dsinks.shape, [c.sinks.length]);
  assert.equal(grads.dsinks.dtype, dtype === 'float64' ? 'float64' : 'float32');
  assert.ok(maxAbs(exact) > 0, `${c.name}: a dsinks that is not all zero`);
  assertClose(grads.dsinks.data, exact, tolerance, `${c.name} ${dtype} dsinks`);
}

/** The cases a backend takes in a dtype (every one: checked below, so a backend cannot skip a case by refusing it). */
function casesFor(impl: string, dtype: FloatDType): AttentionCase[] {
  return CASES.filter((c) => {
    const inputs = caseInputs(c, dtype);
    try {
      resolveBackend('casesFor', impl, prepareAttention('casesFor', inputs.q, inputs.k, inputs.v, caseOptions(c, inputs.attnMask)));
      return true;
    } catch {
      return false;
    }
  });
}

for (const impl of IMPLS) {
  describe(`scaledDotProductAttention [${impl}]`, () => {
    const dtypes = dtypesOf(impl);
    it('takes every case in every dtype it claims (the model options included)', () => {
      for (const dtype of dtypes) assert.deepEqual(CASES.filter((c) => !casesFor(impl, dtype).includes(c)).map((c) => c.name), [], dtype);
    });
    // The most precise dtype this backend takes: float64, except for the wasm kernels (float32 and half dtypes).
    const hi = widestDtype(impl);
    for (const dtype of dtypes) {
      it(`matches the float64 formula in ${dtype} on every case (output, lse, dtype, shapes)`, () => {
        for (const c of casesFor(impl, dtype)) {
          const inputs = caseInputs(c, dtype);
          const { output, lse } = scaledDotProductAttentionWithLse(inputs.q, inputs.k, inputs.v, { ...caseOptions(c, inputs.attnMask), impl });
          const exact = refAttention(inputs.q, inputs.k, inputs.v, refOptions(caseOptions(c, inputs.attnMask)));
          const { l, s, e, ev } = dims(c);
          const what = `${c.name} ${dtype}`;
          assert.deepEqual(output.shape, [...c.q.slice(0, -1), ev], `${what}: output shape`);
          assert.deepEqual(lse.shape, c.q.slice(0, -1), `${what}: lse shape`);
          assert.equal(output.dtype, dtype, `${what}: output dtype`);
          assert.equal(lse.dtype, 'float64', `${what}: lse dtype`);
          assert.ok(representable(output.data, dtype), `${what}: output values are rounded to ${dtype}`);
          assertClose(output.data, exact.output, (i) =>
            outputTolerance(dtype, s, e, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / ev)], maxAbs(inputs.v.data)), `${what} output`);
          assertClose(lse.data, exact.lse, (i) => lseTolerance(dtype, s, e, exact.lse[i], exact.scoreMag[i]), `${what} lse`);
          assert.equal(lse.data.length, exact.lse.length, `${what}: ${l} rows per head`);
        }
      });
    }

    it('scaledDotProductAttention returns the output of the WithLse variant', () => {
      const c = CASES.find((x) => x.name === 'causal with a bool padding mask')!;
      const inputs = caseInputs(c, 'float32');
      const options = { ...caseOptions(c, inputs.attnMask), impl };
      const output = scaledDotProductAttention(inputs.q, inputs.k, inputs.v, options);
      const withLse = scaledDotProductAttentionWithLse(inputs.q, inputs.k, inputs.v, options);
      assert.deepEqual(output.shape, withLse.output.shape);
      assert.deepEqual(Array.from(output.data), Array.from(withLse.output.data));
    });

    it('does not modify its inputs', () => {
      const c = CASES.find((x) => x.name === 'dropout with GQA, causal and a mask')!;
      const inputs = caseInputs(c, 'float32');
      const before = [inputs.q, inputs.k, inputs.v, inputs.gradOutput, inputs.attnMask!].map((t) => Array.from(t.data));
      const options = { ...caseOptions(c, inputs.attnMask), impl };
      scaledDotProductAttentionWithLse(inputs.q, inputs.k, inputs.v, options);
      scaledDotProductAttentionBackward(inputs.q, inputs.k, inputs.v, inputs.gradOutput, options);
      const after = [inputs.q, inputs.k, inputs.v, inputs.gradOutput, inputs.attnMask!].map((t) => Array.from(t.data));
      assert.deepEqual(after, before);
    });

    it('gives a fully masked row zeros, an lse of -Infinity and zero gradients, never NaN', () => {
      // Three ways to mask a whole row: a bool mask, an additive −∞ mask, and causal with L > S.
      const q = randn([1, 2, 4, 3], { seed: 3, dtype: hi });
      const k = randn([1, 2, 3, 3], { seed: 4, dtype: hi });
      const v = randn([1, 2, 3, 2], { seed: 5, dtype: hi });
      const dO = randn([1, 2, 4, 2], { seed: 6, dtype: hi });
      const rowMasked = [true, false, true, true]; // row 1 sees nothing
      const boolMask = tensor(rowMasked.flatMap((keep) => [keep, keep, keep].map(Number)), [4, 3], { dtype: 'bool' });
      const addMask = tensor(rowMasked.flatMap((keep) => [0, 0, 0].map((z) => (keep ? z : -Infinity))), [4, 3], { dtype: hi });
      for (const options of [{ attnMask: boolMask }, { attnMask: addMask }, { isCausal: true }]) {
        // Under causal with L = 4 > S = 3, row 0 sees keys j <= 0 + 3 − 4 = −1: none.
        const masked = 'isCausal' in options ? 0 : 1;
        const { output, lse } = scaledDotProductAttentionWithLse(q, k, v, { ...options, impl });
        const grads = scaledDotProductAttentionBackward(q, k, v, dO, { ...options, impl });
        for (const h of [0, 1]) {
          assert.equal(lse.data[h * 4 + masked], -Infinity);
          assert.deepEqual(Array.from(output.data.slice((h * 4 + masked) * 2, (h * 4 + masked) * 2 + 2)), [0, 0]);
          assert.deepEqual(Array.from(grads.dq.data.slice((h * 4 + masked) * 3, (h * 4 + masked) * 3 + 3)), [0, 0, 0]);
        }
        for (const t of [output, lse, grads.dq, grads.dk, grads.dv]) assert.ok(t.data.every((x) => !Number.isNaN(x)));
      }
      // Every row masked: all gradients are zero.
      const none = scaledDotProductAttentionBackward(q, k, v, dO, { attnMask: zeros([4, 3], { dtype: 'bool' }), impl });
      for (const t of [none.dq, none.dk, none.dv]) assert.ok(t.data.every((x) => x === 0));
    });

    describe('backward', () => {
      it(`matches the chain-rule formula in ${hi} on every case`, () => {
        for (const c of casesFor(impl, hi)) {
          const inputs = caseInputs(c, hi, 2);
          const grads = scaledDotProductAttentionBackward(inputs.q, inputs.k, inputs.v, inputs.gradOutput, { ...caseOptions(c, inputs.attnMask), impl });
          const exact = refAttentionBackward(inputs.q, inputs.k, inputs.v, inputs.gradOutput, refOptions(caseOptions(c, inputs.attnMask)));
          const { l, s, e, ev } = dims(c);
          const mag = maxAbs(refAttention(inputs.q, inputs.k, inputs.v, refOptions(caseOptions(c, inputs.attnMask))).scoreMag);
          for (const name of ['dq', 'dk', 'dv'] as const) {
            const scale = maxAbs(exact[name]);
            assert.deepEqual(grads[name].shape, inputs[name === 'dq' ? 'q' : name === 'dk' ? 'k' : 'v'].shape);
            assertClose(grads[name].data, exact[name], (i) => gradTolerance(hi, l + s + e + ev, mag, exact[name][i], scale), `${c.name} ${name}`);
          }
          // dσ_h sums −p_sink D_i over every row of the head: an error per row, L · batch rows.
          const rows = inputs.q.size / e;
          checkDsinks(c, hi, grads, exact.dsinks, (i) => rows * gradTolerance(hi, l + s + e + ev, mag, exact.dsinks[i], maxAbs(exact.dsinks)));
        }
      });

      for (const dtype of dtypes.filter((d) => d !== hi)) {
        it(`matches the chain-rule formula in ${dtype} within its epsilon`, () => {
          for (const c of GRADIENT_CASES.filter((x) => casesFor(impl, dtype).includes(x))) {
            const inputs = caseInputs(c, dtype, 3);
            const grads = scaledDotProductAttentionBackward(inputs.q, inputs.k, inputs.v, inputs.gradOutput, { ...caseOptions(c, inputs.attnMask), impl });
            const exact = refAttentionBackward(inputs.q, inputs.k, inputs.v, inputs.gradOutput, refOptions(caseOptions(c, inputs.attnMask)));
            const { l, s, e, ev } = dims(c);
            const mag = maxAbs(refAttention(inputs.q, inputs.k, inputs.v, refOptions(caseOptions(c, inputs.attnMask))).scoreMag);
            for (const name of ['dq', 'dk', 'dv'] as const) {
              assert.equal(grads[name].dtype, dtype);
              assert.ok(representable(grads[name].data, dtype), `${c.name} ${name} is rounded to ${dtype}`);
              const scale = maxAbs(exact[name]);
              assertClose(grads[name].data, exact[name], (i) => gradTolerance(dtype, l + s + e + ev, mag, exact[name][i], scale), `${c.name} ${dtype} ${name}`);
            }
            const rows = inputs.q.size / e;
            checkDsinks(c, dtype, grads, exact.dsinks, (i) => rows * gradTolerance(dtype, l + s + e + ev, mag, exact.dsinks[i], maxAbs(exact.dsinks)));
          }
        });
      }

      for (const dtype of dtypes) {
        it(`given the forward's saved output and lse in ${dtype}, returns the same gradients bit for bit without running a forward`, () => {
          const backend = BACKENDS.find((b) => b.name === impl)!;
          for (const c of GRADIENT_CASES) {
            const inputs = caseInputs(c, dtype, 5);
            const options = { ...caseOptions(c, inputs.attnMask), impl };
            const plain = scaledDotProductAttentionBackward(inputs.q, inputs.k, inputs.v, inputs.gradOutput, options);
            const saved = scaledDotProductAttentionWithLse(inputs.q, inputs.k, inputs.v, options);
            const forward = backend.forward;
            let forwards = 0;
            backend.forward = (p) => { forwards++; return forward(p); };
            let fromSaved: ReturnType<typeof scaledDotProductAttentionBackward>;
            try {
              fromSaved = scaledDotProductAttentionBackward(inputs.q, inputs.k, inputs.v, inputs.gradOutput, { ...options, saved });
            } finally {
              backend.forward = forward;
            }
            assert.equal(forwards, 0, `${c.name}: the backward ran a forward despite saved`);
            for (const name of ['dq', 'dk', 'dv'] as const) {
              assert.equal(fromSaved[name].dtype, plain[name].dtype);
              assert.deepEqual(fromSaved[name].shape, plain[name].shape);
              const got = fromSaved[name].data;
              const same = plain[name].data.every((x, i) => Object.is(x, got[i]));
              assert.ok(same, `${c.name} ${dtype} ${name}: the bytes differ with saved`);
            }
          }
        });
      }

      // Finite differences need float64; a backend without it is held to the chain-rule formula above,
      // which the float64 backends tie to their own forward here.
      if (hi === 'float64') it('matches central finite differences of its own forward in float64 (masks, causal, GQA, dropout)', () => {
        for (const c of GRADIENT_CASES) {
          const inputs = caseInputs(c, 'float64', 4);
          const options = { ...caseOptions(c, inputs.attnMask), impl };
          const grads = scaledDotProductAttentionBackward(inputs.q, inputs.k, inputs.v, inputs.gradOutput, options);
          const loss = (q: Tensor, k: Tensor, v: Tensor) => dot(scaledDotProductAttention(q, k, v, options).data, inputs.gradOutput.data);
          const f64 = (x: Float64Array, like: Tensor) => tensor(x, like.shape, { dtype: 'float64' });
          const numeric = {
            dq: finiteDifferenceGradient((x) => loss(f64(x, inputs.q), inputs.k, inputs.v), inputs.q.data as Float64Array),
            dk: finiteDifferenceGradient((x) => loss(inputs.q, f64(x, inputs.k), inputs.v), inputs.k.data as Float64Array),
            dv: finiteDifferenceGradient((x) => loss(inputs.q, inputs.k, f64(x, inputs.v)), inputs.v.data as Float64Array),
          };
          for (const name of ['dq', 'dk', 'dv'] as const) {
            assert.ok(maxAbs(numeric[name]) > 0 || c.name.includes('masked'), `${c.name} ${name}: a gradient that is not all zero`);
            assertClose(grads[name].data, numeric[name], 1e-7 * (1 + maxAbs(numeric[name])), `${c.name} ${name} vs finite differences`);
          }
          if (c.sinks) {
            const numericSinks = finiteDifferenceGradient(
              (x) => dot(scaledDotProductAttention(inputs.q, inputs.k, inputs.v, { ...options, sinks: Array.from(x) }).data, inputs.gradOutput.data),
              Float64Array.from(c.sinks));
            assert.ok(maxAbs(numericSinks) > 0, `${c.name}: a dsinks that is not all zero`);
            assertClose(grads.dsinks!.data, numericSinks, 1e-7 * (1 + maxAbs(numericSinks)), `${c.name} dsinks vs finite differences`);
          }
        }
      });
    });

    describe('dropout', () => {
      it('is deterministic: the same seed gives the same bytes, another seed other weights', () => {
        const c = CASES.find((x) => x.name === 'dropout 0.3')!;
        const inputs = caseInputs(c, 'float32');
        const run = (seed: number) => scaledDotProductAttention(inputs.q, inputs.k, inputs.v, { dropoutP: 0.3, seed, impl }).data;
        assert.deepEqual(Array.from(run(7)), Array.from(run(7)));
        assert.notDeepEqual(Array.from(run(7)), Array.from(run(8)));
        const noDropout = scaledDotProductAttention(inputs.q, inputs.k, inputs.v, { impl }).data;
        assert.deepEqual(Array.from(scaledDotProductAttention(inputs.q, inputs.k, inputs.v, { dropoutP: 0, seed: 99, impl }).data), Array.from(noDropout));
      });

      it('keeps a fraction 1 − p of the weights (binomial, 5 sigma) and scales them by 1/(1 − p)', () => {
        // q = 0 makes every weight 1/S; v = I makes output[i, j] the weight of key j after dropout.
        const [heads, l, s, p] = [2, 48, 64, 0.25];
        const identity = Array.from({ length: heads * s * s }, (_, i) => (Math.floor(i / s) % s === i % s ? 1 : 0));
        const v = tensor(identity, [1, heads, s, s], { dtype: hi });
        const q = zeros([1, heads, l, 4], { dtype: hi });
        const k = randn([1, heads, s, 4], { seed: 1, dtype: hi });
        const out = scaledDotProductAttention(q, k, v, { dropoutP: p, seed: 2024, impl }).data;
        const kept = out.filter((x) => x !== 0).length;
        const n = heads * l * s;
        assert.ok(Math.abs(kept - n * (1 - p)) <= 5 * Math.sqrt(n * p * (1 - p)), `kept ${kept} of ${n}, expected about ${n * (1 - p)}`);
        const keptValue = 1 / s / (1 - p);
        assert.ok(out.every((x) => x === 0 || Math.abs(x - keptValue) <= 4 * dtypeInfo(hi).eps * keptValue), 'kept weights are 1/(S(1 − p))');
      });
    });
  });
}

describe('attention backends', () => {
  it('lists the reference backend, and impl auto agrees with it', () => {
    assert.ok(IMPLS.includes('reference'));
    const c = CASES.find((x) => x.name === 'MQA (Hkv 1) causal additive mask [Hq,L,S]')!;
    const inputs = caseInputs(c, 'float64');
    const options = caseOptions(c, inputs.attnMask);
    const auto = scaledDotProductAttention(inputs.q, inputs.k, inputs.v, options);
    const reference = scaledDotProductAttention(inputs.q, inputs.k, inputs.v, { ...options, impl: 'reference' });
    assertClose(auto.data, reference.data, 1e-12, 'auto vs reference');
  });

  it('keeps float16 inputs with logits far past ln(65504) finite', () => {
    // Scores of 100 · 100 · 4 / 2 = 20000 overflow exp in float16 (ln 65504 ≈ 11.09) unless the max is subtracted.
    const big = full([1, 1, 3, 4], 100, { dtype: 'float16' });
    const v = randn([1, 1, 3, 2], { seed: 1, dtype: 'float16' });
    for (const impl of IMPLS) {
      const { output, lse } = scaledDotProductAttentionWithLse(big, big, v, { impl });
      assert.ok(output.data.every(Number.isFinite) && lse.data.every(Number.isFinite), impl);
      assert.ok(lse.data[0] > dtypeInfo('float16').lnMax, 'the logits really are past ln(65504)');
    }
  });
});
