import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, scaledDotProductAttention, tensor, type AttentionOptions, type FloatDType, type Tensor } from '../src/index.js';
import { IMPLS, dtypesOf, takesModelOptions } from './helpers/backends.js';

/*
 * ONNX Attention (opsets 23-25) conformance for softcap, sliding windows and
 * nonpad_kv_seqlen, through scaledot's native options (never a hand-built mask
 * for what an option expresses).
 *
 * Where the cases come from: onnx/backend/test/case/node/attention.py (the
 * generator of onnx's test_attention_* node tests) at onnx commit f75469120,
 * read for this test; their goldens are np.random draws stored as .pb files,
 * which CI cannot download and this repository does not vendor. So each case
 * keeps ONNX's name, shapes, attributes and masks, draws its own seeded inputs
 * (uniform [0, 1), as np.random.rand), and its expected output comes from
 * `onnxAttention` below: an independent float64 port of ONNX's reference
 * semantics (onnx/reference/ops/op_attention.py, same commit), sharing no code
 * with src/ or test/helpers. Where ONNX's generator states an expected value
 * (test_attention_bidirectional_window, the poison and float16-mask cases) the
 * test checks that too.
 *
 * Alignment: ONNX aligns causal masks and windows at offset o = 0 without a
 * cache (top-left), o = past length with past_key, o = nonpad[b] − L with
 * nonpad_kv_seqlen; scaledot at off = S − L (keyLengths[b] − L). nativeCall
 * maps one onto the other: keyLengths = o + L under causal where that fits in
 * S, otherwise the window is shifted by off − o.
 */

interface OnnxCase {
  name: string;
  /** Q (B, Hq, L, E), K (B, Hkv, T, E), V (B, Hkv, T, Ev): ONNX's 4-D layout. */
  q: number[];
  k: number[];
  v: number[];
  past?: number;
  nonpad?: number[];
  isCausal?: boolean;
  softcap?: number;
  left?: number;
  right?: number;
  /** attn_mask: its shape (last dimension may be short of S: ONNX pads it) and its values. */
  mask?: { dtype: 'bool' | 'float32'; shape: number[]; values?: number[] };
  /** Fixed inputs where ONNX's generator fixes them. */
  fill?: { q?: (i: number) => number; k?: (i: number) => number; v?: (i: number, at: number[]) => number };
  /** What ONNX's generator asserts about Y, checked besides the reference. */
  expect?: (y: Float64Array) => void;
}

const CASES: OnnxCase[] = [
  { name: 'test_attention_4d_softcap', q: [2, 3, 4, 8], k: [2, 3, 6, 8], v: [2, 3, 6, 8], softcap: 2 },
  { name: 'test_attention_4d_gqa_softcap', q: [2, 9, 4, 8], k: [2, 3, 6, 8], v: [2, 3, 6, 8], softcap: 2 },
  { name: 'test_attention_4d_diff_heads_sizes_softcap', q: [2, 3, 4, 8], k: [2, 3, 6, 8], v: [2, 3, 6, 10], softcap: 2 },
  {
    name: 'test_attention_4d_softcap_neginf_mask', q: [1, 1, 4, 8], k: [1, 1, 6, 8], v: [1, 1, 6, 8], softcap: 0.5,
    mask: { dtype: 'float32', shape: [4, 6], values: Array.from({ length: 24 }, (_, at) => (at % 6 >= 4 ? -Infinity : 0)) },
  },
  {
    name: 'test_attention_4d_softcap_neginf_mask_poison', q: [1, 1, 4, 8], k: [1, 1, 6, 8], v: [1, 1, 6, 8], softcap: 0.5,
    mask: { dtype: 'float32', shape: [4, 6], values: Array.from({ length: 24 }, (_, at) => (at % 6 >= 4 ? -Infinity : 0)) },
    fill: { v: (_, at) => (at[2] >= 4 ? 1000 : NaN) },
    expect: (y) => assert.ok(y.every((x) => x >= 0 && x <= 1), 'the poisoned values (1000) get no weight'),
  },
  {
    name: 'test_attention_4d_diff_heads_mask4d_padded_kv', q: [2, 3, 4, 8], k: [2, 3, 6, 8], v: [2, 3, 6, 10],
    mask: { dtype: 'float32', shape: [2, 3, 4, 4] }, nonpad: [3, 4],
  },
  { name: 'test_attention_4d_gqa_causal_nonpad_decode', q: [2, 4, 1, 8], k: [2, 2, 8, 8], v: [2, 2, 8, 8], isCausal: true, nonpad: [8, 5] },
  { name: 'test_attention_4d_causal_nonpad_continued_prefill', q: [1, 2, 2, 8], k: [1, 2, 4, 8], v: [1, 2, 4, 8], isCausal: true, nonpad: [4] },
  {
    name: 'test_attention_4d_causal_nonpad_negative_offset_structural_empty', q: [1, 2, 4, 8], k: [1, 2, 4, 8], v: [1, 2, 4, 8], isCausal: true, nonpad: [2],
    expect: (y) => {
      for (let h = 0; h < 2; h++) {
        for (let i = 0; i < 4; i++) {
          const row = y.subarray((h * 4 + i) * 8, (h * 4 + i + 1) * 8);
          assert.ok(i < 2 ? row.every((x) => x === 0) : row.some((x) => x !== 0), `head ${h} row ${i}`);
        }
      }
    },
  },
  {
    name: 'test_attention_4d_causal_nonpad_attn_mask_composition', q: [2, 2, 3, 8], k: [2, 2, 6, 8], v: [2, 2, 6, 8], isCausal: true, nonpad: [4, 5],
    mask: {
      dtype: 'bool', shape: [2, 1, 3, 6],
      values: [
        1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0,
        1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0,
      ],
    },
  },
  { name: 'test_attention_4d_causal_nonpad_batch_prefill', q: [3, 2, 2, 8], k: [3, 2, 6, 8], v: [3, 2, 6, 8], isCausal: true, nonpad: [4, 5, 6] },
  { name: 'test_attention_local_window', q: [2, 3, 4, 8], k: [2, 3, 6, 8], v: [2, 3, 6, 8], isCausal: true, left: 2 },
  {
    name: 'test_attention_bidirectional_window', q: [1, 1, 5, 1], k: [1, 1, 5, 1], v: [1, 1, 5, 1], left: 1, right: 2,
    fill: { q: () => 0, k: () => 0, v: (i) => i },
    // The value onnx's generator asserts (np.testing.assert_allclose) for this case.
    expect: (y) => assert.deepEqual(Array.from(y, (x) => Math.round(x * 1e6) / 1e6), [1, 1.5, 2.5, 3, 3.5]),
  },
  { name: 'test_attention_local_window_default', q: [2, 3, 4, 8], k: [2, 3, 6, 8], v: [2, 3, 6, 8], left: -1, right: -1 },
  {
    name: 'test_attention_local_window_rank1_boolean_mask', q: [2, 3, 4, 8], k: [2, 3, 6, 8], v: [2, 3, 6, 8], isCausal: true, left: 2,
    mask: { dtype: 'bool', shape: [6], values: [1, 1, 1, 1, 0, 0] },
  },
  { name: 'test_attention_local_window_with_past', q: [2, 3, 4, 8], k: [2, 3, 2, 8], v: [2, 3, 2, 8], past: 8, isCausal: true, left: 2 },
  { name: 'test_attention_4d_causal_with_past_and_present', q: [2, 3, 4, 8], k: [2, 3, 4, 8], v: [2, 3, 4, 8], past: 3, isCausal: true },
  {
    name: 'test_attention_local_window_ext_cache_rank3_head_mask', q: [2, 3, 4, 8], k: [2, 3, 8, 8], v: [2, 3, 8, 8], isCausal: true, left: 2,
    nonpad: [6, 7], mask: { dtype: 'float32', shape: [3, 4, 8] },
  },
  {
    name: 'test_attention_local_window_ext_cache_rank4_batch_mask', q: [2, 3, 4, 8], k: [2, 3, 8, 8], v: [2, 3, 8, 8], isCausal: true, left: 2,
    nonpad: [6, 7], mask: { dtype: 'float32', shape: [2, 1, 4, 8] },
  },
  {
    name: 'test_attention_local_window_ext_cache_rank2_mask', q: [2, 3, 4, 8], k: [2, 3, 8, 8], v: [2, 3, 8, 8], isCausal: true, left: 2,
    nonpad: [6, 7], mask: { dtype: 'float32', shape: [1, 8] },
  },
  {
    name: 'test_attention_local_window_ext_cache_float16_mask', q: [2, 3, 4, 8], k: [2, 3, 8, 8], v: [2, 3, 8, 8], isCausal: true, left: 2,
    nonpad: [6, 7], mask: { dtype: 'float32', shape: [1, 8], values: new Array(8).fill(0) },
    fill: { q: () => 0, k: () => 0, v: () => 1 },
    expect: (y) => assert.ok(y.every((x) => x === 1), 'uniform weights over ones give exactly 1'),
  },
  // test_attention_3d_local_window in the 4-D layout (its 3-D input is (B, L, H·E), a reshape of this).
  { name: 'test_attention_3d_local_window', q: [2, 4, 4, 8], k: [2, 1, 6, 8], v: [2, 1, 6, 6], isCausal: true, left: 2 },
  {
    name: 'test_attention_local_window_gqa_rank4_mask', q: [2, 4, 4, 8], k: [2, 2, 6, 8], v: [2, 2, 6, 6], isCausal: true, left: 2, softcap: 2,
    mask: { dtype: 'bool', shape: [2, 4, 4, 6], values: Array.from({ length: 2 * 4 * 4 * 6 }, (_, at) => (Math.floor(at / 6) % 4 === 0 ? 0 : 1)) },
    expect: (y) => {
      for (let row = 0; row < 2 * 4 * 4; row += 4) assert.ok(y.subarray(row * 6, row * 6 + 6).every((x) => x === 0), 'a fully masked row is zeros');
    },
  },
];

interface Inputs {
  q: Float64Array; k: Float64Array; v: Float64Array; pastK: Float64Array; pastV: Float64Array; mask: Float64Array | null;
}

/** Seeded uniform [0, 1) inputs (as np.random.rand), with the case's fixed values where it has them. */
function inputsOf(c: OnnxCase, seed: number): Inputs {
  const rng = new Rng(seed);
  const draw = (n: number) => Float64Array.from({ length: n }, () => rng.uniform());
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const [b, hkv, , e] = c.k;
  const ev = c.v[3];
  const past = c.past ?? 0;
  const x: Inputs = {
    q: draw(size(c.q)), k: draw(size(c.k)), v: draw(size(c.v)),
    pastK: draw(b * hkv * past * e), pastV: draw(b * hkv * past * ev), mask: null,
  };
  if (c.fill?.q) x.q = x.q.map((_, i) => c.fill!.q!(i));
  if (c.fill?.k) x.k = x.k.map((_, i) => c.fill!.k!(i));
  if (c.fill?.v) {
    const t = c.v[2];
    x.v = x.v.map((old, i) => {
      const at = [Math.floor(i / (hkv * t * ev)), Math.floor(i / (t * ev)) % hkv, Math.floor(i / ev) % t, i % ev];
      const fixed = c.fill!.v!(i, at);
      return Number.isNaN(fixed) ? old : fixed;
    });
  }
  if (c.mask) x.mask = c.mask.values ? Float64Array.from(c.mask.values) : draw(size(c.mask.shape));
  return x;
}

/**
 * ONNX Attention's reference semantics (op_attention.py), in float64, 4-D:
 *   K = concat(past_key, K), V likewise (S = P + T);  o = P, nonpad[b] − L, or 0
 *   bias = attn_mask (bool: 0 / −∞; padded to S with −∞) + causal (j <= i + o) + window
 *          (i + o − left <= j <= i + o + right, −1 unbounded) + padding (j < nonpad[b])
 *   Y = softmax(softcap(scale · q·k) + bias) V, and Y = 0 on a row whose bias is all −∞.
 */
function onnxAttention(c: OnnxCase, x: Inputs): Float64Array {
  const [b, hq, l, e] = c.q;
  const [, hkv, t] = c.k;
  const ev = c.v[3];
  const past = c.past ?? 0;
  const s = past + t;
  const scale = 1 / Math.sqrt(e);
  const key = (bi: number, g: number, j: number, d: number) =>
    j < past ? x.pastK[((bi * hkv + g) * past + j) * e + d] : x.k[((bi * hkv + g) * t + j - past) * e + d];
  const value = (bi: number, g: number, j: number, d: number) =>
    j < past ? x.pastV[((bi * hkv + g) * past + j) * ev + d] : x.v[((bi * hkv + g) * t + j - past) * ev + d];
  const maskAt = (bi: number, h: number, i: number, j: number): number => {
    if (!c.mask || !x.mask) return 0;
    const shape = c.mask.shape;
    if (j >= shape[shape.length - 1]) return -Infinity; // ONNX pads a short mask with −∞ (False)
    const full = [bi, h, i, j].slice(4 - shape.length);
    let at = 0;
    for (let d = 0; d < shape.length; d++) at = at * shape[d] + (shape[d] === 1 ? 0 : full[d]);
    const m = x.mask[at];
    return c.mask.dtype === 'bool' ? (m ? 0 : -Infinity) : m;
  };
  const y = new Float64Array(b * hq * l * ev);
  for (let bi = 0; bi < b; bi++) {
    const o = c.nonpad ? c.nonpad[bi] - l : past;
    for (let h = 0; h < hq; h++) {
      const g = Math.floor(h / (hq / hkv));
      for (let i = 0; i < l; i++) {
        const logits: number[] = [];
        const bias: number[] = [];
        for (let j = 0; j < s; j++) {
          let dot = 0;
          for (let d = 0; d < e; d++) dot += x.q[((bi * hq + h) * l + i) * e + d] * key(bi, g, j, d);
          let logit = scale * dot;
          if (c.softcap) logit = c.softcap * Math.tanh(logit / c.softcap);
          let add = maskAt(bi, h, i, j);
          if (c.isCausal && j > i + o) add = -Infinity;
          if ((c.left ?? -1) >= 0 && i + o - j > c.left!) add = -Infinity;
          if ((c.right ?? -1) >= 0 && j - (i + o) > c.right!) add = -Infinity;
          if (c.nonpad && j >= c.nonpad[bi]) add = -Infinity;
          logits.push(logit + add);
          bias.push(add);
        }
        if (bias.every((z) => z === -Infinity)) continue; // ONNX's fully-masked-row guard: Y = 0
        const max = Math.max(...logits);
        const w = logits.map((z) => Math.exp(z - max));
        const sum = w.reduce((p, q) => p + q, 0);
        for (let j = 0; j < s; j++) {
          for (let d = 0; d < ev; d++) y[((bi * hq + h) * l + i) * ev + d] += (w[j] / sum) * value(bi, g, j, d);
        }
      }
    }
  }
  return y;
}

/**
 * The same call with scaledot's options: keys concatenated after the past,
 * ONNX's alignment offset o mapped onto off = S − L (keyLengths[b] − L).
 */
function nativeCall(c: OnnxCase, x: Inputs, dtype: FloatDType): { q: Tensor; k: Tensor; v: Tensor; options: AttentionOptions } {
  const [b, hq, l, e] = c.q;
  const [, hkv, t] = c.k;
  const ev = c.v[3];
  const past = c.past ?? 0;
  const s = past + t;
  const concat = (pastPart: Float64Array, now: Float64Array, w: number) => {
    const out = new Float64Array(b * hkv * s * w);
    for (let bh = 0; bh < b * hkv; bh++) {
      out.set(pastPart.subarray(bh * past * w, (bh + 1) * past * w), bh * s * w);
      out.set(now.subarray(bh * t * w, (bh + 1) * t * w), (bh * s + past) * w);
    }
    return out;
  };
  const options: AttentionOptions = { enableGqa: hq !== hkv };
  if (c.softcap) options.softcap = c.softcap;
  if (c.mask && x.mask) {
    // Only ONNX's padding of a short mask to S is done by hand here; it is not an option of either API.
    const shape = c.mask.shape;
    const short = shape[shape.length - 1];
    const rows = x.mask.length / short;
    const padded = new Float64Array(rows * s).fill(c.mask.dtype === 'bool' ? 0 : -Infinity);
    for (let r = 0; r < rows; r++) padded.set(x.mask.subarray(r * short, (r + 1) * short), r * s);
    options.attnMask = tensor(padded, [...shape.slice(0, -1), s], { dtype: c.mask.dtype === 'bool' ? 'bool' : dtype });
  }
  const left = c.left ?? -1;
  const right = c.right ?? -1;
  const offsets = Array.from({ length: b }, (_, bi) => (c.nonpad ? c.nonpad[bi] - l : past));
  const fitsCausal = c.isCausal && offsets.every((o) => o + l >= 0 && o + l <= s);
  if (c.nonpad || fitsCausal) {
    // keyLengths = o + L gives off = o exactly; with nonpad that is nonpad itself (its padding bound too).
    options.keyLengths = offsets.map((o) => o + l);
    if (c.isCausal) options.isCausal = true;
    if (left !== -1 || right !== -1) options.window = [left, right];
  } else {
    // Shift the window instead: one offset o for every element; causal becomes the right bound 0.
    const o = offsets[0];
    const upper = Math.min(c.isCausal ? 0 : Infinity, right === -1 ? Infinity : right); // j <= i + o + upper
    let off = s - l;
    if (upper !== Infinity && upper + o - off < 0) {
      off = o + upper; // keyLengths = L + o + upper < S: no row reaches past it anyway
      options.keyLengths = new Array(b).fill(l + off);
    }
    const newLeft = left === -1 ? -1 : left + off - o;
    assert.ok(newLeft >= -1, `${c.name}: the window shifts to [${newLeft}, ·]`);
    options.window = [newLeft, upper === Infinity ? -1 : upper + o - off];
  }
  return {
    q: tensor(x.q, c.q, { dtype }),
    k: tensor(concat(x.pastK, x.k, e), [b, hkv, s, e], { dtype }),
    v: tensor(concat(x.pastV, x.v, ev), [b, hkv, s, ev], { dtype }),
    options,
  };
}

describe('ONNX Attention conformance (softcap, sliding window, nonpad_kv_seqlen) through the native options', () => {
  it('the ONNX port gives the value onnx asserts for test_attention_bidirectional_window', () => {
    const c = CASES.find((x) => x.name === 'test_attention_bidirectional_window')!;
    c.expect!(onnxAttention(c, inputsOf(c, 1)));
  });

  for (const impl of IMPLS) {
    const dtypes = dtypesOf(impl).filter((d) => takesModelOptions(impl, d) && (d === 'float64' || d === 'float32'));
    for (const dtype of dtypes) {
      it(`[${impl}, ${dtype}] every case matches ONNX's semantics`, () => {
        for (const c of CASES) {
          for (const seed of [1, 2]) {
            const x = inputsOf(c, seed);
            const expected = onnxAttention(c, x);
            const call = nativeCall(c, x, dtype);
            const y = scaledDotProductAttention(call.q, call.k, call.v, { ...call.options, impl }).data;
            // onnx's backend tests compare with rtol 1e-3, atol 1e-7; float32 here (inputs rounded to it,
            // arithmetic in it) is held to 1e-5, float64 to rounding.
            const [rtol, atol] = dtype === 'float64' ? [1e-12, 1e-14] : [1e-5, 1e-6];
            assert.equal(y.length, expected.length);
            for (let i = 0; i < y.length; i++) {
              assert.ok(Math.abs(y[i] - expected[i]) <= atol + rtol * Math.abs(expected[i]), `${c.name} seed ${seed} [${i}]: ${y[i]} vs ONNX ${expected[i]}`);
            }
            c.expect?.(Float64Array.from(y));
          }
        }
      });
    }
  }

  it('the mapping is not vacuous: top-left and bottom-right alignment differ on these shapes', () => {
    const c = CASES.find((x) => x.name === 'test_attention_local_window')!;
    const x = inputsOf(c, 1);
    const native = scaledDotProductAttention(tensor(x.q, c.q, { dtype: 'float64' }), tensor(x.k, c.k, { dtype: 'float64' }), tensor(x.v, c.v, { dtype: 'float64' }), {
      isCausal: true, window: [2, -1],
    }).data;
    const expected = onnxAttention(c, x);
    assert.ok(native.some((y, i) => Math.abs(y - expected[i]) > 1e-3), 'without the mapping (off = S − L = 2) the outputs differ');
  });
});
