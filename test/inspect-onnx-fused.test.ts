import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectOnnx } from '../src/inspect/onnx/inspect-onnx.js';
import type { AttentionMap } from '../src/inspect/maps.js';
import { referenceHead } from './helpers/head-reference.js';
import { GraphBuilder, npyBytes } from './helpers/onnx-graph.js';
import { projectHeads, random } from './helpers/onnx-layer-inputs.js';
import { ORT_RUNTIMES, ortSkip } from './helpers/onnx-runtime.js';

/*
 * com.microsoft MultiHeadAttention (causal, key_padding_mask) and
 * GroupQueryAttention (GQA, seqlens_k): q and k are the op's inputs, the
 * logits are the op's by its definition; each head against the float64
 * reference from the test's own projections of the same weights.
 */

const dir = mkdtempSync(join(tmpdir(), 'scaledot-onnx-fused-'));
const [B, T, E, D] = [2, 5, 8, 8]; // GroupQueryAttention on CPU takes head sizes that are multiples of 8
const rand = random(11);
const x = Float64Array.from({ length: B * T * E }, () => Math.fround(rand()));
const LENGTHS = [5, 3];

/** [B][heads][T][D] from x · w, w [E, heads·D]. */
const project = (w: Float32Array, heads: number): number[][][][] => projectHeads(x, w, { B, T, E, H: heads, D });

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 2e-4 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs reference ${expected}`);
}

const CASES = [
  { op: 'MultiHeadAttention', heads: 2, kvHeads: 2 },
  { op: 'GroupQueryAttention', heads: 4, kvHeads: 2 },
] as const;

describe('inspect MODEL.onnx with fused attention', { skip: ortSkip }, () => {
  for (const runtime of ORT_RUNTIMES) {
    for (const c of CASES) {
      it(`[${runtime}] com.microsoft.${c.op}: every head equals the float64 reference over the keys the op keeps`, async () => {
        const g = new GraphBuilder();
        const xin = g.input('x', 'float', [B, T, E]);
        const w = (heads: number) => Float32Array.from({ length: E * heads * D }, () => rand() * 0.9);
        const [wq, wk, wv] = [w(c.heads), w(c.kvHeads), w(c.kvHeads)];
        const scope = '/model/layers.0/attn';
        const q = g.node('MatMul', [xin, g.init('wq', [E, c.heads * D], wq)], {}, scope);
        const k = g.node('MatMul', [xin, g.init('wk', [E, c.kvHeads * D], wk)], {}, scope);
        const v = g.node('MatMul', [xin, g.init('wv', [E, c.kvHeads * D], wv)], {}, scope);
        let out: string;
        const feeds: { name: string; path: string }[] = [{ name: 'x', path: join(dir, 'x.npy') }];
        writeFileSync(join(dir, 'x.npy'), npyBytes(x, [B, T, E], '<f4'));
        if (c.op === 'MultiHeadAttention') {
          const mask = g.input('key_padding_mask', 'int32', [B, T]);
          out = g.node('MultiHeadAttention', [q, k, v, '', mask], { num_heads: c.heads, unidirectional: 1 }, scope, 1, 'com.microsoft');
          writeFileSync(join(dir, 'mask.npy'), npyBytes(LENGTHS.flatMap((n) => Array.from({ length: T }, (_, j) => (j < n ? 1 : 0))), [B, T], '<i4'));
          feeds.push({ name: 'key_padding_mask', path: join(dir, 'mask.npy') });
        } else {
          const seqlens = g.input('seqlens_k', 'int32', [B]);
          const total = g.input('total_sequence_length', 'int32', []);
          out = g.node('GroupQueryAttention', [q, k, v, '', '', seqlens, total], { num_heads: c.heads, kv_num_heads: c.kvHeads }, scope, 3, 'com.microsoft');
          writeFileSync(join(dir, 'seqlens.npy'), npyBytes(LENGTHS.map((n) => n - 1), [B], '<i4'));
          writeFileSync(join(dir, 'total.npy'), npyBytes([T], [], '<i4'));
          feeds.push({ name: 'seqlens_k', path: join(dir, 'seqlens.npy') }, { name: 'total_sequence_length', path: join(dir, 'total.npy') });
        }
        g.output(out, [B, T, c.heads * D]);
        const path = join(dir, `${c.op}.onnx`);
        writeFileSync(path, g.model(17, [{ domain: 'com.microsoft', version: 1 }]));
        const maps: AttentionMap[] = [];
        const result = await inspectOnnx({ model: path, inputs: feeds, runtime, sample: 1, maps }, 'test');
        assert.equal(result.inputs.length, 1);
        const layer = result.inputs[0];
        assert.equal(layer.layer, 'model/layers.0/attn');
        assert.equal(layer.logitsFrom, 'computed');
        assert.deepEqual([layer.heads, layer.kvHeads, layer.headDim], [c.heads, c.kvHeads, D]);
        close(layer.scale, 1 / Math.sqrt(D), 'scale');
        const qs = project(wq, c.heads);
        const ks = project(wk, c.kvHeads);
        const keep = LENGTHS.map((n) => Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => j <= i && j < n)));
        for (let h = 0; h < c.heads; h++) {
          const got = result.heads.find((r) => r.head === h)!;
          const e = referenceHead(qs.map((qb) => qb[h]), ks.map((kb) => kb[Math.floor(h / (c.heads / c.kvHeads))]), keep, 1 / Math.sqrt(D), null, D);
          close(got.logitStd, e.logitStd, `head ${h} logitStd`);
          close(got.entropyRatioMean, e.entropyRatioMean, `head ${h} entropy`);
          close(got.maxProbMean, e.maxProbMean, `head ${h} max p`);
          close(got.firstKeyMass, e.firstKeyMass, `head ${h} key 0`);
          close(got.fp16.scoreMaxAbs, e.scoreMaxAbs, `head ${h} raw |q·k|`);
          // The map of batch element 1: the softmax over the keys the op keeps, grey (NaN) elsewhere.
          const map = maps.find((m) => m.head === h)!;
          const [qh, kh] = [qs[1][h], ks[1][Math.floor(h / (c.heads / c.kvHeads))]];
          for (let i = 0; i < T; i++) {
            const logits = Array.from({ length: T }, (_, j) => (keep[1][i][j] ? qh[i].reduce((s, v, d) => s + v * kh[j][d], 0) / Math.sqrt(D) : -Infinity));
            const total = logits.reduce((s, l) => s + Math.exp(l - Math.max(...logits)), 0);
            for (let j = 0; j < T; j++) {
              const want = keep[1][i][j] ? Math.exp(logits[j] - Math.max(...logits)) / total : NaN;
              const cell = map.weights[i * T + j];
              assert.ok(Number.isNaN(want) ? Number.isNaN(cell) : Math.abs(cell - want) < 1e-5, `head ${h} map (${i}, ${j}): ${cell} vs ${want}`);
            }
          }
        }
      });
    }
  }
});
