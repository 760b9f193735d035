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
 * A BERT-like layer as onnxruntime's dynamic quantization leaves it
 * (transformers.js' model_quantized.onnx): q·kᵀ and p·v each as
 * DynamicQuantizeLinear on both operands, MatMulInteger, Cast, and a Mul by
 * the product of the two scales; then ÷√d, the padding mask, Softmax.
 * inspect must find the layer, take q and k as the float tensors quantized,
 * and keep the dequantizing Mul out of the scale. The logits it reports are
 * the model's, from 8-bit q and k: within the quantization's error of the
 * float64 figures of the float q and k.
 */

const dir = mkdtempSync(join(tmpdir(), 'scaledot-onnx-quant-'));
const [B, T, E, H, D] = [2, 6, 8, 2, 4];
const LENGTHS = [6, 4];

/** DynamicQuantizeLinear's three outputs are t, t+1, t+2 in GraphBuilder's numbering. */
function dql(g: GraphBuilder, x: string, scope: string): [string, string, string] {
  const first = g.node('DynamicQuantizeLinear', [x], {}, scope, 3);
  const n = Number(first.slice(1));
  return [first, `t${n + 1}`, `t${n + 2}`];
}

function qMatMul(g: GraphBuilder, a: string, b: string, scope: string): string {
  const [qa, sa, za] = dql(g, a, scope);
  const [qb, sb, zb] = dql(g, b, scope);
  const product = g.node('Cast', [g.node('MatMulInteger', [qa, qb, za, zb], {}, scope)], { to: 1 }, scope);
  return g.node('Mul', [product, g.node('Mul', [sa, sb], {}, scope)], {}, scope);
}

describe('inspect MODEL.onnx quantized by onnxruntime (DynamicQuantizeLinear + MatMulInteger)', { skip: ortSkip }, () => {
  it('finds the layer, reads q and k before quantization, and keeps the dequantizing Mul out of the scale', async () => {
    const rand = random(5);
    const x = Float64Array.from({ length: B * T * E }, () => Math.fround(rand()));
    const w = (n: number) => Float32Array.from({ length: E * n }, () => rand());
    const [wq, wk, wv] = [w(H * D), w(H * D), w(H * D)];
    const g = new GraphBuilder();
    const scope = '/encoder/layer.0/attention/self';
    const xin = g.input('x', 'float', [B, T, E]);
    const mask = g.input('attention_mask', 'float', [B, 1, 1, T]);
    const heads = (wt: Float32Array, name: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [g.node('MatMul', [xin, g.init(name, [E, H * D], wt)], {}, scope),
      g.init(`${name}_shape`, [4], [B, T, H, D], 'int64')], {}, scope)], { perm }, scope);
    const q = heads(wq, 'wq', [0, 2, 1, 3]);
    const kT = heads(wk, 'wk', [0, 2, 3, 1]);
    const v = heads(wv, 'wv', [0, 2, 1, 3]);
    const scores = g.node('Div', [qMatMul(g, q, kT, scope), g.init('sqrt_d', [], [Math.sqrt(D)])], {}, scope);
    const probs = g.node('Softmax', [g.node('Add', [scores, mask], {}, scope)], { axis: -1 }, scope);
    g.output(qMatMul(g, probs, v, scope), [B, H, T, D]);
    const path = join(dir, 'bert-quantized.onnx');
    writeFileSync(path, g.model(13));
    const xPath = join(dir, 'x.npy');
    const mPath = join(dir, 'attention_mask.npy');
    writeFileSync(xPath, npyBytes(x, [B, T, E], '<f4'));
    writeFileSync(mPath, npyBytes(LENGTHS.flatMap((n) => Array.from({ length: T }, (_, j) => (j < n ? 0 : -1e4))), [B, 1, 1, T], '<f4'));

    // Float q and k as the test's own projections, and the keys the mask keeps.
    const [qs, ks] = [projectHeads(x, wq, { B, T, E, H, D }), projectHeads(x, wk, { B, T, E, H, D })];
    const keep = paddingKeep(LENGTHS, T);

    for (const runtime of ORT_RUNTIMES) {
      const result = await inspectOnnx({ model: path, inputs: [{ name: 'x', path: xPath }, { name: 'attention_mask', path: mPath }], runtime }, 'test');
      assert.equal(result.inputs.length, 1, runtime);
      const layer = result.inputs[0];
      assert.equal(layer.layer, 'encoder/layer.0/attention/self');
      assert.deepEqual([layer.heads, layer.kvHeads, layer.headDim], [H, H, D]);
      assert.deepEqual(layer.scaleAt.map((f) => `${f.side}:${f.op}`), ['scores:Div'], 'the dequantizing Mul is no factor of the scale');
      assert.ok(Math.abs(layer.scale - 1 / Math.sqrt(D)) < 1e-7, `scale ${layer.scale}`);
      assert.ok(Math.abs(layer.scaleMeasured! / layer.scale - 1) < 0.02, `the logits show a scale of ${layer.scaleMeasured}`);
      assert.ok(layer.logitResidualMax! > 0 && layer.logitResidualMax! < 0.1, `8-bit q·k leaves a residual ${layer.logitResidualMax} against the float q·k`);
      for (let h = 0; h < H; h++) {
        const got = result.heads.find((r) => r.head === h)!;
        const e = referenceHead(qs.map((qb) => qb[h]), ks.map((kb) => kb[h]), keep, 1 / Math.sqrt(D), null, D);
        const near = (a: number, b: number, what: string, tol: number) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${runtime} head ${h} ${what}: ${a} vs ${b}`);
        near(got.fp16.scoreMaxAbs, e.scoreMaxAbs, 'raw |q·k| (float q and k, exact)', 1e-5);
        near(got.whatIf.rsqrt.logitStd, e.rsqrtLogitStd, 'what-if 1/√d (float q and k, exact)', 1e-5);
        near(got.logitStd, e.logitStd, 'logitStd (8-bit logits)', 0.03);
        near(got.maxProbMean, e.maxProbMean, 'max p (8-bit logits)', 0.03);
      }
    }
  });
});
