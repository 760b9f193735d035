import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findAttention } from '../src/inspect/onnx/pattern.js';
import { extraOutputsSuffix, readOnnxModel } from '../src/inspect/onnx/proto.js';
import { ScaledotError } from '../src/tensor/index.js';
import { buildTransformer } from './helpers/onnx-transformer.js';

/* The ONNX reader on its own: protobuf's merge of repeated messages, and corrupt bytes refused, never crashed on. */

const model = buildTransformer({ batch: 1, length: 3, width: 8, headDim: 4, padMask: true, seed: 3, layers: [{ heads: 2, scaleAt: 'scores-div', causal: true }] }).bytes;

describe('the ONNX reader', () => {
  it('merges a graph given twice, as protobuf does: extra outputs appended after the model are read', () => {
    const suffix = extraOutputsSuffix(['a', 'bb']);
    const both = new Uint8Array(model.length + suffix.length);
    both.set(model);
    both.set(suffix, model.length);
    const read = readOnnxModel(both, 't');
    const plain = readOnnxModel(model, 't');
    assert.deepEqual(read.outputs.map((o) => o.name), [...plain.outputs.map((o) => o.name), 'a', 'bb']);
    assert.equal(read.nodes.length, plain.nodes.length);
    assert.equal(findAttention(read, 't').length, 1);
  });

  it('reads negative int64 attributes (Softmax axis −1, ten-byte varints)', () => {
    const softmax = readOnnxModel(model, 't').nodes.find((n) => n.opType === 'Softmax')!;
    assert.equal(softmax.attributes.get('axis')?.i, -1);
  });

  it('refuses truncated and garbage bytes with a ScaledotError (E_IO), at every cut', () => {
    for (let cut = 1; cut < model.length; cut += Math.max(1, Math.floor(model.length / 97))) {
      try {
        // A cut on a field boundary is a valid, smaller message, read without error; any other cut must be refused as below.
        readOnnxModel(model.subarray(0, cut), 't');
      } catch (err) {
        assert.ok(err instanceof ScaledotError && err.code === 'E_IO', `cut ${cut}: ${String(err)}`);
      }
    }
    assert.throws(() => readOnnxModel(new TextEncoder().encode('not a model at all'), 't'), (e: unknown) => e instanceof ScaledotError && e.code === 'E_IO');
  });
});
