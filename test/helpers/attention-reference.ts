import type { Tensor } from '../../src/tensor/index.js';

/**
 * An independent float64 attention for tests: the formula over explicit
 * multi-indices, sharing no code with src/attention (only the dropout decision
 * is passed in, since which weights drop is the library's contract, not math).
 *
 *   s_ij = scale · Σ_e q_ie k_je + M_ij,   P_ij = exp(s_ij) / Σ_m exp(s_im),
 *   o_ic = Σ_j P_ij · keep_ij / (1 − p) · v_jc,   lse_i = log Σ_j exp(s_ij)
 *
 * Shapes: q (..., Hq, L, E), k (..., Hkv, S, E), v (..., Hkv, S, Ev). A bool
 * mask entry of false, or j > i + S − L under causal, makes s_ij = −∞. A row
 * with every s_ij = −∞ is defined to give o = 0 and lse = −∞.
 *
 * The model options, as issue 9 states them, with off = S − L (keyLengths[b] − L):
 *   softcap c:   scale · q·k becomes c · tanh(scale · q·k / c), first;
 *   alibi m_h:   then − m_h · |i + off − j|;
 *   masks:       attnMask, causal j <= i + off, window [a, b] (−1 = unbounded):
 *                i + off − a <= j <= i + off + b, keyLengths: j < keyLengths[b];
 *   sinks σ_h:   P_ij = exp(s_ij) / (exp(σ_h) + Σ_m exp(s_im)), lse includes σ_h.
 */
export interface RefAttentionOptions {
  attnMask?: Tensor;
  isCausal?: boolean;
  scale?: number;
  dropoutP?: number;
  softcap?: number;
  alibiSlopes?: number[];
  window?: [number, number];
  keyLengths?: number[];
  sinks?: number[];
  /** Whether the weight of (row, col) survives dropout; row = flat index of (..., h, i). */
  keep?: (row: number, col: number) => boolean;
}

export interface RefAttentionResult {
  output: Float64Array;
  lse: Float64Array;
  /** Per output element (row, c): Σ_j |P̃_ij v_jc|, the size of the terms it sums. */
  absSum: Float64Array;
  /** Per row: max_j (|scale| Σ_e |q_ie k_je| + |M_ij|), the size of the terms a score sums. */
  scoreMag: Float64Array;
}

function stridesOf(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) out[d] = out[d + 1] * shape[d + 1];
  return out;
}

/** Reads t at a full multi-index. */
function reader(t: Tensor): (idx: readonly number[]) => number {
  const strides = stridesOf(t.shape);
  return (idx) => {
    let off = 0;
    for (let d = 0; d < idx.length; d++) off += idx[d] * strides[d];
    return t.data[off];
  };
}

/** Every multi-index of a shape in row-major order. */
export function indices(shape: readonly number[]): number[][] {
  let out: number[][] = [[]];
  for (const n of shape) {
    const next: number[][] = [];
    for (const prefix of out) for (let i = 0; i < n; i++) next.push([...prefix, i]);
    out = next;
  }
  return out;
}

/** The mask value at a multi-index of the full (..., Hq, L, S) shape, NumPy broadcasting: align right, size-1 stretches. */
function maskAt(mask: Tensor, full: readonly number[]): number {
  const read = reader(mask);
  const idx = mask.shape.map((n, d) => (n === 1 ? 0 : full[full.length - mask.rank + d]));
  return read(idx);
}

interface Geometry {
  rank: number;
  hq: number;
  heads: number[][]; // every (..., h) of the query, in row order
  l: number;
  s: number;
  e: number;
  ev: number;
  kvHead: (qHead: readonly number[]) => number[];
}

function geometry(q: Tensor, k: Tensor, v: Tensor): Geometry {
  const rank = q.rank;
  const hq = rank >= 3 ? q.shape[rank - 3] : 1;
  const hkv = rank >= 3 ? k.shape[rank - 3] : 1;
  return {
    rank,
    hq,
    heads: indices(q.shape.slice(0, -2)),
    l: q.shape[rank - 2],
    s: k.shape[rank - 2],
    e: q.shape[rank - 1],
    ev: v.shape[rank - 1],
    // GQA: query head h reads kv head floor(h / (hq / hkv)).
    kvHead: (qHead) => (rank >= 3 ? [...qHead.slice(0, -1), Math.floor(qHead[qHead.length - 1] / (hq / hkv))] : []),
  };
}

/** Where a query head sits: its head number h and its batch element b (the flat index of the batch dims). */
function headPosition(head: readonly number[], g: Geometry): { h: number; b: number } {
  if (g.rank < 3) return { h: 0, b: 0 };
  // heads enumerate (..., h) row-major, so the flat index over the batch dims is the flat head index / Hq.
  const flat = g.heads.findIndex((x) => x.every((y, d) => y === head[d]));
  return { h: head[head.length - 1], b: Math.floor(flat / g.hq) };
}

/**
 * The scores s_ij of one query row, −∞ where masked, the magnitude of what each
 * sums, and per key the slope ds/d(scale·q·k) (1 − tanh² under softcap, else 1).
 */
function scoresOf(q: Tensor, k: Tensor, head: number[], i: number, g: Geometry, opts: RefAttentionOptions) {
  const readQ = reader(q);
  const readK = reader(k);
  const scale = opts.scale ?? 1 / Math.sqrt(g.e);
  const kv = g.kvHead(head);
  const { h, b } = headPosition(head, g);
  const length = opts.keyLengths ? opts.keyLengths[b] : g.s;
  const off = length - g.l;
  const scores: number[] = [];
  const slopes: number[] = [];
  let magnitude = 0;
  for (let j = 0; j < g.s; j++) {
    let dot = 0;
    let absDot = 0;
    for (let e = 0; e < g.e; e++) {
      const term = readQ([...head, i, e]) * readK([...kv, j, e]);
      dot += term;
      absDot += Math.abs(term);
    }
    let score = scale * dot;
    let mag = Math.abs(scale) * absDot;
    let slope = 1;
    if (opts.softcap) {
      score = opts.softcap * Math.tanh(score / opts.softcap);
      slope = 1 - (score / opts.softcap) ** 2;
    }
    if (opts.alibiSlopes) {
      const bias = opts.alibiSlopes[h] * Math.abs(i + off - j);
      score -= bias;
      mag += Math.abs(bias);
    }
    if (opts.attnMask) {
      const m = maskAt(opts.attnMask, [...head, i, j]);
      if (opts.attnMask.dtype === 'bool') score = m ? score : -Infinity;
      else {
        score += m;
        if (Number.isFinite(m)) mag += Math.abs(m);
      }
    }
    if (opts.isCausal && j > i + off) score = -Infinity;
    if (opts.window) {
      const [left, right] = opts.window;
      if (left !== -1 && j < i + off - left) score = -Infinity;
      if (right !== -1 && j > i + off + right) score = -Infinity;
    }
    if (j >= length) score = -Infinity;
    scores.push(score);
    slopes.push(slope);
    if (score !== -Infinity) magnitude = Math.max(magnitude, mag);
  }
  return { scores, magnitude, slopes, sink: opts.sinks ? opts.sinks[h] : -Infinity, h };
}

/** P_ij from the scores with the sink's term in the denominator, and the logsumexp; nothing to weigh gives zeros and −∞. */
function softmaxOf(scores: number[], sink = -Infinity): { probs: number[]; lse: number; sinkProb: number } {
  const max = Math.max(...scores, sink);
  if (max === -Infinity) return { probs: scores.map(() => 0), lse: -Infinity, sinkProb: 0 };
  const exps = scores.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, Math.exp(sink - max));
  return { probs: exps.map((x) => x / sum), lse: max + Math.log(sum), sinkProb: Math.exp(sink - max) / sum };
}

function dropFactor(opts: RefAttentionOptions, row: number, j: number): number {
  const p = opts.dropoutP ?? 0;
  if (p === 0) return 1;
  if (!opts.keep) throw new Error('refAttention: dropoutP > 0 needs a keep function');
  return opts.keep(row, j) ? 1 / (1 - p) : 0;
}

export function refAttention(q: Tensor, k: Tensor, v: Tensor, opts: RefAttentionOptions = {}): RefAttentionResult {
  const g = geometry(q, k, v);
  const readV = reader(v);
  const rows = g.heads.length * g.l;
  const output = new Float64Array(rows * g.ev);
  const absSum = new Float64Array(rows * g.ev);
  const lse = new Float64Array(rows);
  const scoreMag = new Float64Array(rows);
  let row = 0;
  for (const head of g.heads) {
    const kv = g.kvHead(head);
    for (let i = 0; i < g.l; i++, row++) {
      const { scores, magnitude, sink } = scoresOf(q, k, head, i, g, opts);
      const soft = softmaxOf(scores, sink);
      lse[row] = soft.lse;
      scoreMag[row] = magnitude;
      for (let j = 0; j < g.s; j++) {
        const w = soft.probs[j] * dropFactor(opts, row, j);
        for (let c = 0; c < g.ev; c++) {
          const term = w * readV([...kv, j, c]);
          output[row * g.ev + c] += term;
          absSum[row * g.ev + c] += Math.abs(term);
        }
      }
    }
  }
  return { output, lse, absSum, scoreMag };
}

/**
 * The gradients of Σ dO ⊙ o by the chain rule through the formula above:
 *   dv_jc += P̃_ij dO_ic,   dP_ij = keep_ij/(1 − p) Σ_c dO_ic v_jc,
 *   dS_ij = P_ij (dP_ij − Σ_m P_im dP_im) · c'_ij,   dq_ie = scale Σ_j dS_ij k_je,   dk_je += scale dS_ij q_ie,
 *   dσ_h −= p_sink,i Σ_m P_im dP_im   (the sink is one more logit whose dP is 0),
 * where c'_ij is the softcap's slope 1 − tanh² (1 without softcap).
 * Checked against finite differences of refAttention in attention-helpers.test.ts.
 */
export function refAttentionBackward(
  q: Tensor, k: Tensor, v: Tensor, dOut: Tensor, opts: RefAttentionOptions = {},
): { dq: Float64Array; dk: Float64Array; dv: Float64Array; dsinks: Float64Array } {
  const g = geometry(q, k, v);
  const readQ = reader(q);
  const readK = reader(k);
  const readV = reader(v);
  const readDO = reader(dOut);
  const scale = opts.scale ?? 1 / Math.sqrt(g.e);
  const kStrides = stridesOf(k.shape);
  const vStrides = stridesOf(v.shape);
  const flat = (strides: number[], idx: number[]) => idx.reduce((off, x, d) => off + x * strides[d], 0);
  const dq = new Float64Array(q.size);
  const dk = new Float64Array(k.size);
  const dv = new Float64Array(v.size);
  const dsinks = new Float64Array(g.hq);
  let row = 0;
  for (const head of g.heads) {
    const kv = g.kvHead(head);
    for (let i = 0; i < g.l; i++, row++) {
      const scored = scoresOf(q, k, head, i, g, opts);
      const { probs, sinkProb } = softmaxOf(scored.scores, scored.sink);
      const dP: number[] = [];
      for (let j = 0; j < g.s; j++) {
        const factor = dropFactor(opts, row, j);
        let dot = 0;
        for (let c = 0; c < g.ev; c++) {
          const dO = readDO([...head, i, c]);
          dv[flat(vStrides, [...kv, j, c])] += probs[j] * factor * dO;
          dot += dO * readV([...kv, j, c]);
        }
        dP.push(factor * dot);
      }
      const rowDot = probs.reduce((acc, p, j) => acc + p * dP[j], 0);
      if (opts.sinks) dsinks[scored.h] -= sinkProb * rowDot;
      for (let j = 0; j < g.s; j++) {
        const dS = probs[j] * (dP[j] - rowDot) * scored.slopes[j];
        for (let e = 0; e < g.e; e++) {
          dq[row * g.e + e] += scale * dS * readK([...kv, j, e]);
          dk[flat(kStrides, [...kv, j, e])] += scale * dS * readQ([...head, i, e]);
        }
      }
    }
  }
  return { dq, dk, dv, dsinks };
}
