import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { analyzeHead, headsShape, type HeadFigures, type QkView } from '../src/inspect/index.js';
import { Rng } from '../src/tensor/index.js';
import { referenceHead, type Case, type Dims, type RefHead } from './helpers/inspect-reference.js';

function makeCase(dims: Dims, seed: number, std: number): Case {
  const rng = new Rng(seed);
  const fill = (n: number): Float64Array => Float64Array.from({ length: n }, () => std * rng.normal());
  return { ...dims, q: fill(dims.batch * dims.hq * dims.L * dims.D), k: fill(dims.batch * dims.hkv * dims.S * dims.D) };
}

function bhldView(data: Float64Array, batch: number, heads: number, length: number, dim: number): QkView {
  return { data, ...headsShape('test', [batch, heads, length, dim], 'bhld', undefined, '--heads') };
}

function close(actual: number, expected: number, what: string): void {
  const tol = 1e-9 * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected}`);
}

function assertMatches(got: HeadFigures, ref: RefHead, what: string): void {
  for (const key of ['logitStd', 'logitMax', 'entropyRatioMean', 'maxProbMean', 'saturatedShare', 'jacobianNormMedian', 'firstKeyMass'] as const) {
    close(got[key], ref[key], `${what} ${key}`);
  }
  close(got.fp16.scoreMaxAbs, ref.scoreMaxAbs, `${what} fp16.scoreMaxAbs`);
  close(got.fp16.overflowShare, ref.overflowShare, `${what} fp16.overflowShare`);
  for (const rule of ['rsqrt', 'inverse', 'qkNorm', 'softcap50'] as const) {
    for (const key of ['logitStd', 'entropyRatioMean', 'maxProbMean', 'saturatedShare'] as const) {
      close(got.whatIf[rule][key], ref.whatIf[rule][key], `${what} whatIf.${rule}.${key}`);
    }
  }
}

function check(c: Case, scale: number, causal: boolean, what: string): void {
  const q = bhldView(c.q, c.batch, c.hq, c.L, c.D);
  const k = bhldView(c.k, c.batch, c.hkv, c.S, c.D);
  for (let h = 0; h < c.hq; h++) {
    const outcome = analyzeHead('L', q, k, h, scale, causal);
    assert.equal(outcome.kind, 'figures');
    if (outcome.kind !== 'figures') return;
    const f = outcome.figures;
    assert.deepEqual([f.layer, f.head, f.queries, f.keys, f.headDim], ['L', h, c.L, c.S, c.D]);
    assertMatches(f, referenceHead(c, h, scale, causal), `${what} head ${h}`);
  }
}

describe('inspect figures against the plain float64 definitions', () => {
  it('match on saturated, flat and float16-overflowing heads, causal and not, with GQA', () => {
    const dims: Dims = { batch: 2, hq: 4, hkv: 2, L: 5, S: 7, D: 8 };
    for (const std of [0.3, 1, 3, 40]) {
      for (const causal of [false, true]) check(makeCase(dims, 11, std), 1 / Math.sqrt(dims.D), causal, `std ${std} causal ${causal}`);
    }
    // std 80, D 64: q·k has std 80² · 8 = 51200, so some |q·k| pass 65504 and overflowShare is tested away from 0 and 1.
    const big = makeCase({ ...dims, D: 64 }, 3, 80);
    const ref = referenceHead(big, 0, 1 / 8, false);
    assert.ok(ref.overflowShare > 0 && ref.overflowShare < 1, `overflow share ${ref.overflowShare}`);
    check(big, 1 / 8, false, 'overflow');
  });

  it('match for any shape, scale and mask (property)', () => {
    fc.assert(fc.property(
      fc.record({
        batch: fc.integer({ min: 1, max: 2 }), hkv: fc.integer({ min: 1, max: 2 }), group: fc.integer({ min: 1, max: 3 }),
        L: fc.integer({ min: 1, max: 6 }), extra: fc.integer({ min: 0, max: 3 }), D: fc.integer({ min: 1, max: 9 }),
        seed: fc.integer({ min: 0, max: 1e6 }), std: fc.constantFrom(0.5, 2, 6), scale: fc.double({ min: 0.05, max: 3, noNaN: true }), causal: fc.boolean(),
      }),
      (p) => {
        const dims: Dims = { batch: p.batch, hq: p.hkv * p.group, hkv: p.hkv, L: p.L, S: p.L + p.extra, D: p.D };
        const c = makeCase(dims, p.seed, p.std);
        // S = 1 (L = 1, extra = 0) leaves no row with two keys: the row figures are then undefined (NaN), checked below.
        if (dims.S < 2) return;
        check(c, p.scale, p.causal, JSON.stringify(p));
      },
    ), { numRuns: 60 });
  });

  it('leaves rows with one unmasked key out of the row figures, and reports NaN when no row is left', () => {
    // causal, L = S = 3: row 0 sees one key and is left out, so the first key's mean mass is over rows 1 and 2.
    const c = makeCase({ batch: 1, hq: 1, hkv: 1, L: 3, S: 3, D: 4 }, 5, 1);
    const q = bhldView(c.q, 1, 1, 3, 4);
    const k = bhldView(c.k, 1, 1, 3, 4);
    const outcome = analyzeHead('L', q, k, 0, 0.5, true);
    assert.equal(outcome.kind, 'figures');
    if (outcome.kind === 'figures') close(outcome.uniformFirstKeyMass, (1 / 2 + 1 / 3) / 2, 'uniform first-key mass');
    const single = makeCase({ batch: 1, hq: 1, hkv: 1, L: 2, S: 1, D: 4 }, 6, 1);
    const lone = analyzeHead('L', bhldView(single.q, 1, 1, 2, 4), bhldView(single.k, 1, 1, 1, 4), 0, 0.5, false);
    assert.ok(lone.kind === 'figures' && Number.isNaN(lone.figures.entropyRatioMean) && Number.isFinite(lone.figures.logitStd));
  });

  it('reads blhd and rank-3 (batch, length, heads·dim) tensors as the same heads', () => {
    const dims: Dims = { batch: 2, hq: 3, hkv: 3, L: 4, S: 4, D: 5 };
    const c = makeCase(dims, 9, 1.5);
    // bhld → blhd by moving each (b, h, l) vector to (b, l, h).
    const toBlhd = (x: Float64Array, heads: number, len: number): Float64Array => {
      const out = new Float64Array(x.length);
      for (let b = 0; b < dims.batch; b++) for (let h = 0; h < heads; h++) for (let l = 0; l < len; l++) {
        out.set(x.subarray(((b * heads + h) * len + l) * dims.D, ((b * heads + h) * len + l + 1) * dims.D), ((b * len + l) * heads + h) * dims.D);
      }
      return out;
    };
    const qBlhd = toBlhd(c.q, 3, 4);
    const kBlhd = toBlhd(c.k, 3, 4);
    const views: [QkView, QkView][] = [
      [{ data: qBlhd, ...headsShape('q', [2, 4, 3, 5], 'blhd', undefined, '--heads') }, { data: kBlhd, ...headsShape('k', [2, 4, 3, 5], 'blhd', undefined, '--heads') }],
      [{ data: qBlhd, ...headsShape('q', [2, 4, 15], 'bhld', 3, '--heads') }, { data: kBlhd, ...headsShape('k', [2, 4, 15], 'bhld', 3, '--heads') }],
    ];
    for (const [q, k] of views) {
      for (let h = 0; h < 3; h++) {
        const outcome = analyzeHead('L', q, k, h, 0.4, true);
        assert.ok(outcome.kind === 'figures');
        assertMatches(outcome.figures, referenceHead(c, h, 0.4, true), `head ${h}`);
      }
    }
  });

  it('reports a head with NaN or Infinity in its Q or in the K it reads as non-finite', () => {
    const c = makeCase({ batch: 1, hq: 4, hkv: 2, L: 3, S: 3, D: 4 }, 7, 1);
    c.q[(1 * 3 + 2) * 4 + 1] = NaN; // head 1
    c.k[(1 * 3 + 0) * 4 + 3] = Infinity; // kv head 1: query heads 2 and 3
    const q = bhldView(c.q, 1, 4, 3, 4);
    const k = bhldView(c.k, 1, 2, 3, 4);
    assert.deepEqual([0, 1, 2, 3].map((h) => analyzeHead('L', q, k, h, 0.5, false).kind), ['figures', 'non-finite', 'non-finite', 'non-finite']);
    const h1 = analyzeHead('L', q, k, 1, 0.5, false);
    assert.ok(h1.kind === 'non-finite' && h1.qCount === 1 && h1.kCount === 0);
  });
});

describe('the qkNorm what-if of an all-zero vector (no epsilon, by definition)', () => {
  it('leaves every qkNorm row figure undefined (NaN, null in the JSON), saturatedShare too, not 0', () => {
    const dims: Dims = { batch: 1, hq: 1, hkv: 1, L: 3, S: 4, D: 4 };
    const c = makeCase(dims, 5, 1);
    c.q.fill(0, 0, dims.D); // query 0 is all zeros: its rms is 0 and its qkNorm logits 0/0
    const outcome = analyzeHead('L', bhldView(c.q, 1, 1, 3, 4), bhldView(c.k, 1, 1, 4, 4), 0, 0.5, false);
    assert.equal(outcome.kind, 'figures');
    if (outcome.kind !== 'figures') return;
    const w = outcome.figures.whatIf.qkNorm;
    assert.deepEqual([w.entropyRatioMean, w.maxProbMean, w.saturatedShare].map(Number.isNaN), [true, true, true], JSON.stringify(w));
    assert.ok(Number.isFinite(outcome.figures.whatIf.rsqrt.saturatedShare));
  });
});
