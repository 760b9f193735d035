import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { GraphBuilder, npyBytes } from './helpers/onnx-graph.js';
import { buildTransformer, type ModelSpec } from './helpers/onnx-transformer.js';
import { ortSkip } from './helpers/onnx-runtime.js';

/* scaledot inspect MODEL.onnx on the command line: the JSON, and every bad input refused with exit 2 and no file written. */

let dir = '';
const SPEC: ModelSpec = { batch: 2, length: 4, width: 8, headDim: 4, padMask: true, seed: 5, layers: [{ heads: 2, scaleAt: 'scores-div', causal: true }] };
const paths = { model: '', x: '', mask: '' };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'scaledot-onnx-cli-'));
  paths.model = join(dir, 'gpt.onnx');
  writeFileSync(paths.model, buildTransformer(SPEC).bytes);
  paths.x = join(dir, 'x.npy');
  writeFileSync(paths.x, npyBytes(Array.from({ length: 2 * 4 * 8 }, (_, i) => Math.sin(i)), [2, 4, 8], '<f4'));
  paths.mask = join(dir, 'attention_mask.npy');
  writeFileSync(paths.mask, npyBytes([1, 1, 1, 1, 1, 1, 0, 0], [2, 4], '<i8'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('scaledot inspect MODEL.onnx', () => {
  it('writes the JSON with each layer found in the graph, where its scale sits, and every head', { skip: ortSkip }, async () => {
    const json = join(dir, 'out.json');
    const r = await runCli(['inspect', paths.model, '--input', `x=${paths.x}`, '--input', paths.mask, '--json', json]);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(doc.inputs.length, 1);
    assert.equal(doc.inputs[0].layer, 'model/layers.0/attn');
    assert.deepEqual(doc.inputs[0].scaleAt.map((f: { side: string; op: string }) => `${f.side}:${f.op}`), ['scores:Div']);
    assert.equal(doc.heads.length, 2);
    // Causal, and batch element 1's last two keys padded:
    const keep = (b: number, i: number, j: number): boolean => j <= i && (b === 0 || j < 2);
    let masked = 0;
    for (let b = 0; b < 2; b++) for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (!keep(b, i, j)) masked++;
    assert.equal(doc.inputs[0].maskedShare, masked / 32);
  });

  it('reads "?" on several axes of an input as unknown sizes, not one shared name (as paddle2onnx writes them)', { skip: ortSkip }, async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float', ['?', '?', 8]);
    const p = g.node('Softmax', [g.node('MatMul', [x, g.node('Transpose', [x], { perm: [0, 2, 1] }, '/attn')], {}, '/attn')], { axis: -1 }, '/attn');
    g.output(g.node('MatMul', [p, x], {}, '/attn'), ['?', '?', 8]);
    const model = join(dir, 'unknown-dims.onnx');
    writeFileSync(model, g.model());
    const json = join(dir, 'unknown-dims.json');
    const r = await runCli(['inspect', model, '--input', paths.x, '--json', json]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(readFileSync(json, 'utf8')).inputs[0].q.shape, [2, 4, 8]);
  });

  const bad: { name: string; args: () => string[]; match: RegExp; setup?: () => void }[] = [
    { name: 'a missing input', args: () => ['inspect', paths.model, '--input', `x=${paths.x}`], match: /needs input\(s\) attention_mask too/ },
    { name: 'an input it does not have', args: () => ['inspect', paths.model, '--input', `x=${paths.x}`, '--input', `mask=${paths.mask}`], match: /names no input of .*attention_mask/ },
    { name: 'an input of the wrong dtype', args: () => ['inspect', paths.model, '--input', `x=${paths.x}`, '--input', `attention_mask=${paths.x}`], match: /holds <f4 but the model's input attention_mask is int64/ },
    { name: 'an input of the wrong shape', args: () => ['inspect', paths.model, '--input', `x=${join(dir, 'x2.npy')}`, '--input', paths.mask], match: /has 9 on axis 2; the model's input is \(batch, seq, 8\)/,
      setup: () => writeFileSync(join(dir, 'x2.npy'), npyBytes(new Array(2 * 4 * 9).fill(0), [2, 4, 9], '<f4')) },
    { name: 'inputs whose symbolic sizes disagree', args: () => ['inspect', paths.model, '--input', `x=${paths.x}`, '--input', `attention_mask=${join(dir, 'm3.npy')}`], match: /seq\) is 3, but input x has seq = 4/,
      setup: () => writeFileSync(join(dir, 'm3.npy'), npyBytes(new Array(6).fill(1), [2, 3], '<i8')) },
    { name: 'a corrupt model', args: () => ['inspect', join(dir, 'bad.onnx'), '--input', paths.x], match: /not a readable ONNX model/,
      setup: () => writeFileSync(join(dir, 'bad.onnx'), readFileSync(paths.model).subarray(0, 300)) },
    { name: 'a model with no attention', args: () => ['inspect', join(dir, 'mlp.onnx'), '--input', paths.x], match: /has no attention this tool recognises/,
      setup: () => {
        const g = new GraphBuilder();
        const x = g.input('x', 'float', [2, 4, 8]);
        const y = g.node('Softmax', [g.node('MatMul', [x, g.init('w', [8, 3], new Array(24).fill(0.1))])], { axis: -1 });
        g.output(y, [2, 4, 3]);
        writeFileSync(join(dir, 'mlp.onnx'), g.model());
      } },
    { name: 'a fused attention op it does not open (refused by name)', args: () => ['inspect', join(dir, 'fused.onnx'), '--input', paths.x], match: /fused op\(s\) \(com\.microsoft\.PackedAttention/,
      setup: () => {
        const g = new GraphBuilder();
        const x = g.input('x', 'float', [2, 4, 8]);
        g.output(g.node('PackedAttention', [x, g.init('w', [8, 24], new Array(192).fill(0.1))], { num_heads: 2 }, '/attn', 1, 'com.microsoft'), [2, 4, 8]);
        writeFileSync(join(dir, 'fused.onnx'), g.model());
      } },
    { name: 'a Softmax with no axis before opset 13 (its default, 1, normalises queries and keys together)', args: () => ['inspect', join(dir, 'axis.onnx'), '--input', paths.x],
      match: /Softmax \/attn\/Softmax normalises axis 1 \(its opset's default\) of a rank-3 tensor, not the key axis alone/,
      setup: () => {
        const g = new GraphBuilder();
        const x = g.input('x', 'float', [2, 4, 8]);
        const p = g.node('Softmax', [g.node('MatMul', [x, g.node('Transpose', [x], { perm: [0, 2, 1] }, '/attn')], {}, '/attn')], {}, '/attn');
        g.output(g.node('MatMul', [p, x], {}, '/attn'), [2, 4, 8]);
        writeFileSync(join(dir, 'axis.onnx'), g.model(11));
      } },
    { name: '--json naming the model', args: () => ['inspect', paths.model, '--input', `x=${paths.x}`, '--input', paths.mask, '--json', paths.model], match: /--json .* is the input model/ },
    { name: '--json naming an input', args: () => ['inspect', paths.model, '--input', `x=${paths.x}`, '--input', paths.mask, '--json', paths.x], match: /--json .* is the input --input x/ },
    { name: 'a tensor-file flag', args: () => ['inspect', paths.model, '--input', `x=${paths.x}`, '--heads', '2'], match: /--heads is for Q\/K tensor files/ },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}: exit 2, a ScaledotError, no output file`, async () => {
      c.setup?.();
      const json = join(dir, `never-${bad.indexOf(c)}.json`);
      const args = c.args();
      const r = await runCli(args.includes('--json') ? args : [...args, '--json', json]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, c.match);
      assert.match(r.err, /\(E_[A-Z]+\)\n$/);
      assert.equal(existsSync(json), false);
    });
  }
});
