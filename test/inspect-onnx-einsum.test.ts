import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectOnnx } from '../src/inspect/onnx/inspect-onnx.js';
import { referenceHead } from './helpers/head-reference.js';
import { GraphBuilder, npyBytes } from './helpers/onnx-graph.js';
import { paddingKeep, projectHeads, random } from './helpers/onnx-layer-inputs.js';
import { ORT_RUNTIMES, ortSkip } from './helpers/onnx-runtime.js';

/*
 * Keras' MultiHeadAttention as tf2onnx leaves it: q and k as [B, T, H, D]
 * (no transpose), q scaled by 1/√D, scores = Einsum("aecd,abcd->acbe", k, q)
 * (key first), an additive padding mask, Softmax, then
 * Einsum("acbe,aecd->abcd", p, v). Every head against the float64 reference
 * of the test's own projections.
 */

const dir = mkdtempSync(join(tmpdir(), 'scaledot-onnx-einsum-'));
const [B, T, E, H, D] = [2, 5, 6, 3, 2];
const LENGTHS = [5, 3];

describe('inspect MODEL.onnx with attention written as Einsum (tf2onnx, Keras MultiHeadAttention)', { skip: ortSkip }, () => {
  it('finds the layer, lays q and k out from the equation, and equals the float64 reference per head', async () => {
    const rand = random(9);
    const x = Float64Array.from({ length: B * T * E }, () => Math.fround(rand()));
    const w = () => Float32Array.from({ length: E * H * D }, () => rand());
    const [wq, wk, wv] = [w(), w(), w()];
    const g = new GraphBuilder();
    const scope = 'model/mha/';
    const xin = g.input('x', 'float', [B, T, E]);
    const mask = g.input('mask', 'float', [B, 1, 1, T]);
    const heads = (wt: Float32Array, name: string) => g.node('Reshape', [g.node('MatMul', [xin, g.init(name, [E, H * D], wt)], {}, scope), g.init(`${name}_shape`, [4], [B, T, H, D], 'int64')], {}, scope);
    const q = g.node('Mul', [heads(wq, 'wq'), g.init('rsqrt', [], [1 / Math.sqrt(D)])], {}, scope);
    const scores = g.node('Einsum', [heads(wk, 'wk'), q], { equation: { string: 'aecd,abcd->acbe' } }, scope);
    const probs = g.node('Softmax', [g.node('Add', [scores, mask], {}, scope)], { axis: -1 }, scope);
    g.output(g.node('Einsum', [probs, heads(wv, 'wv')], { equation: { string: 'acbe,aecd->abcd' } }, scope), [B, T, H, D]);
    const path = join(dir, 'keras-mha.onnx');
    writeFileSync(path, g.model(13));
    const xPath = join(dir, 'x.npy');
    const mPath = join(dir, 'mask.npy');
    writeFileSync(xPath, npyBytes(x, [B, T, E], '<f4'));
    writeFileSync(mPath, npyBytes(LENGTHS.flatMap((n) => Array.from({ length: T }, (_, j) => (j < n ? 0 : -1e9))), [B, 1, 1, T], '<f4'));

    const [qs, ks] = [projectHeads(x, wq, { B, T, E, H, D }), projectHeads(x, wk, { B, T, E, H, D })];
    const keep = paddingKeep(LENGTHS, T);
    for (const runtime of ORT_RUNTIMES) {
      const result = await inspectOnnx({ model: path, inputs: [{ name: 'x', path: xPath }, { name: 'mask', path: mPath }], runtime }, 'test');
      assert.equal(result.inputs.length, 1, runtime);
      const layer = result.inputs[0];
      assert.deepEqual([layer.heads, layer.kvHeads, layer.headDim], [H, H, D]);
      assert.deepEqual(layer.scaleAt.map((f) => f.side), ['q']);
      assert.ok(Math.abs(layer.scale - 1 / Math.sqrt(D)) < 1e-7 && Math.abs(layer.scaleMeasured! - layer.scale) < 1e-5, `scale ${layer.scale}, measured ${layer.scaleMeasured}`);
      for (let h = 0; h < H; h++) {
        const got = result.heads.find((r) => r.head === h)!;
        const e = referenceHead(qs.map((qb) => qb[h]), ks.map((kb) => kb[h]), keep, 1 / Math.sqrt(D), null, D);
        const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 2e-4 * Math.max(1, Math.abs(b)), `${runtime} head ${h} ${what}: ${a} vs ${b}`);
        near(got.logitStd, e.logitStd, 'logitStd');
        near(got.entropyRatioMean, e.entropyRatioMean, 'entropy');
        near(got.maxProbMean, e.maxProbMean, 'max p');
        near(got.firstKeyMass, e.firstKeyMass, 'key-0 mass');
        near(got.fp16.scoreMaxAbs, e.scoreMaxAbs, 'raw |q·k|');
        near(got.whatIf.rsqrt.logitStd, e.rsqrtLogitStd, 'what-if 1/√d');
      }
    }
  });
});

describe('scoreEinsum: which equations are q·kᵀ', () => {
  it('reads q, k and their layouts from the letters, and refuses what sums no single axis or mixes positions', async () => {
    const { scoreEinsum, valuesEinsum, permuted } = await import('../src/inspect/onnx/einsum.js');
    assert.deepEqual(scoreEinsum('bhld,bhsd->bhls'), { qInput: 0, qPerm: [0, 1, 2, 3], kPerm: [0, 1, 3, 2] });
    assert.deepEqual(scoreEinsum('aecd,abcd->acbe'), { qInput: 1, qPerm: [0, 2, 1, 3], kPerm: [0, 2, 3, 1] });
    assert.deepEqual(scoreEinsum('ld, sd -> ls'), { qInput: 0, qPerm: [0, 1], kPerm: [1, 0] });
    for (const no of ['bhld,bhsd->bhsl,', 'abc,abc->ab', 'bhld,bhde->bhle,', 'bhld,bhsd->bhl', 'bhld,bhsd->blhs', 'b...ld,b...sd->b...ls', 'bhll,bhsl->bhls']) assert.equal(scoreEinsum(no), null, no);
    assert.equal(valuesEinsum('acbe,aecd->abcd', 0), true);
    assert.equal(valuesEinsum('acbe,aecd->abce', 0), false);
    // [2, 3] → its transpose.
    assert.deepEqual(Array.from(permuted({ dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }, [1, 0]).data), [1, 4, 2, 5, 3, 6]);
  });
});
