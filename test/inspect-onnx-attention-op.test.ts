import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectOnnx } from '../src/inspect/onnx/inspect-onnx.js';
import { loadRuntime } from '../src/inspect/onnx/runtime.js';
import { referenceHead } from './helpers/head-reference.js';
import { GraphBuilder, npyBytes } from './helpers/onnx-graph.js';
import { random } from './helpers/onnx-layer-inputs.js';
import { ORT_RUNTIMES, ortSkip } from './helpers/onnx-runtime.js';

/*
 * The two attention ops that take no q and k from the graph as inspect
 * captures them: com.microsoft Attention (q and k made inside from X, W and
 * a bias) and ai.onnx Attention (opset 23: Q, K, V given, 3-D or 4-D, GQA,
 * is_causal, softcap, a bool or float attn_mask). Each case's logits are
 * written out here from the op's definition (ONNX's reference and the contrib
 * op's doc), checked against the runtime by the op's own output
 * (softmax(logits)·V must equal it), and inspect's figures per head against
 * the float64 figures of those logits.
 */

const dir = mkdtempSync(join(tmpdir(), 'scaledot-onnx-attn-op-'));
const [B, T, E] = [2, 5, 8];
type Vec = number[];
/** An extra model input: its values, shape and type, written as .npy for inspect and fed as is to the runtime. */
interface Feed { name: string; values: number[]; dims: number[]; type: 'int32' | 'bool' }

interface Case {
  name: string;
  heads: number; kvHeads: number; D: number;
  /** Builds the graph; returns q, k, v as [b][h][t] vectors in float64, the keys kept, what is added to each logit, the scale and soft-cap. */
  build: (g: GraphBuilder, x: string, xs: number[][][], rand: () => number) => {
    out: string; q: Vec[][][]; k: Vec[][][]; v: Vec[][][]; keep: boolean[][][][]; add?: (b: number, h: number, i: number, j: number) => number;
    scale: number; softcap: number | null; feeds?: Feed[]; opset: number;
    /** The op's output is [B, H, L, Dv] (4-D inputs) rather than [B, L, H·Dv]. */
    out4d?: boolean;
  };
}

/** x·w (+ bias) split into heads: [b][h][t] vectors of size D from columns [from, from + heads·D). */
function heads(xs: number[][][], w: Float32Array, width: number, from: number, n: number, D: number, bias?: Float32Array): Vec[][][] {
  return xs.map((xb) => Array.from({ length: n }, (_, h) => xb.map((xt) => Array.from({ length: D }, (_, d) => {
    const c = from + h * D + d;
    return xt.reduce((s, xe, e) => s + xe * w[e * width + c], bias ? bias[c] : 0);
  }))));
}

const causal = (n: number) => Array.from({ length: B }, () => Array.from({ length: n }, () => Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => j <= i))));
const allKeys = (n: number) => Array.from({ length: B }, () => Array.from({ length: n }, () => Array.from({ length: T }, () => new Array<boolean>(T).fill(true))));

const CASES: Case[] = [
  {
    name: 'com.microsoft Attention: X·W + bias inside, unidirectional, mask_index as [B, S] keep flags, attention_bias an initializer',
    heads: 2, kvHeads: 2, D: 4,
    build: (g, x, xs, rand) => {
      const [H, D] = [2, 4];
      const width = 3 * H * D;
      const w = Float32Array.from({ length: E * width }, () => rand() * 0.9);
      const bias = Float32Array.from({ length: width }, () => rand() * 0.5);
      const lengths = [5, 3];
      const flags = lengths.flatMap((n) => Array.from({ length: T }, (_, j) => (j < n ? 1 : 0)));
      const mask = g.input('mask_index', 'int32', [B, T]);
      const added = Array.from({ length: H * T * T }, (_, at) => Math.fround(0.3 * Math.sin(at)));
      const out = g.node('Attention', [x, g.init('w', [E, width], w), g.init('b', [width], bias), mask, '', g.init('attention_bias', [1, H, T, T], added)],
        { num_heads: H, unidirectional: 1 }, '/enc/layer.0/attn', 1, 'com.microsoft');
      const keep = causal(H).map((bh, b) => bh.map((rows) => rows.map((row) => row.map((k, j) => k && j < lengths[b]))));
      return {
        out, add: (_b, h, i, j) => added[(h * T + i) * T + j], q: heads(xs, w, width, 0, H, D, bias), k: heads(xs, w, width, H * D, H, D, bias), v: heads(xs, w, width, 2 * H * D, H, D, bias), keep,
        scale: 1 / Math.sqrt(D), softcap: null, opset: 17, feeds: [{ name: 'mask_index', values: flags, dims: [B, T], type: 'int32' }],
      };
    },
  },
  {
    name: 'com.microsoft Attention: qkv_hidden_sizes, a scale attribute, mask_index as lengths [B]',
    heads: 2, kvHeads: 2, D: 3,
    build: (g, x, xs, rand) => {
      const [H, D, Dv] = [2, 3, 4];
      const width = 2 * H * D + H * Dv;
      const w = Float32Array.from({ length: E * width }, () => rand());
      const bias = Float32Array.from({ length: width }, () => rand() * 0.5);
      const mask = g.input('mask_index', 'int32', [B]);
      const out = g.node('Attention', [x, g.init('w', [E, width], w), g.init('b', [width], bias), mask], { num_heads: H, qkv_hidden_sizes: [H * D, H * D, H * Dv], scale: { float: 0.3 } }, '/enc/layer.1/attn', 1, 'com.microsoft');
      const lengths = [4, 2];
      const keep = allKeys(H).map((bh, b) => bh.map((rows) => rows.map((row) => row.map((_k, j) => j < lengths[b]))));
      return {
        out, q: heads(xs, w, width, 0, H, D, bias), k: heads(xs, w, width, H * D, H, D, bias), v: heads(xs, w, width, 2 * H * D, H, Dv, bias), keep,
        scale: Math.fround(0.3), softcap: null, opset: 17, feeds: [{ name: 'mask_index', values: lengths, dims: [B], type: 'int32' }],
      };
    },
  },
  {
    name: 'ai.onnx Attention (opset 23): 3-D Q, K, V with q_num_heads 4, kv_num_heads 2 (GQA), is_causal, softcap',
    heads: 4, kvHeads: 2, D: 2,
    build: (g, x, xs, rand) => {
      const [H, Hk, D] = [4, 2, 2];
      const proj = (n: number, name: string) => { const w = Float32Array.from({ length: E * n * D }, () => rand() * 1.5); return { w, t: g.node('MatMul', [x, g.init(name, [E, n * D], w)], {}, '/dec/0') }; };
      const [q, k, v] = [proj(H, 'wq'), proj(Hk, 'wk'), proj(Hk, 'wv')];
      const out = g.node('Attention', [q.t, k.t, v.t], { q_num_heads: H, kv_num_heads: Hk, is_causal: 1, softcap: { float: 1.5 } }, '/dec/0', 1);
      return {
        out, q: heads(xs, q.w, H * D, 0, H, D), k: heads(xs, k.w, Hk * D, 0, Hk, D), v: heads(xs, v.w, Hk * D, 0, Hk, D), keep: causal(H),
        scale: 1 / Math.sqrt(D), softcap: 1.5, opset: 23,
      };
    },
  },
  ...[false, true].map((float): Case => ({
    name: `ai.onnx Attention (opset 23): 4-D inputs, a scale attribute, ${float ? 'a float attn_mask [B, H, L, S] (a bias per head, −∞ at padding keys)' : 'a bool attn_mask [B, 1, L, S] (padding; onnxruntime wants L there)'}`,
    heads: 2, kvHeads: 2, D: 4,
    build: (g, x, xs, rand) => {
      const [H, D] = [2, 4];
      const proj = (name: string) => {
        const w = Float32Array.from({ length: E * H * D }, () => rand());
        const heads4 = g.node('Reshape', [g.node('MatMul', [x, g.init(name, [E, H * D], w)], {}, '/vit/3'), g.init(`${name}_shape`, [4], [B, T, H, D], 'int64')], {}, '/vit/3');
        return { w, t: g.node('Transpose', [heads4], { perm: [0, 2, 1, 3] }, '/vit/3') };
      };
      const [q, k, v] = [proj('wq'), proj('wk'), proj('wv')];
      const lengths = [5, 4];
      const keepFlags = lengths.flatMap((n) => Array.from({ length: T * T }, (_, at) => (at % T < n ? 1 : 0)));
      const bias = Array.from({ length: H * T * T }, (_, at) => -0.4 * Math.abs((at % T) - (Math.floor(at / T) % T)) * (1 + Math.floor(at / (T * T))));
      const pad = g.input('pad', 'bool', [B, 1, T, T]);
      const mask = float ? g.node('Where', [pad, g.init('alibi', [1, H, T, T], bias), g.init('neg_inf', [], [-Infinity])], {}, '/vit/3') : pad;
      const out = g.node('Attention', [q.t, k.t, v.t, mask], { scale: { float: 0.25 } }, '/vit/3', 1);
      const keep = allKeys(H).map((bh, b) => bh.map((rows) => rows.map((row) => row.map((_k, j) => j < lengths[b]))));
      return {
        out, q: heads(xs, q.w, H * D, 0, H, D), k: heads(xs, k.w, H * D, 0, H, D), v: heads(xs, v.w, H * D, 0, H, D), keep,
        add: float ? (_b, h, i, j) => Math.fround(bias[(h * T + i) * T + j]) : undefined,
        scale: 0.25, softcap: null, opset: 23, out4d: true, feeds: [{ name: 'pad', values: keepFlags, dims: [B, 1, T, T], type: 'bool' }],
      };
    },
  })),
];

function close(actual: number, expected: number, what: string, tol = 2e-4): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs reference ${expected}`);
}

describe('inspect MODEL.onnx with com.microsoft Attention and ai.onnx Attention', { skip: ortSkip }, () => {
  for (const [index, c] of CASES.entries()) {
    it(`${c.name}: the op's output is softmax(logits)·V for the logits written here, and every head's figures are theirs`, async () => {
      const rand = random(31 + index);
      const x = Float64Array.from({ length: B * T * E }, () => Math.fround(rand()));
      const xs = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => Array.from(x.subarray((b * T + t) * E, (b * T + t + 1) * E))));
      const g = new GraphBuilder();
      const xin = g.input('x', 'float', [B, T, E]);
      const built = c.build(g, xin, xs, rand);
      const Dv = built.v[0][0][0].length;
      g.output(built.out, built.out4d ? [B, c.heads, T, Dv] : [B, T, c.heads * Dv]);
      const path = join(dir, `case-${index}.onnx`);
      writeFileSync(path, g.model(built.opset, built.opset === 17 ? [{ domain: 'com.microsoft', version: 1 }] : []));
      const feeds = [{ name: 'x', path: join(dir, `x-${index}.npy`) }];
      writeFileSync(feeds[0].path, npyBytes(x, [B, T, E], '<f4'));
      for (const f of built.feeds ?? []) {
        const p = join(dir, `${f.name}-${index}.npy`);
        writeFileSync(p, npyBytes(f.values, f.dims, f.type === 'bool' ? '|b1' : '<i4'));
        feeds.push({ name: f.name, path: p });
      }

      // The logits by the op's definition, and softmax(logits)·V against the runtime's own output.
      const group = c.heads / c.kvHeads;
      const logit = (b: number, h: number, i: number, j: number): number => {
        const dot = built.q[b][h][i].reduce((s, qe, e) => s + qe * built.k[b][Math.floor(h / group)][j][e], 0);
        const x0 = built.scale * dot;
        return (built.softcap === null ? x0 : built.softcap * Math.tanh(x0 / built.softcap)) + (built.add?.(b, h, i, j) ?? 0);
      };
      const { ort } = loadRuntime('onnxruntime-node');
      const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(path)), {});
      const runFeeds: Record<string, unknown> = { x: new ort.Tensor('float32', Float32Array.from(x), [B, T, E]) };
      for (const f of built.feeds ?? []) runFeeds[f.name] = new ort.Tensor(f.type, f.type === 'bool' ? Uint8Array.from(f.values) : Int32Array.from(f.values), f.dims);
      const y = (await session.run(runFeeds as never))[built.out];
      await session.release();
      let worst = 0;
      for (let b = 0; b < B; b++) for (let h = 0; h < c.heads; h++) for (let i = 0; i < T; i++) {
        const keys = [...Array(T).keys()].filter((j) => built.keep[b][h][i][j]);
        const ls = keys.map((j) => logit(b, h, i, j));
        const m = Math.max(...ls);
        const z = ls.reduce((s, l) => s + Math.exp(l - m), 0);
        for (let d = 0; d < Dv; d++) {
          const ref = keys.reduce((s, j, n) => s + (Math.exp(ls[n] - m) / z) * built.v[b][Math.floor(h / group)][j][d], 0);
          const at = built.out4d ? ((b * c.heads + h) * T + i) * Dv + d : (b * T + i) * c.heads * Dv + h * Dv + d;
          worst = Math.max(worst, Math.abs(Number(y.data[at]) - ref));
        }
      }
      assert.ok(worst < 1e-4, `the runtime's output differs from softmax(logits)·V by ${worst}: the logits written here are not the op's`);

      for (const runtime of ORT_RUNTIMES) {
        const result = await inspectOnnx({ model: path, inputs: feeds, runtime }, 'test');
        assert.equal(result.inputs.length, 1);
        const layer = result.inputs[0];
        assert.equal(layer.logitsFrom, 'computed');
        assert.deepEqual([layer.heads, layer.kvHeads, layer.headDim], [c.heads, c.kvHeads, c.D]);
        close(layer.scale, built.scale, 'scale', 1e-7);
        assert.equal(layer.softcap, built.softcap === null ? null : Math.fround(built.softcap));
        for (let h = 0; h < c.heads; h++) {
          const got = result.heads.find((r) => r.head === h)!;
          const kh = Math.floor(h / group);
          // referenceHead takes the scaled, capped logits by q·k; the added mask is folded in through a q·k-free reference below.
          const e = built.add === undefined
            ? referenceHead(built.q.map((qb) => qb[h]), built.k.map((kb) => kb[kh]), built.keep.map((kb) => kb[h]), built.scale, built.softcap, c.D)
            : null;
          const at = `${runtime} head ${h}`;
          if (e !== null) {
            close(got.logitStd, e.logitStd, `${at} logitStd`);
            close(got.entropyRatioMean, e.entropyRatioMean, `${at} entropy`);
            close(got.maxProbMean, e.maxProbMean, `${at} max p`);
            close(got.firstKeyMass, e.firstKeyMass, `${at} key 0`);
            close(got.fp16.scoreMaxAbs, e.scoreMaxAbs, `${at} raw |q·k|`);
          } else {
            const ls: number[] = [];
            let maxP = 0; let rows = 0;
            for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) {
              const row = [...Array(T).keys()].filter((j) => built.keep[b][h][i][j]).map((j) => logit(b, h, i, j));
              ls.push(...row);
              if (row.length < 2) continue;
              const m = Math.max(...row);
              const z = row.reduce((s, l) => s + Math.exp(l - m), 0);
              maxP += 1 / z; rows++;
            }
            const mean = ls.reduce((s, l) => s + l, 0) / ls.length;
            close(got.logitStd, Math.sqrt(ls.reduce((s, l) => s + (l - mean) ** 2, 0) / ls.length), `${at} logitStd (with the float mask)`);
            close(got.logitMax, Math.max(...ls), `${at} logitMax`);
            close(got.maxProbMean, maxP / rows, `${at} max p`);
          }
        }
      }
    });
  }
});

describe('com.microsoft Attention and ai.onnx Attention: what inspect does not follow is refused by name', { skip: ortSkip }, () => {
  const cases: { name: string; match: RegExp; build: (g: GraphBuilder, x: string) => string; opset: number }[] = [
    {
      name: 'com.microsoft Attention with past keys and values', match: /com\.microsoft\.Attention node "\/a\/Attention" takes past keys and values/, opset: 17,
      build: (g, x) => g.node('Attention', [x, g.init('w', [E, 3 * E], new Array(3 * E * E).fill(0.1)), g.init('b', [3 * E], new Array(3 * E).fill(0)), '', g.input('past', 'float', [2, B, 2, 0, 4])],
        { num_heads: 2 }, '/a', 1, 'com.microsoft'),
    },
    {
      name: 'com.microsoft Attention with no bias (onnxruntime-node 1.30 crashes running it)', match: /com\.microsoft\.Attention node "\/a\/Attention" has no bias input/, opset: 17,
      build: (g, x) => g.node('Attention', [x, g.init('w', [E, 3 * E], new Array(3 * E * E).fill(0.1))], { num_heads: 2 }, '/a', 1, 'com.microsoft'),
    },
    {
      name: 'ai.onnx Attention with past_key', match: /ai\.onnx\.Attention node "\/a\/Attention" takes past keys \(past_key\)/, opset: 23,
      build: (g, x) => g.node('Attention', [x, x, x, '', g.input('past_key', 'float', [B, 2, 0, 4]), g.input('past_value', 'float', [B, 2, 0, 4])], { q_num_heads: 2, kv_num_heads: 2 }, '/a', 1),
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const g = new GraphBuilder();
      g.output(c.build(g, g.input('x', 'float', [B, T, E])), [B, T, E]);
      const path = join(dir, `refused-${cases.indexOf(c)}.onnx`);
      writeFileSync(path, g.model(c.opset, c.opset === 17 ? [{ domain: 'com.microsoft', version: 1 }] : []));
      await assert.rejects(inspectOnnx({ model: path, inputs: [{ name: 'x', path: join(dir, 'never.npy') }] }, 'test'), (e: Error) => e.name === 'ScaledotError' && c.match.test(e.message));
    });
  }
});
