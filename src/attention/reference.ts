import { FLOAT_DTYPES, rounder } from '../tensor/index.js';
import { dropoutKeeps, type AttentionBackend, type AttentionProblem, type BackwardResult, type ForwardResult } from './problem.js';

/**
 * The float64 reference: the plain math, one query row at a time, every
 * intermediate in float64 and one rounding to the input dtype at the end.
 * It is the yardstick the fast backends are tested against, so it favours
 * being obviously right over being fast.
 *
 * For query row i of head h of batch element b (kv head g = floor(h / (hq / hkv))),
 * off = S − L (keyLengths[b] − L under keyLengths):
 *
 *   t_ij  = scale · (q_i · k_j)
 *   t_ij  = c · tanh(t_ij / c)                softcap c (when on)
 *   s_ij  = t_ij − slope_h · |i + off − j|    ALiBi (when on)
 *           + M_ij                            M: additive mask, or −∞ where a bool mask is
 *                                            false, j > i + off (causal), j outside
 *                                            [i + off − left, i + off + right] (window) or
 *                                            j >= keyLengths[b]
 *   lse_i = log(exp(σ_h) + Σ_j exp(s_ij))     σ_h: the head's sink (absent = no term)
 *   P_ij  = exp(s_ij − lse_i)                 computed after subtracting the row max
 *   P̃_ij  = P_ij · keep_ij / (1 − p)          dropout, keep_ij from dropoutKeeps
 *   o_i   = Σ_j P̃_ij v_j
 *
 * A row with no sink and every s_ij = −∞ has no softmax: it gets o_i = 0 and
 * lse_i = −∞, where the formula would give 0/0 = NaN. With a sink it gets
 * o_i = 0 and lse_i = σ_h by the formula itself.
 */

// q: [batch, hq, l, e]   k: [batch, hkv, s, e]   v: [batch, hkv, s, ev]

/**
 * The scores of query row i of head (b, h) into `scores` (length s), and into
 * `capSlope` (when given) ds/dt of the softcap: 1 − tanh², or 1 without it.
 */
export function rowScores(p: AttentionProblem, b: number, h: number, i: number, scores: Float64Array, capSlope?: Float64Array): void {
  const { hq, hkv, l, s, e, q, k, scale, causal, mask, softcap, alibi, window, keyLengths } = p;
  const g = Math.floor(h / (hq / hkv));
  const qOff = ((b * hq + h) * l + i) * e;
  const kBase = (b * hkv + g) * s * e;
  const maskOff = mask ? mask.headOffset[b * hq + h] + i * mask.rowStride : 0;
  const length = keyLengths ? keyLengths[b] : s;
  const diag = i + length - l; // i + off
  for (let j = 0; j < s; j++) {
    if (capSlope) capSlope[j] = 1;
    const hidden = j >= length || (causal && j > diag) || (window !== null && (j < diag - window.left || j > diag + window.right));
    if (hidden) {
      scores[j] = -Infinity;
      continue;
    }
    let dot = 0;
    for (let c = 0; c < e; c++) dot += q[qOff + c] * k[kBase + j * e + c];
    let score = scale * dot;
    if (softcap > 0) {
      const t = Math.tanh(score / softcap);
      score = softcap * t;
      if (capSlope) capSlope[j] = 1 - t * t;
    }
    if (alibi) score -= alibi[h] * Math.abs(diag - j);
    if (mask) {
      const m = mask.data[maskOff + j * mask.colStride];
      if (mask.kind === 'bool') score = m ? score : -Infinity;
      else score += m;
    }
    scores[j] = score;
  }
}

/**
 * Softmax of `scores` in place with an optional sink logit in the
 * denominator; returns the logsumexp (sink included) and the sink's weight.
 * A row with nothing to weigh (all −∞, no sink) gives zeros and lse −∞.
 */
export function softmaxInPlace(scores: Float64Array, sink = -Infinity): { lse: number; sinkWeight: number } {
  let max = sink;
  for (const x of scores) if (x > max) max = x;
  if (max === -Infinity) {
    scores.fill(0);
    return { lse: -Infinity, sinkWeight: 0 };
  }
  let sum = Math.exp(sink - max);
  for (let j = 0; j < scores.length; j++) {
    scores[j] = Math.exp(scores[j] - max);
    sum += scores[j];
  }
  for (let j = 0; j < scores.length; j++) scores[j] /= sum;
  return { lse: max + Math.log(sum), sinkWeight: Math.exp(sink - max) / sum };
}

/** keep_ij / (1 − p) for every key j of one row: 0 for a dropped weight. */
function rowDropoutScale(p: AttentionProblem, row: number, out: Float64Array): void {
  if (p.dropoutP === 0) {
    out.fill(1);
    return;
  }
  const kept = 1 / (1 - p.dropoutP);
  for (let j = 0; j < p.s; j++) out[j] = dropoutKeeps(p.seed, row, j, p.dropoutP) ? kept : 0;
}

function roundedCopy(p: AttentionProblem, values: Float64Array): Float64Array | Float32Array {
  if (p.dtype === 'float64') return values;
  const round = rounder(p.dtype);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = round(values[i]);
  return out;
}

/**
 * The float64 forward of the contract: O = softmax(scores) V row by row, in
 * float64 whatever the dtype, then rounded once to p.dtype; lse per row (−∞
 * for a fully masked row, whose output is zeros).
 */
export function referenceForward(p: AttentionProblem): ForwardResult {
  const { batch, hq, l, s, ev } = p;
  const output = new Float64Array(batch * hq * l * ev);
  const lse = new Float64Array(batch * hq * l);
  const scratch = { weights: new Float64Array(s), dropScale: new Float64Array(s) };
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < hq; h++) {
      for (let i = 0; i < l; i++) {
        const row = (b * hq + h) * l + i;
        lse[row] = referenceForwardRow(p, b, h, i, output.subarray(row * ev, (row + 1) * ev), scratch);
      }
    }
  }
  return { output: roundedCopy(p, output), lse };
}

/**
 * Query row i of head (b, h): its output into `out` (length ev, overwritten)
 * and its lse returned; `scratch` holds two arrays of length s. The wasm
 * backend redoes the rows its float32 state cannot hold with this.
 */
export function referenceForwardRow(
  p: AttentionProblem, b: number, h: number, i: number, out: Float64Array, scratch: { weights: Float64Array; dropScale: Float64Array },
): number {
  const { hq, hkv, l, s, ev, v } = p;
  const { weights, dropScale } = scratch;
  const row = (b * hq + h) * l + i;
  const vBase = (b * hkv + Math.floor(h / (hq / hkv))) * s * ev;
  rowScores(p, b, h, i, weights);
  const { lse } = softmaxInPlace(weights, p.sinks ? p.sinks[h] : -Infinity);
  rowDropoutScale(p, row, dropScale);
  out.fill(0);
  for (let j = 0; j < s; j++) {
    const w = weights[j] * dropScale[j];
    if (w === 0) continue;
    for (let c = 0; c < ev; c++) out[c] += w * v[vBase + j * ev + c];
  }
  return lse;
}

/**
 * The gradients of o with respect to q, k and v, given dO, from the same
 * per-row quantities as the forward (recomputed here, not read from the
 * forward's output, so the reference checks itself):
 *
 *   dV_j  += P̃_ij dO_i                       dP̃_ij = dO_i · v_j
 *   dP_ij  = dP̃_ij · keep_ij / (1 − p)       D_i   = Σ_j P_ij dP_ij
 *   dS_ij  = P_ij (dP_ij − D_i) · c'_ij      (the softmax Jacobian-vector product;
 *                                            c'_ij = 1 − tanh² under softcap, else 1)
 *   dQ_i   = scale Σ_j dS_ij k_j             dK_j += scale · dS_ij q_i
 *   dσ_h  −= p_sink,i · D_i                  (the sink is a logit with dP = 0)
 *
 * D_i equals dO_i · o_i only without dropout, so it is summed directly. Under
 * GQA a kv head accumulates over every query head that reads it. A fully
 * masked row has P = 0 and contributes nothing.
 */
export function referenceBackward(
  p: AttentionProblem,
  _output: Float64Array | Float32Array,
  _lse: Float64Array,
  dOut: Float64Array | Float32Array,
): BackwardResult {
  const { batch, hq, l, q, k, v } = p;
  const grads = { dq: new Float64Array(q.length), dk: new Float64Array(k.length), dv: new Float64Array(v.length) };
  const scratch = backwardScratch(p.s);
  const dsinks = p.sinks ? new Float64Array(hq) : null;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < hq; h++) {
      for (let i = 0; i < l; i++) {
        const sinkTerm = referenceBackwardRow(p, b, h, i, dOut, grads, scratch);
        if (dsinks) dsinks[h] += sinkTerm;
      }
    }
  }
  return { dq: roundedCopy(p, grads.dq), dk: roundedCopy(p, grads.dk), dv: roundedCopy(p, grads.dv), dsinks };
}

/** The per-row arrays of referenceBackwardRow, for keys 0..s−1. */
export function backwardScratch(s: number): { probs: Float64Array; dropScale: Float64Array; dProbs: Float64Array; capSlope: Float64Array } {
  return { probs: new Float64Array(s), dropScale: new Float64Array(s), dProbs: new Float64Array(s), capSlope: new Float64Array(s) };
}

/**
 * Adds query row i of head (b, h)'s terms to dq, dk and dv (float64, the
 * layouts of q, k and v) and returns its term of dσ_h. The wasm backend
 * redoes the rows its float32 state cannot hold with this.
 */
export function referenceBackwardRow(
  p: AttentionProblem, b: number, h: number, i: number, dOut: Float64Array | Float32Array,
  grads: { dq: Float64Array; dk: Float64Array; dv: Float64Array }, scratch: ReturnType<typeof backwardScratch>,
): number {
  const { hq, hkv, l, s, e, ev, q, k, v, scale } = p;
  const { dq, dk, dv } = grads;
  const { probs, dropScale, dProbs, capSlope } = scratch;
  const g = Math.floor(h / (hq / hkv));
  const kBase = (b * hkv + g) * s * e;
  const vBase = (b * hkv + g) * s * ev;
  const row = (b * hq + h) * l + i;
  rowScores(p, b, h, i, probs, capSlope);
  const { sinkWeight } = softmaxInPlace(probs, p.sinks ? p.sinks[h] : -Infinity);
  rowDropoutScale(p, row, dropScale);
  let rowDot = 0; // D_i
  for (let j = 0; j < s; j++) {
    let dWeight = 0; // dP̃_ij
    for (let c = 0; c < ev; c++) {
      const dO = dOut[row * ev + c];
      dv[vBase + j * ev + c] += probs[j] * dropScale[j] * dO;
      dWeight += dO * v[vBase + j * ev + c];
    }
    dProbs[j] = dWeight * dropScale[j];
    rowDot += probs[j] * dProbs[j];
  }
  for (let j = 0; j < s; j++) {
    const dScore = probs[j] * (dProbs[j] - rowDot) * capSlope[j];
    if (dScore === 0) continue;
    for (let c = 0; c < e; c++) {
      dq[row * e + c] += scale * dScore * k[kBase + j * e + c];
      dk[kBase + j * e + c] += scale * dScore * q[row * e + c];
    }
  }
  return -sinkWeight * rowDot;
}

/**
 * Adds the gradient terms of the rows whose lse satisfies `redo` to dq, dk
 * and dv (rounded to p's dtype once more where `round` is given): a fast
 * backward leaves those rows out and this does them in float64.
 */
export function addReferenceRows(
  p: AttentionProblem, lse: Float64Array, redo: (lse: number) => boolean, dOut: Float64Array | Float32Array,
  grads: { dq: Float64Array | Float32Array; dk: Float64Array | Float32Array; dv: Float64Array | Float32Array },
  round: ((x: number) => number) | null,
): void {
  let terms: { dq: Float64Array; dk: Float64Array; dv: Float64Array } | null = null;
  const scratch = backwardScratch(p.s);
  for (let row = 0; row < lse.length; row++) {
    if (!redo(lse[row])) continue;
    terms ??= { dq: new Float64Array(grads.dq.length), dk: new Float64Array(grads.dk.length), dv: new Float64Array(grads.dv.length) };
    const bh = Math.floor(row / p.l);
    referenceBackwardRow(p, Math.floor(bh / p.hq), bh % p.hq, row % p.l, dOut, terms, scratch);
  }
  if (terms === null) return;
  for (const name of ['dq', 'dk', 'dv'] as const) {
    const g = grads[name], t = terms[name];
    for (let x = 0; x < g.length; x++) if (t[x] !== 0) g[x] = round ? round(g[x] + t[x]) : g[x] + t[x];
  }
}

export const referenceBackend: AttentionBackend = {
  name: 'reference',
  priority: 0,
  dtypes: FLOAT_DTYPES,
  supports: () => true,
  forward: referenceForward,
  backward: referenceBackward,
};
