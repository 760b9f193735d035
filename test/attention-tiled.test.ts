import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Rng, Tensor, randn, tensor } from '../src/tensor/index.js';
import { prepareAttention } from '../src/attention/options.js';
import type { AttentionProblem } from '../src/attention/problem.js';
import { referenceBackward, referenceForward } from '../src/attention/reference.js';
import { DEFAULT_TILES, tiledForward, type TileSizes } from '../src/attention/tiled-forward.js';
import { tiledBackward } from '../src/attention/tiled-backward.js';
import { refAttention, refAttentionBackward } from './helpers/attention-reference.js';
import { refOptions } from './helpers/ref-options.js';
import { attentionConfigArb, type AttentionConfig } from './helpers/attention-arbitrary.js';
import { assertClose, gradTolerance, lseTolerance, maxAbs, outputTolerance } from './helpers/close.js';

// Kernel-specific cases only: block boundaries, partial blocks, causal blocks
// with L != S, rows whose running max moves between blocks, long rows. The
// shared suite (attention.test.ts) checks every backend on the general cases.

interface Config extends AttentionConfig {
  tiles: TileSizes;
}

function inputs(c: Config) {
  const hq = c.hkv * c.group;
  const q = randn([c.batch, hq, c.l, c.e], { seed: c.seed, dtype: 'float64' });
  const k = randn([c.batch, c.hkv, c.s, c.e], { seed: c.seed + 1, dtype: 'float64' });
  const v = randn([c.batch, c.hkv, c.s, c.ev], { seed: c.seed + 2, dtype: 'float64' });
  const dOut = randn([c.batch, hq, c.l, c.ev], { seed: c.seed + 3, dtype: 'float64' });
  let attnMask: Tensor | undefined;
  if (c.maskKind !== 'none') {
    const rng = new Rng(c.seed + 4);
    const values = Array.from({ length: c.l * c.s }, () =>
      c.maskKind === 'bool' ? (rng.uniform() < 0.3 ? 0 : 1) : rng.uniform() < 0.2 ? -Infinity : 4 * rng.uniform() - 2);
    attnMask = tensor(values, [c.l, c.s], { dtype: c.maskKind === 'bool' ? 'bool' : 'float64' });
  }
  const options = {
    isCausal: c.causal, enableGqa: true, dropoutP: c.dropoutP, seed: c.seed, ...(attnMask ? { attnMask } : {}),
  };
  return { q, k, v, dOut, attnMask, options, problem: prepareAttention('test', q, k, v, options) };
}

/** Checks tiled forward and backward against the independent float64 formula of the test helpers. */
function checkAgainstFormula(c: Config): void {
  const { q, k, v, dOut, options, problem } = inputs(c);
  const what = JSON.stringify(c);
  const refOpts = refOptions(options);
  const exact = refAttention(q, k, v, refOpts);
  const { output, lse } = tiledForward(problem, c.tiles);
  assertClose(output, exact.output, (i) =>
    outputTolerance('float64', c.s, c.e, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / c.ev)], maxAbs(v.data)), `${what} output`);
  assertClose(lse, exact.lse, (i) => lseTolerance('float64', c.s, c.e, exact.lse[i], exact.scoreMag[i]), `${what} lse`);

  const grads = tiledBackward(problem, output, lse, dOut.data as Float64Array, c.tiles);
  const exactGrads = refAttentionBackward(q, k, v, dOut, refOpts);
  const n = c.l + c.s + c.e + c.ev;
  const scoreMag = maxAbs(exact.scoreMag);
  // dS = P (dP − D) cancels: a gradient that is exactly 0 (S = 1, say) comes out as
  // rounding noise of the size of its terms, so errors are measured against those.
  const termScale = (maxAbs(dOut.data) * maxAbs(v.data) * (1 + maxAbs(q.data) + maxAbs(k.data))) / (1 - c.dropoutP);
  for (const name of ['dq', 'dk', 'dv'] as const) {
    const scaleOf = Math.max(maxAbs(exactGrads[name]), termScale);
    assertClose(grads[name], exactGrads[name], (i) => gradTolerance('float64', n, scoreMag, exactGrads[name][i], scaleOf), `${what} ${name}`);
  }
}

const configArb: fc.Arbitrary<Config> = fc.tuple(
  attentionConfigArb({
    dtypes: ['float64'], l: [0, 21], s: [0, 21], maxE: 9, maxEv: 7, maxGroup: 3, maskKinds: ['none', 'bool', 'additive'], dropoutPs: [0, 0, 0.4],
  }),
  fc.record({ blockQ: fc.integer({ min: 1, max: 9 }), blockK: fc.integer({ min: 1, max: 9 }) }),
).map(([config, tiles]) => ({ ...config, tiles }));

describe('tiled attention kernels', () => {
  it('match the float64 formula for every block size, partial blocks, L != S, causal, masks, GQA and dropout', () => {
    fc.assert(fc.property(configArb, (c) => checkAgainstFormula(c)), { numRuns: 80, seed: 4 });
  });

  it('cut causal blocks at the diagonal right for L > S, L < S, L = S and blocks of 1', () => {
    const base = { batch: 1, hkv: 2, group: 2, e: 5, ev: 3, dtype: 'float64' as const, causal: true, maskKind: 'none' as const, dropoutP: 0, seed: 9 };
    for (const [l, s] of [[19, 7], [7, 19], [16, 16], [17, 33]]) {
      for (const tiles of [{ blockQ: 4, blockK: 4 }, { blockQ: 1, blockK: 1 }, { blockQ: 8, blockK: 3 }, { blockQ: 5, blockK: 16 }]) {
        checkAgainstFormula({ ...base, l, s, tiles });
      }
    }
  });

  it('give zeros, lse −∞ and zero gradients for rows with no visible key, never NaN', () => {
    // L > S causal: query i sees keys j <= i − 9, so rows 0..8 see nothing; they straddle two query blocks.
    const c: Config = {
      batch: 1, hkv: 1, group: 2, l: 13, s: 4, e: 4, ev: 3, dtype: 'float64', causal: true, maskKind: 'none', dropoutP: 0.3, seed: 3,
      tiles: { blockQ: 4, blockK: 2 },
    };
    const { dOut, problem } = inputs(c);
    const { output, lse } = tiledForward(problem, c.tiles);
    const { dq } = tiledBackward(problem, output, lse, dOut.data as Float64Array, c.tiles);
    for (let h = 0; h < 2; h++) {
      for (let i = 0; i < c.l; i++) {
        const row = h * c.l + i;
        const blind = i < c.l - c.s;
        assert.equal(lse[row] === -Infinity, blind, `lse row ${row}`);
        for (let t = 0; t < c.ev; t++) if (blind) assert.equal(output[row * c.ev + t], 0);
        for (let t = 0; t < c.e; t++) if (blind) assert.equal(dq[row * c.e + t], 0);
      }
    }
    for (const x of [...output, ...dq]) assert.ok(Number.isFinite(x));
  });

  it('rescale correctly when the running max grows or shrinks by hundreds between key blocks', () => {
    // Key j = ramp_j · q-direction: scores rise (or fall) by ~40 per key, so every
    // new block either moves the max far up (alpha underflows to 0) or adds weights that underflow.
    const l = 6;
    const s = 23;
    const e = 3;
    for (const direction of [1, -1]) {
      const q = tensor(Array.from({ length: l * e }, (_, t) => (t % e === 0 ? 1 + (t / e) * 0.01 : 0.1)), [1, 1, l, e], { dtype: 'float64' });
      const k = tensor(Array.from({ length: s * e }, (_, t) => (t % e === 0 ? direction * 40 * Math.floor(t / e) : 0.5)), [1, 1, s, e], { dtype: 'float64' });
      const v = randn([1, 1, s, 2], { seed: 5, dtype: 'float64' });
      const dOut = randn([1, 1, l, 2], { seed: 6, dtype: 'float64' });
      const problem = prepareAttention('test', q, k, v, { scale: 1 });
      const tiles = { blockQ: 4, blockK: 5 };
      const { output, lse } = tiledForward(problem, tiles);
      const exact = refAttention(q, k, v, { scale: 1 });
      assertClose(output, exact.output, (i) => outputTolerance('float64', s, e, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / 2)], maxAbs(v.data)), `direction ${direction} output`);
      assertClose(lse, exact.lse, (i) => lseTolerance('float64', s, e, exact.lse[i], exact.scoreMag[i]), `direction ${direction} lse`);
      const grads = tiledBackward(problem, output, lse, dOut.data as Float64Array, tiles);
      for (const x of [...grads.dq, ...grads.dk, ...grads.dv]) assert.ok(Number.isFinite(x), `direction ${direction}: finite gradients`);
    }
  });

  it('keep float32 long rows (S = 4096, d = 64, unit variance) within 1e-5 of float64, forward and backward', () => {
    // A window of queries against all 4096 keys: each row's online softmax runs over 64 key blocks.
    const [l, s, e] = [48, 4096, 64];
    const q = randn([1, 1, l, e], { seed: 21 });
    const k = randn([1, 1, s, e], { seed: 22 });
    const v = randn([1, 1, s, e], { seed: 23 });
    const dOut = randn([1, 1, l, e], { seed: 24 });
    const p32 = prepareAttention('test', q, k, v, { isCausal: true });
    // The same float32 inputs, computed and kept in float64 by the plain-loop reference.
    const p64: AttentionProblem = { ...p32, dtype: 'float64' };
    const exact = referenceForward(p64);
    const { output, lse } = tiledForward(p32, DEFAULT_TILES);
    assert.ok(output instanceof Float32Array);
    assertClose(output, exact.output, 1e-5, 'float32 output');
    assertClose(lse, exact.lse, 1e-5, 'float32 lse');
    const grads = tiledBackward(p32, output, lse, dOut.data as Float32Array, DEFAULT_TILES);
    const exactGrads = referenceBackward(p64, exact.output, exact.lse, dOut.data as Float32Array);
    for (const name of ['dq', 'dk', 'dv'] as const) assertClose(grads[name], exactGrads[name], 1e-5, `float32 ${name}`);
  });
});
