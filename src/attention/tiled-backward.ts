import { rounder } from '../tensor/index.js';
import { dropoutKeeps, type AttentionProblem, type BackwardResult } from './problem.js';
import { addReferenceRows } from './reference.js';
import { DEFAULT_TILES, copyToF64, tiledForward, type TileSizes } from './tiled-forward.js';
import { matmulABt, matmulAddAB, matmulAddAtB } from './tiled-matmul.js';
import { adjustScoreBlock } from './tiled-scores.js';
import { keyOffset, queryRangeOfKeys } from './visible.js';

/**
 * Backward attention, FlashAttention-2 style: the probabilities are recomputed
 * block by block from the logsumexp the forward kept, never stored whole.
 *
 *   Dᵢ   = Σₑ dOᵢₑ Oᵢₑ  (= Σⱼ Pᵢⱼ dPᵢⱼ, dropout included)
 *   for each block of keys Kₖ, Vₖ (outer) and each block of queries (inner):
 *     Pᵢⱼ  = exp(sᵢⱼ − lseᵢ)                               (0 where lseᵢ = −∞; sᵢⱼ as
 *                                                           the forward: tiled-scores.ts)
 *     P̃ᵢⱼ  = Pᵢⱼ · keepᵢⱼ/(1−p)                          dVⱼ += Σᵢ P̃ᵢⱼ dOᵢ
 *     dPᵢⱼ = keepᵢⱼ/(1−p) · dOᵢ·vⱼ                       dSᵢⱼ = Pᵢⱼ (dPᵢⱼ − Dᵢ) · c'ᵢⱼ
 *     dKⱼ += scale Σᵢ dSᵢⱼ qᵢ                              dQᵢ += scale Σⱼ dSᵢⱼ kⱼ
 *   dσₕ = −Σᵢ exp(σₕ − lseᵢ) Dᵢ                           (a sink's gradient; lse holds it)
 *
 * c'ᵢⱼ = 1 − tanh² is the softcap's slope (1 without one). ALiBi and the
 * masks add constants to sᵢⱼ, so they change P but add no term.
 * dK and dV of a key block stay in scratch while every query of every head of
 * its GQA group streams past (so a kv head sums over its query heads before one
 * rounding); dQ accumulates in float64 for the group's rows. Memory: O(Br·Bc +
 * (Br + Bc)·d) scratch plus that dQ sum (O(group·L·d)); float32 blocks are
 * widened as they are used. Query blocks that see no key of the key block
 * (causal, window, keyLengths: visible.ts) are skipped.
 *
 * Dᵢ comes from the forward output as given for float64 and float32 (float32
 * rounding of O moves D by ~1e-7 relative). Half-precision outputs are too
 * coarse for that (dPᵢⱼ − Dᵢ cancels), so for float16/bfloat16 O is recomputed
 * in float64 first.
 *
 * q, dq: [B, Hq, L, E]   k, dk: [B, Hkv, S, E]   v, dv: [B, Hkv, S, Ev]   output, dOut: [B, Hq, L, Ev]   lse: [B, Hq, L]
 */
export function tiledBackward(
  p: AttentionProblem,
  output: Float64Array | Float32Array,
  lse: Float64Array,
  dOut: Float64Array | Float32Array,
  tiles: TileSizes = DEFAULT_TILES,
): BackwardResult {
  const { batch, hq, hkv, l: L, s: S, e: E, ev: Ev, scale, mask, dropoutP, seed, sinks } = p;
  const Br = tiles.blockQ;
  const Bc = tiles.blockK;
  const half = p.dtype === 'float16' || p.dtype === 'bfloat16';
  const round = half ? rounder(p.dtype) : null;
  const o = half ? tiledForward({ ...p, dtype: 'float64' }, tiles).output : output;
  const alloc = (n: number): Float64Array | Float32Array => (p.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n));
  const dq = alloc(p.q.length);
  const dk = alloc(p.k.length);
  const dv = alloc(p.v.length);
  const group = hq / hkv;
  const dsinks = sinks ? new Float64Array(hq) : null;
  const keepScale = dropoutP > 0 ? 1 / (1 - dropoutP) : 1;

  const k64 = p.k instanceof Float64Array ? p.k : null;
  const v64 = p.v instanceof Float64Array ? p.v : null;
  const kBlock = new Float64Array(Bc * E);
  const vBlock = new Float64Array(Bc * Ev);
  const qBlock = new Float64Array(Br * E); // pre-scaled by `scale`
  const dOBlock = new Float64Array(Br * Ev);
  // Per GQA group: D of every row, and dQ summed over key blocks before one rounding.
  const rowD = new Float64Array(group * L);
  const dqAcc = new Float64Array(group * L * E);
  const probs = new Float64Array(Br * Bc);
  const dropped = dropoutP > 0 ? new Float64Array(Br * Bc) : probs;
  const dScores = new Float64Array(Br * Bc);
  const capSlope = p.softcap > 0 ? new Float64Array(Br * Bc) : null;
  const dkBlock = new Float64Array(Bc * E);
  const dvBlock = new Float64Array(Bc * Ev);

  for (let b = 0; b < batch; b++) {
    const off = keyOffset(p, b);
    for (let kvh = 0; kvh < hkv; kvh++) {
      const kBase = (b * hkv + kvh) * S * E;
      const vBase = (b * hkv + kvh) * S * Ev;
      const bh0 = b * hq + kvh * group; // first query head of the group; the group's rows are contiguous
      for (let r = 0; r < group * L; r++) {
        let d = 0;
        for (let t = 0, at = (bh0 * L + r) * Ev; t < Ev; t++) d += dOut[at + t] * o[at + t];
        rowD[r] = d;
      }
      if (dsinks && sinks) {
        for (let r = 0; r < group * L; r++) {
          const h = kvh * group + Math.floor(r / L);
          const sink = sinks[h];
          if (sink !== -Infinity) dsinks[h] -= Math.exp(Math.min(sink - lse[bh0 * L + r], 0)) * rowD[r]; // a weight <= 1, as p below
        }
      }
      dqAcc.fill(0);

      // Keys past keyLengths[b] are seen by no query: their dk and dv stay 0.
      const keyEnd = p.keyLengths === null ? S : p.keyLengths[b];
      for (let j0 = 0; j0 < keyEnd; j0 += Bc) {
        const bc = Math.min(Bc, keyEnd - j0);
        let kArr: Float64Array = kBlock, kOff = 0, vArr: Float64Array = vBlock, vOff = 0;
        if (k64) { kArr = k64; kOff = kBase + j0 * E; } else copyToF64(p.k, kBase + j0 * E, kBlock, bc * E);
        if (v64) { vArr = v64; vOff = vBase + j0 * Ev; } else copyToF64(p.v, vBase + j0 * Ev, vBlock, bc * Ev);
        dkBlock.fill(0);
        dvBlock.fill(0);
        for (let g = 0; g < group; g++) {
          const bh = bh0 + g;
          const maskOff = mask ? mask.headOffset[bh] : 0;
          const [iStart, iEnd] = queryRangeOfKeys(p, b, off, j0, j0 + bc);
          if (iEnd <= iStart) continue;
          for (let i0 = iStart - (iStart % Br); i0 < iEnd; i0 += Br) {
            const br = Math.min(Br, L - i0);
            const qSrc = p.q;
            for (let t = 0, n = br * E, at = (bh * L + i0) * E; t < n; t++) qBlock[t] = qSrc[at + t] * scale;
            copyToF64(dOut, (bh * L + i0) * Ev, dOBlock, br * Ev);
            matmulABt(qBlock, 0, E, kArr, kOff, E, probs, 0, Bc, br, bc, E);
            adjustScoreBlock(p, b, bh - b * hq, off, maskOff, probs, Bc, i0, br, j0, bc, capSlope);
            matmulABt(dOBlock, 0, Ev, vArr, vOff, Ev, dScores, 0, Bc, br, bc, Ev);
            for (let r = 0; r < br; r++) {
              const rowLse = lse[bh * L + i0 + r];
              const d = rowD[g * L + i0 + r];
              const row = r * Bc;
              if (rowLse === -Infinity || lseAbsorbs(rowLse)) {
                // A row with no visible key has no softmax and no gradient; one whose lse absorbs log l is done below.
                probs.fill(0, row, row + bc);
                dropped.fill(0, row, row + bc);
                dScores.fill(0, row, row + bc);
                continue;
              }
              if (dropoutP > 0) {
                const dropRow = bh * L + i0 + r;
                for (let c = 0; c < bc; c++) {
                  const pr = Math.exp(Math.min(probs[row + c] - rowLse, 0)); // p <= 1 even when s and lse were rounded differently
                  const kd = dropoutKeeps(seed, dropRow, j0 + c, dropoutP) ? keepScale : 0;
                  dropped[row + c] = pr * kd;
                  dScores[row + c] = pr * (dScores[row + c] * kd - d);
                }
                if (capSlope) for (let c = 0; c < bc; c++) dScores[row + c] *= capSlope[row + c];
              } else {
                for (let c = 0; c < bc; c++) {
                  const pr = Math.exp(Math.min(probs[row + c] - rowLse, 0)); // p <= 1 even when s and lse were rounded differently
                  probs[row + c] = pr;
                  dScores[row + c] = pr * (dScores[row + c] - d);
                }
                if (capSlope) for (let c = 0; c < bc; c++) dScores[row + c] *= capSlope[row + c];
              }
            }
            matmulAddAtB(dropped, 0, Bc, dOBlock, 0, Ev, dvBlock, 0, Ev, br, bc, Ev);
            matmulAddAtB(dScores, 0, Bc, qBlock, 0, E, dkBlock, 0, E, br, bc, E);
            matmulAddAB(dScores, 0, Bc, kArr, kOff, E, dqAcc, (g * L + i0) * E, E, br, bc, E);
          }
        }
        writeRounded(dk, kBase + j0 * E, dkBlock, bc * E, 1, round);
        writeRounded(dv, vBase + j0 * Ev, dvBlock, bc * Ev, 1, round);
      }
      writeRounded(dq, bh0 * L * E, dqAcc, group * L * E, scale, round);
    }
  }
  addReferenceRows(p, lse, lseAbsorbs, dOut, { dq, dk, dv }, round);
  return { dq, dk, dv, dsinks };
}

/**
 * exp(s − lse) needs lse to hold m + log l: past 2³² its float64 spacing
 * passes 2⁻²⁰ and the weights drift; at the Hugging Face padding mask's
 * −3.4e38, log 3 vanishes and every weight of a uniform row comes out 1.
 * Such rows are redone from their scores (reference.ts).
 */
function lseAbsorbs(lse: number): boolean {
  return Math.abs(lse) >= 2 ** 32 && lse !== -Infinity;
}

/** dst[at + t] = factor · src[t] for t < n, rounded to the dtype where `round` is given. */
function writeRounded(
  dst: Float64Array | Float32Array, at: number, src: Float64Array, n: number, factor: number,
  round: ((x: number) => number) | null,
): void {
  if (round) for (let t = 0; t < n; t++) dst[at + t] = round(src[t] * factor);
  else for (let t = 0; t < n; t++) dst[at + t] = src[t] * factor;
}
