import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectOnnx, type OnnxInspectResult } from '../src/inspect/onnx/inspect-onnx.js';
import { npyBytes } from './helpers/onnx-graph.js';
import { random } from './helpers/onnx-layer-inputs.js';
import { ORT_RUNTIMES, ortSkip } from './helpers/onnx-runtime.js';
import { referenceHead } from './helpers/head-reference.js';
import { buildTransformer, type ModelSpec } from './helpers/onnx-transformer.js';

/*
 * inspect MODEL.onnx against the test's own float64 forward pass of the same
 * weights (test/helpers/onnx-transformer.ts): per head, the figures from the
 * true logits over the keys the model really keeps (causal, padding).
 */

const dir = mkdtempSync(join(tmpdir(), 'scaledot-onnx-'));

function close(actual: number, expected: number, what: string, tol = 2e-4): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs reference ${expected}`);
}

function writeInputs(name: string, spec: ModelSpec, seed: number): { x: Float64Array; mask: number[][] | null; args: { name?: string; path: string }[] } {
  const rand = random(seed);
  const x = Float64Array.from({ length: spec.batch * spec.length * spec.width }, () => Math.fround(rand()));
  const xPath = join(dir, `${name}-x.npy`);
  writeFileSync(xPath, npyBytes(x, [spec.batch, spec.length, spec.width], '<f4'));
  const args: { name?: string; path: string }[] = [{ name: 'x', path: xPath }];
  let mask: number[][] | null = null;
  if (spec.padMask) {
    // Batch element b has its last b keys padded.
    mask = Array.from({ length: spec.batch }, (_, b) => Array.from({ length: spec.length }, (_, j) => (j < spec.length - b ? 1 : 0)));
    const mPath = join(dir, `${name}-mask.npy`);
    writeFileSync(mPath, npyBytes(mask.flat(), [spec.batch, spec.length], '<i8'));
    args.push({ name: 'attention_mask', path: mPath });
  }
  return { x, mask, args };
}

const MODELS: { name: string; spec: ModelSpec; scaleAt: string[][] }[] = [
  {
    name: 'GPT-2-like: causal (Where, finfo.min) + padding mask, scale dividing the scores',
    spec: { batch: 2, length: 6, width: 16, headDim: 4, padMask: true, seed: 1, layers: [{ heads: 4, scaleAt: 'scores-div', causal: true }, { heads: 4, scaleAt: 'scores-div', causal: true }] },
    scaleAt: [['scores'], ['scores']],
  },
  {
    name: 'BERT-like encoder: padding mask, q pre-scaled; torch SDPA √scale on q and kᵀ; GQA repeated by Gather',
    spec: { batch: 3, length: 5, width: 12, headDim: 6, padMask: true, seed: 2, layers: [{ heads: 2, scaleAt: 'q-mul' }, { heads: 4, kvHeads: 2, scaleAt: 'qk-sqrt' }] },
    scaleAt: [['q'], ['q', 'k']],
  },
  {
    name: 'BART-like: q scaled before its reshape to heads, bmm on [batch·heads, T, D], mask added to a rank-4 view',
    spec: { batch: 2, length: 5, width: 12, headDim: 3, padMask: true, seed: 4, layers: [{ heads: 4, scaleAt: 'q-mul', bart: true }] },
    scaleAt: [['q']],
  },
  {
    name: 'SVTR-like (PaddleOCR v3 rec as paddle2onnx writes it): q scaled by Paddle\'s scale op, Mul then Add 0',
    spec: { batch: 2, length: 5, width: 12, headDim: 3, padMask: false, seed: 6, layers: [{ heads: 4, scaleAt: 'q-paddle-scale' }] },
    scaleAt: [['q']],
  },
  {
    name: 'ViT-like: fused qkv, no mask; one layer soft-capped',
    spec: { batch: 1, length: 7, width: 8, headDim: 4, padMask: false, seed: 3, layers: [{ heads: 2, scaleAt: 'scores-div', fusedQkv: true }, { heads: 2, scaleAt: 'scores-div', fusedQkv: true, softcap: 2 }] },
    scaleAt: [['scores'], ['scores', 'scores', 'softcap']],
  },
];


describe('inspect MODEL.onnx', { skip: ortSkip }, () => {
  it('finds a runtime to test with (CI installs tools/bench/peers)', () => {
    assert.ok(ORT_RUNTIMES.length > 0, 'no ONNX Runtime: run npm run bench:peers-install');
  });
  for (const runtime of ORT_RUNTIMES) {
    for (const { name, spec, scaleAt } of MODELS) {
      describe(`[${runtime}] ${name}`, () => {
        let result: OnnxInspectResult;
        let reference: ReturnType<ReturnType<typeof buildTransformer>['reference']>;
        before(async () => {
          const built = buildTransformer(spec);
          const path = join(dir, `${spec.seed}.onnx`);
          writeFileSync(path, built.bytes);
          const inputs = writeInputs(String(spec.seed), spec, spec.seed * 7 + 1);
          result = await inspectOnnx({ model: path, inputs: inputs.args, runtime }, 'test');
          reference = built.reference(inputs.x, inputs.mask);
        });
        it('finds every layer, with heads, head size, GQA and where the scale sits', () => {
          assert.equal(result.inputs.length, spec.layers.length);
          for (const [li, layer] of spec.layers.entries()) {
            const got = result.inputs[li];
            assert.equal(got.layer, `model/layers.${li}/attn`);
            assert.equal(got.heads, layer.heads);
            assert.equal(got.kvHeads, layer.kvHeads ?? layer.heads);
            assert.equal(got.headDim, spec.headDim);
            assert.deepEqual(got.scaleAt.map((f) => f.side), scaleAt[li]);
            close(got.scale, 1 / Math.sqrt(spec.headDim), 'scale', 1e-6);
            if (layer.softcap === undefined) close(got.scaleMeasured!, got.scale, 'scale measured from the logits', 1e-4);
            assert.equal(got.softcap, layer.softcap ?? null);
            assert.ok(got.softmaxResidualMax !== null && got.softmaxResidualMax < 1e-5, `softmax check ${got.softmaxResidualMax}`);
          }
        });
        it('equals, per head, the float64 reference over the keys the model keeps', () => {
          for (const [li, ref] of reference.entries()) {
            const layer = result.inputs[li];
            const keep = ref.keep;
            const masked = keep.flat(2).filter((x) => !x).length / keep.flat(2).length;
            close(layer.maskedShare, masked, 'masked share', 1e-12);
            for (let h = 0; h < layer.heads; h++) {
              const got = result.heads.find((x) => x.layer === layer.layer && x.head === h)!;
              const e = referenceHead(ref.q.map((qb) => qb[h]), ref.k.map((kb) => kb[h]), keep, ref.scale, ref.softcap, spec.headDim);
              const at = `${layer.layer} head ${h}`;
              close(got.logitStd, e.logitStd, `${at} logitStd`);
              close(got.logitMax, e.logitMax, `${at} logitMax`);
              close(got.entropyRatioMean, e.entropyRatioMean, `${at} entropy`);
              close(got.maxProbMean, e.maxProbMean, `${at} max p`);
              close(got.firstKeyMass, e.firstKeyMass, `${at} key-0 mass`);
              assert.equal(got.topKey.position, e.topKeyPosition, `${at} top key`);
              close(got.topKey.mass, e.topKeyMass, `${at} top key's mass`);
              close(got.jacobianNormMedian, e.jacobianNormMedian, `${at} Jacobian norm`);
              close(got.fp16.scoreMaxAbs, e.scoreMaxAbs, `${at} raw |q·k| max (no scale)`);
              close(got.whatIf.rsqrt.logitStd, e.rsqrtLogitStd, `${at} what-if 1/√d`);
            }
          }
        });
      });
    }
  }
});
