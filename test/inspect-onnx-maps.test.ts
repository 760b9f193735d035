import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectOnnx, type OnnxInspectResult } from '../src/inspect/onnx/inspect-onnx.js';
import type { AttentionMap } from '../src/inspect/maps.js';
import { ScaledotError } from '../src/tensor/index.js';
import { runCli } from './helpers/cli.js';
import { npyBytes } from './helpers/onnx-graph.js';
import { ORT_RUNTIMES, ortSkip } from './helpers/onnx-runtime.js';
import { buildTransformer, type ModelSpec } from './helpers/onnx-transformer.js';

/*
 * Attention maps of an .onnx run, against the test's own float64 forward pass
 * of the same weights: softmax over the keys the model keeps (causal, padding),
 * pooled by block means the test computes itself. And the layers fetched in
 * groups (one per run under a zero budget) give the same figures as one run.
 */

let dir = '';
after(() => rmSync(dir, { recursive: true, force: true }));

/** Batch element b has its last 2b keys padded. */
function inputs(name: string, spec: ModelSpec): { x: Float64Array; mask: number[][]; args: { name: string; path: string }[] } {
  const x = Float64Array.from({ length: spec.batch * spec.length * spec.width }, (_, i) => Math.fround(Math.sin(i * 0.37 + 1)));
  const mask = Array.from({ length: spec.batch }, (_, b) => Array.from({ length: spec.length }, (_, j) => (j < spec.length - 2 * b ? 1 : 0)));
  const xPath = join(dir, `${name}-x.npy`);
  const mPath = join(dir, `${name}-mask.npy`);
  writeFileSync(xPath, npyBytes(x, [spec.batch, spec.length, spec.width], '<f4'));
  writeFileSync(mPath, npyBytes(mask.flat(), [spec.batch, spec.length], '<i8'));
  return { x, mask, args: [{ name: 'x', path: xPath }, { name: 'attention_mask', path: mPath }] };
}

/** The expected map: each kept pair's softmax weight, averaged over blocks of ⌈T/64⌉ queries × keys; NaN where a block keeps none. */
function expectedMap(q: number[][], k: number[][], keep: boolean[][], scale: number, softcap: number | null): { side: number; cells: number[] } {
  const T = q.length;
  const block = Math.ceil(T / 64);
  const side = Math.ceil(T / block);
  const sum = new Array(side * side).fill(0);
  const count = new Array(side * side).fill(0);
  for (let i = 0; i < T; i++) {
    const kept = keep[i].flatMap((on, j) => (on ? [j] : []));
    const logits = kept.map((j) => {
      const dot = q[i].reduce((s, x, e) => s + x * k[j][e], 0);
      return softcap === null ? scale * dot : softcap * Math.tanh((scale * dot) / softcap);
    });
    const max = Math.max(...logits);
    const total = logits.reduce((s, l) => s + Math.exp(l - max), 0);
    kept.forEach((j, at) => {
      const cell = Math.floor(i / block) * side + Math.floor(j / block);
      sum[cell] += Math.exp(logits[at] - max) / total;
      count[cell]++;
    });
  }
  return { side, cells: sum.map((s, c) => (count[c] === 0 ? NaN : s / count[c])) };
}

const SPECS: ModelSpec[] = [
  { batch: 2, length: 6, width: 16, headDim: 4, padMask: true, seed: 11, layers: [{ heads: 4, scaleAt: 'scores-div', causal: true }, { heads: 2, scaleAt: 'q-mul' }] },
  // Past 64 positions the maps are pooled (2 × 2 blocks here); one layer soft-capped.
  { batch: 2, length: 70, width: 8, headDim: 4, padMask: true, seed: 12, layers: [{ heads: 2, scaleAt: 'scores-div', causal: true, softcap: 3 }] },
];

describe('inspect MODEL.onnx: attention maps and grouped runs', { skip: ortSkip }, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'scaledot-onnx-maps-'));
  });
  for (const runtime of ORT_RUNTIMES) {
    for (const spec of SPECS) {
      it(`[${runtime}] T=${spec.length}: each head's map for --sample 1 is the softmax the model computed, over the keys it keeps`, async () => {
        const built = buildTransformer(spec);
        const path = join(dir, `m${spec.seed}.onnx`);
        writeFileSync(path, built.bytes);
        const given = inputs(`m${spec.seed}`, spec);
        const maps: AttentionMap[] = [];
        const result = await inspectOnnx({ model: path, inputs: given.args, runtime, sample: 1, maps }, 'test');
        const reference = built.reference(given.x, given.mask);
        assert.equal(maps.length, spec.layers.reduce((s, l) => s + l.heads, 0));
        for (const [li, ref] of reference.entries()) {
          for (let h = 0; h < spec.layers[li].heads; h++) {
            const map = maps.find((m) => m.layer === result.inputs[li].layer && m.head === h);
            assert.ok(map !== undefined, `a map for layer ${li} head ${h}`);
            const want = expectedMap(ref.q[1][h], ref.k[1][h], ref.keep[1], ref.scale, ref.softcap);
            assert.equal(map.sample, 1);
            assert.deepEqual([map.rows, map.cols], [want.side, want.side]);
            for (let c = 0; c < want.cells.length; c++) {
              const at: string = `layer ${li} head ${h} cell ${c}: ${map.weights[c]} vs ${want.cells[c]}`;
              if (Number.isNaN(want.cells[c])) assert.ok(Number.isNaN(map.weights[c]), at);
              else assert.ok(Math.abs(map.weights[c] - want.cells[c]) <= 2e-5, at);
            }
          }
        }
      });
    }
    it(`[${runtime}] fetching one layer per run gives the figures of one run of every layer`, async () => {
      const spec: ModelSpec = { batch: 2, length: 5, width: 12, headDim: 3, padMask: true, seed: 13, layers: [0, 1, 2].map(() => ({ heads: 4, scaleAt: 'scores-div' as const, causal: true })) };
      const path = join(dir, 'three.onnx');
      writeFileSync(path, buildTransformer(spec).bytes);
      const given = inputs('three', spec);
      const once: OnnxInspectResult = await inspectOnnx({ model: path, inputs: given.args, runtime }, 'test');
      const each: OnnxInspectResult = await inspectOnnx({ model: path, inputs: given.args, runtime, captureBudget: 0 }, 'test');
      // The first run fetches one layer to learn its size; the default budget then fits the other two in one more run.
      assert.equal(once.runs, 2);
      assert.equal(each.runs, 3);
      assert.deepEqual(each.heads, once.heads);
      assert.deepEqual(each.inputs, once.inputs);
      assert.equal(once.heads.length, 12);
    });
    it(`[${runtime}] a --sample outside the batch is a ScaledotError naming the batch`, async () => {
      const spec = SPECS[0];
      const path = join(dir, 'sample.onnx');
      writeFileSync(path, buildTransformer(spec).bytes);
      await assert.rejects(inspectOnnx({ model: path, inputs: inputs('sample', spec).args, runtime, sample: 2, maps: [] }, 'test'),
        (err: unknown) => err instanceof ScaledotError && /--sample is 2; layer model\/layers\.0\/attn has a batch of 2, so expected an integer from 0 to 1/.test(err.message));
    });
  }
  it('scaledot inspect MODEL.onnx --sample 1 --out draws the layers × heads grid and a large map; an outside --sample exits 2 with no file', async () => {
    const spec = SPECS[0];
    const path = join(dir, 'cli.onnx');
    writeFileSync(path, buildTransformer(spec).bytes);
    const args = inputs('cli', spec).args.flatMap((a) => ['--input', `${a.name}=${a.path}`]);
    const out = join(dir, 'report');
    const r = await runCli(['inspect', path, ...args, '--sample', '1', '--out', out]);
    assert.equal(r.code, 0, r.err);
    const page = readFileSync(join(out, 'inspect.html'), 'utf8');
    for (const [li, layer] of spec.layers.entries()) {
      for (let h = 0; h < layer.heads; h++) assert.ok(page.includes(`data-layer="model/layers.${li}/attn" data-head="${h}"`), `grid map of layer ${li} head ${h}`);
    }
    assert.match(page, /class="map-large"/);
    assert.match(page, /Batch element 1 \(--sample\)/);
    // A model's layers are in graph order, which the depth axis says (tensor files' are in name order).
    assert.match(page, /layer \(0 = first in graph order\)/);
    const bad = await runCli(['inspect', path, ...args, '--sample', '2', '--out', join(dir, 'no')]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--sample is 2/);
    assert.ok(!existsSync(join(dir, 'no', 'inspect.html')));
  });
  it('--capture-budget MiB sets the groups (JSON runs); a bad value, or one without a model, exits 2', async () => {
    const spec: ModelSpec = { batch: 1, length: 4, width: 8, headDim: 4, padMask: true, seed: 14, layers: [0, 1, 2].map(() => ({ heads: 2, scaleAt: 'scores-div' as const })) };
    const path = join(dir, 'budget.onnx');
    writeFileSync(path, buildTransformer(spec).bytes);
    const args = inputs('budget', spec).args.flatMap((a) => ['--input', `${a.name}=${a.path}`]);
    // One layer's tensors here weigh a few hundred bytes: 1e-6 MiB (about 1 byte) fits none, so each layer runs alone.
    for (const [budget, runs] of [[undefined, 2], ['0.000001', 3]] as const) {
      const r = await runCli(['inspect', path, ...args, ...(budget === undefined ? [] : ['--capture-budget', budget]), '--json', '-']);
      assert.equal(r.code, 0, r.err);
      const doc = JSON.parse(r.out);
      assert.equal(doc.runs, runs, `--capture-budget ${budget}`);
      assert.equal(doc.heads.length, 6);
    }
    for (const bad of ['0', '-1', 'lots']) {
      const r = await runCli(['inspect', path, ...args, '--capture-budget', bad, '--json', '-']);
      assert.equal(r.code, 2);
      assert.match(r.err, /--capture-budget is .*expected the MiB of captured tensors/);
    }
    const tensors = await runCli(['inspect', '--q', join(dir, 'budget-x.npy'), '--k', join(dir, 'budget-x.npy'), '--capture-budget', '8']);
    assert.equal(tensors.code, 2);
    assert.match(tensors.err, /--capture-budget bounds what an \.onnx run captures/);
  });
});
