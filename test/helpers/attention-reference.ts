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
 */
export interface RefAttentionOptions {
  attnMask?: Tensor;
  isCausal?: boolean;
  scale?: number;
  dropoutP?: number;
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
    heads: indices(q.shape.slice(0, -2)),
    l: q.shape[rank - 2],
    s: k.shape[rank - 2],
    e: q.shape[rank - 1],
    ev: v.shape[rank - 1],
    // GQA: query head h reads kv head floor(h / (hq / hkv)).
    kvHead: (qHead) => (rank >= 3 ? [...qHead.slice(0, -1), Math.floor(qHead[qHead.length - 1] / (hq / hkv))] : []),
  };
}

/** The scores s_ij of one query row, −∞ where masked. Also the magnitude of what each sums. */
function scoresOf(q: Tensor, k: Tensor, head: number[], i: number, g: Geometry, opts: RefAttentionOptions) {
  const readQ = reader(q);
  const readK = reader(k);
  const scale = opts.scale ?? 1 / Math.sqrt(g.e);
  const kv = g.kvHead(head);
  const scores: number[] = [];
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
    if (opts.attnMask) {
      const m = maskAt(opts.attnMask, [...head, i, j]);
      if (opts.attnMask.dtype === 'bool') score = m ? score : -Infinity;
      else {
        score += m;
        if (Number.isFinite(m)) mag += Math.abs(m);
      }
    }
    if (opts.isCausal && j > i + g.s - g.l) score = -Infinity;
    scores.push(score);
    if (score !== -Infinity) magnitude = Math.max(magnitude, mag);
  }
  return { scores, magnitude };
}

/** P_ij from the scores, and the logsumexp; a fully masked row gives zeros and −∞. */
function softmaxOf(scores: number[]): { probs: number[]; lse: number } {
  const max = Math.max(...scores, -Infinity);
  if (max === -Infinity) return { probs: scores.map(() => 0), lse: -Infinity };
  const exps = scores.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return { probs: exps.map((x) => x / sum), lse: max + Math.log(sum) };
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
      const { scores, magnitude } = scoresOf(q, k, head, i, g, opts);
      const soft = softmaxOf(scores);
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
 *   dS_ij = P_ij (dP_ij − Σ_m P_im dP_im),   dq_ie = scale Σ_j dS_ij k_je,   dk_je += scale dS_ij q_ie.
 * Checked against finite differences of refAttention in attention-helpers.test.ts.
 */
export function refAttentionBackward(
  q: Tensor, k: Tensor, v: Tensor, dOut: Tensor, opts: RefAttentionOptions = {},
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
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
  let row = 0;
  for (const head of g.heads) {
    const kv = g.kvHead(head);
    for (let i = 0; i < g.l; i++, row++) {
      const { probs } = softmaxOf(scoresOf(q, k, head, i, g, opts).scores);
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
      for (let j = 0; j < g.s; j++) {
        const dS = probs[j] * (dP[j] - rowDot);
        for (let e = 0; e < g.e; e++) {
          dq[row * g.e + e] += scale * dS * readK([...kv, j, e]);
          dk[flat(kStrides, [...kv, j, e])] += scale * dS * readQ([...head, i, e]);
        }
      }
    }
  }
  return { dq, dk, dv };
}
