import { GraphBuilder } from './onnx-graph.js';

/**
 * Small transformer models in the shapes real exporters write (GPT-2-like
 * causal with a padding mask, BERT-like encoder, ViT-like fused qkv), with a
 * float64 forward pass of the same weights that the tests compare against.
 */
export interface LayerSpec {
  heads: number;
  /** K/V heads (GQA: repeated to `heads` with a Gather, as repeat_kv exports). */
  kvHeads?: number;
  /**
   * Where the scale sits: Div of the scores, Mul of q, Mul of q and kᵀ by √scale computed in the graph (torch SDPA),
   * or Paddle's `scale` op on q as older paddle2onnx writes it: Cast, Mul by the scale, Add a bias of 0.
   */
  scaleAt: 'scores-div' | 'q-mul' | 'qk-sqrt' | 'q-paddle-scale';
  causal?: boolean;
  softcap?: number;
  fusedQkv?: boolean;
  /** BART's layout: q scaled right after its projection, then bmm on [batch·heads, T, D], the mask added to a rank-4 view of the scores. */
  bart?: boolean;
}

export interface ModelSpec {
  batch: number;
  length: number;
  width: number;
  headDim: number;
  padMask: boolean;
  layers: LayerSpec[];
  seed: number;
  /** Extra unused float32 initializer values (to make a large file). */
  padBytes?: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FINFO_MIN = -3.4028234663852886e38;

export interface BuiltModel {
  bytes: Uint8Array;
  /** Float64 reference per layer: q [B][H][T][D], k (per query head), the true keep mask [B][T][T], the scale and soft-cap. */
  reference(x: Float64Array, mask: number[][] | null): { q: number[][][][]; k: number[][][][]; keep: boolean[][][]; scale: number; softcap: number | null }[];
}

export function buildTransformer(spec: ModelSpec): BuiltModel {
  const { batch: B, length: T, width: E, headDim: D } = spec;
  const g = new GraphBuilder();
  const random = rng(spec.seed);
  const weight = (rows: number, cols: number, gain: number): Float32Array => Float32Array.from({ length: rows * cols }, () => (random() * 2 - 1) * gain);
  let x = g.input('x', 'float', ['batch', 'seq', E]);
  const maskIn = spec.padMask ? g.input('attention_mask', 'int64', ['batch', 'seq']) : null;
  const weights: { wq: Float32Array; wk: Float32Array; wv: Float32Array; wo: Float32Array }[] = [];
  let additive: string | null = null;
  if (maskIn !== null) {
    const f = g.node('Cast', [maskIn], { to: 1 }, '/model');
    const inv = g.node('Sub', [g.scalar(1, '/model'), f], {}, '/model');
    const big = g.node('Mul', [inv, g.scalar(-10000, '/model')], {}, '/model');
    additive = g.node('Unsqueeze', [big, g.init('unsq_axes', [2], [1, 2], 'int64')], {}, '/model');
  }
  const causalKeep = Array.from({ length: T * T }, (_, at) => (at % T <= Math.floor(at / T) ? 1 : 0));
  const causalBool = spec.layers.some((l) => l.causal) ? g.node('Cast', [g.init('causal', [1, 1, T, T], causalKeep, 'int64')], { to: 9 }, '/model') : null;
  for (const [li, layer] of spec.layers.entries()) {
    const scope = `/model/layers.${li}/attn`;
    const H = layer.heads;
    const Hk = layer.kvHeads ?? H;
    const gain = 1.5 / Math.sqrt(E);
    const w = { wq: weight(E, H * D, gain), wk: weight(E, Hk * D, gain), wv: weight(E, Hk * D, gain), wo: weight(H * D, E, 0.5 / Math.sqrt(H * D)) };
    weights.push(w);
    const heads = (proj: string, h: number): string => g.node('Transpose', [g.node('Reshape', [proj, g.init(`${scope}/shape${h}_${proj}`, [4], [0, 0, h, D], 'int64')], {}, scope)], { perm: [0, 2, 1, 3] }, scope);
    let q: string;
    let k: string;
    let v: string;
    if (layer.bart) {
      const toBH = (t: string): string => g.node('Reshape', [heads(t, H), g.init(`${scope}/bh_${t}`, [3], [B * H, T, D], 'int64')], {}, scope);
      const qBH = toBH(g.node('Mul', [g.node('MatMul', [x, g.init(`${scope}/q.weight`, [E, H * D], w.wq)], {}, scope), g.init(`${scope}/scaling`, [], [1 / Math.sqrt(D)])], {}, scope));
      const kBH = toBH(g.node('MatMul', [x, g.init(`${scope}/k.weight`, [E, H * D], w.wk)], {}, scope));
      const vBH = toBH(g.node('MatMul', [x, g.init(`${scope}/v.weight`, [E, H * D], w.wv)], {}, scope));
      let s4 = g.node('Reshape', [g.node('MatMul', [qBH, g.node('Transpose', [kBH], { perm: [0, 2, 1] }, scope)], {}, scope), g.init(`${scope}/s4`, [4], [B, H, T, T], 'int64')], {}, scope);
      if (additive !== null) s4 = g.node('Add', [s4, additive], {}, scope);
      const probs = g.node('Softmax', [g.node('Reshape', [s4, g.init(`${scope}/s3`, [3], [B * H, T, T], 'int64')], {}, scope)], { axis: -1 }, scope);
      const ctx = g.node('Reshape', [g.node('MatMul', [probs, vBH], {}, scope), g.init(`${scope}/c4`, [4], [B, H, T, D], 'int64')], {}, scope);
      const merged = g.node('Reshape', [g.node('Transpose', [ctx], { perm: [0, 2, 1, 3] }, scope), g.init(`${scope}/merge`, [3], [0, 0, H * D], 'int64')], {}, scope);
      x = g.node('Add', [x, g.node('MatMul', [merged, g.init(`${scope}/o.weight`, [H * D, E], w.wo)], {}, scope)], {}, `/model/layers.${li}`);
      continue;
    }
    if (layer.fusedQkv) {
      const wqkv = new Float32Array(E * 3 * H * D);
      for (let r = 0; r < E; r++) for (const [part, m] of [w.wq, w.wk, w.wv].entries()) wqkv.set(m.subarray(r * H * D, (r + 1) * H * D), r * 3 * H * D + part * H * D);
      const qkv = g.node('MatMul', [x, g.init(`${scope}/qkv.weight`, [E, 3 * H * D], wqkv)], {}, scope);
      const split = g.node('Transpose', [g.node('Reshape', [qkv, g.init(`${scope}/qkv_shape`, [5], [0, 0, 3, H, D], 'int64')], {}, scope)], { perm: [2, 0, 3, 1, 4] }, scope);
      [q, k, v] = [0, 1, 2].map((i) => g.node('Gather', [split, g.init(`${scope}/part${i}`, [], [i], 'int64')], { axis: 0 }, scope));
    } else {
      q = heads(g.node('MatMul', [x, g.init(`${scope}/q.weight`, [E, H * D], w.wq)], {}, scope), H);
      k = heads(g.node('MatMul', [x, g.init(`${scope}/k.weight`, [E, Hk * D], w.wk)], {}, scope), Hk);
      v = heads(g.node('MatMul', [x, g.init(`${scope}/v.weight`, [E, Hk * D], w.wv)], {}, scope), Hk);
      if (Hk !== H) {
        const repeat = g.init(`${scope}/repeat_kv`, [H], Array.from({ length: H }, (_, h) => Math.floor(h / (H / Hk))), 'int64');
        k = g.node('Gather', [k, repeat], { axis: 1 }, scope);
        v = g.node('Gather', [v, repeat], { axis: 1 }, scope);
      }
    }
    let kT = g.node('Transpose', [k], { perm: [0, 1, 3, 2] }, scope);
    if (layer.scaleAt === 'q-mul') q = g.node('Mul', [q, g.init(`${scope}/scale`, [], [1 / Math.sqrt(D)])], {}, scope);
    if (layer.scaleAt === 'q-paddle-scale') {
      const scaled = g.node('Mul', [g.node('Cast', [q], { to: 1 }, scope), g.scalar(1 / Math.sqrt(D), scope)], {}, scope);
      q = g.node('Add', [scaled, g.scalar(0, scope)], {}, scope);
    }
    if (layer.scaleAt === 'qk-sqrt') {
      const s = g.node('Sqrt', [g.node('Div', [g.scalar(1, scope), g.scalar(Math.sqrt(D), scope)], {}, scope)], {}, scope);
      q = g.node('Mul', [q, s], {}, scope);
      kT = g.node('Mul', [kT, s], {}, scope);
    }
    let scores = g.node('MatMul', [q, kT], {}, scope);
    if (layer.scaleAt === 'scores-div') scores = g.node('Div', [scores, g.init(`${scope}/sqrt_d`, [], [Math.sqrt(D)])], {}, scope);
    if (layer.softcap !== undefined) {
      scores = g.node('Mul', [g.node('Tanh', [g.node('Div', [scores, g.scalar(layer.softcap, scope)], {}, scope)], {}, scope), g.scalar(layer.softcap, scope)], {}, scope);
    }
    if (layer.causal) scores = g.node('Where', [causalBool!, scores, g.scalar(FINFO_MIN, scope)], {}, scope);
    if (additive !== null) scores = g.node('Add', [scores, additive], {}, scope);
    const probs = g.node('Softmax', [scores], { axis: -1 }, scope);
    const ctx = g.node('MatMul', [probs, v], {}, scope);
    const merged = g.node('Reshape', [g.node('Transpose', [ctx], { perm: [0, 2, 1, 3] }, scope), g.init(`${scope}/merge`, [3], [0, 0, H * D], 'int64')], {}, scope);
    x = g.node('Add', [x, g.node('MatMul', [merged, g.init(`${scope}/o.weight`, [H * D, E], w.wo)], {}, scope)], {}, `/model/layers.${li}`);
  }
  if (spec.padBytes) g.init('unused.padding', [spec.padBytes / 4], new Float32Array(spec.padBytes / 4));
  g.output(g.node('Identity', [x], {}, '/model/out'), ['batch', 'seq', E]);
  const bytes = g.model();

  const reference: BuiltModel['reference'] = (input, mask) => {
    let hidden = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => Array.from(input.subarray((b * T + t) * E, (b * T + t + 1) * E))));
    const out: ReturnType<BuiltModel['reference']> = [];
    for (const [li, layer] of spec.layers.entries()) {
      const H = layer.heads;
      const Hk = layer.kvHeads ?? H;
      const w = weights[li];
      const proj = (m: Float32Array, cols: number) => hidden.map((row) => row.map((xv) => Array.from({ length: cols }, (_, c) => xv.reduce((s, xe, e) => s + xe * m[e * cols + c], 0))));
      const split = (p: number[][][], h: number, from: number) => p.map((rows) => Array.from({ length: h }, (_, hh) => rows.map((r) => r.slice(from + hh * D, from + (hh + 1) * D))));
      const q = split(proj(w.wq, H * D), H, 0);
      const kk = split(proj(w.wk, Hk * D), Hk, 0);
      const vv = split(proj(w.wv, Hk * D), Hk, 0);
      const kOf = (b: number, h: number) => kk[b][Math.floor(h / (H / Hk))];
      const keep = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (!layer.causal || j <= i) && (mask === null || mask[b][j] === 1))));
      const scale = 1 / Math.sqrt(D);
      const logit = (dot: number, b: number, i: number, j: number): number => {
        let s = scale * dot;
        if (layer.softcap !== undefined) s = layer.softcap * Math.tanh(s / layer.softcap);
        if (layer.causal && j > i) s = FINFO_MIN;
        return s + (mask === null ? 0 : (1 - mask[b][j]) * -10000);
      };
      const next = hidden.map((rows, b) => rows.map((xv, i) => {
        const ctx: number[] = [];
        for (let h = 0; h < H; h++) {
          const ls = Array.from({ length: T }, (_, j) => logit(q[b][h][i].reduce((s, qe, e) => s + qe * kOf(b, h)[j][e], 0), b, i, j));
          const m = Math.max(...ls);
          const es = ls.map((l) => Math.exp(l - m));
          const z = es.reduce((a, c) => a + c, 0);
          for (let e = 0; e < D; e++) ctx.push(es.reduce((s, p, j) => s + (p / z) * vv[b][Math.floor(h / (H / Hk))][j][e], 0));
        }
        return xv.map((xe, c) => xe + ctx.reduce((s, ce, r) => s + ce * w.wo[r * E + c], 0));
      }));
      out.push({ q, k: Array.from({ length: B }, (_, b) => Array.from({ length: H }, (_, h) => kOf(b, h))), keep, scale, softcap: layer.softcap ?? null });
      hidden = next;
    }
    return out;
  };
  return { bytes, reference };
}
