import { rounder } from '../tensor/index.js';
import { dropoutKeeps, type AttentionProblem, type ForwardResult } from './problem.js';
import { matmulABt, matmulAddAB } from './tiled-matmul.js';
import { adjustScoreBlock } from './tiled-scores.js';
import { endKey, firstKey, hasKeyRanges, keyOffset } from './visible.js';

/** Block sizes of the tiled kernels: queries per block (a multiple of 4 is fastest) and keys per block. */
export interface TileSizes {
  blockQ: number;
  blockK: number;
}

/**
 * 64 queries × 64 keys: the score block, a query block and a key block at
 * d = 64 (32 KiB of doubles each) stay in L2 next to the core. Block sizes
 * from 32 to 256 measured within 10% of each other (docs/performance.md);
 * 64 keeps the wasted work on a causal diagonal block small.
 */
export const DEFAULT_TILES: TileSizes = { blockQ: 64, blockK: 64 };

/**
 * Forward attention, FlashAttention-style, never materialising the L × S scores:
 *
 *   for each block of queries Qᵦ (Br rows) and each block of keys Kₖ, Vₖ (Bc rows):
 *     Sᵢⱼ = scale · qᵢ·kⱼ, then softcap, ALiBi, masks     (Br × Bc, in scratch; tiled-scores.ts)
 *     mᵢ' = max(mᵢ, maxⱼ Sᵢⱼ),  α = exp(mᵢ − mᵢ')            (online softmax)
 *     lᵢ = α lᵢ + Σⱼ exp(Sᵢⱼ − mᵢ'),   accᵢ = α accᵢ + Σⱼ exp(Sᵢⱼ − mᵢ') · dropᵢⱼ · vⱼ
 *   outputᵢ = accᵢ / lᵢ,   lseᵢ = mᵢ + log lᵢ
 *
 * Dropout multiplies the normalised weight, so it scales what enters acc but
 * not l. Memory: O(Br·Bc + (Br + Bc)·d) scratch besides the output. Key
 * blocks that causal, a window or keyLengths hide from a whole query block
 * (visible.ts) are never visited.
 * A sink σ starts each row's state at m = σ, l = exp(σ − σ) = 1: it joins the
 * denominator and adds nothing to acc.
 * A row with no visible key (and no sink) keeps m = −∞ and l = 0 and returns
 * zeros and lse = −∞; the guard on m' = −∞ avoids exp(−∞ − −∞) = NaN.
 * Everything is computed in float64; outputs are rounded to the dtype once.
 *
 * q: [B, Hq, L, E]   k: [B, Hkv, S, E]   v: [B, Hkv, S, Ev]   →   out: [B, Hq, L, Ev], lse: [B, Hq, L]
 */
export function tiledForward(p: AttentionProblem, tiles: TileSizes = DEFAULT_TILES): ForwardResult {
  const { batch, hq, hkv, l: L, s: S, e: E, ev: Ev, scale, mask, dropoutP, seed, sinks } = p;
  // A short query block (decoding: L = 1) needs no more scratch rows than it has queries.
  const Br = Math.max(1, Math.min(tiles.blockQ, L));
  const Bc = tiles.blockK;
  const output = p.dtype === 'float64' ? new Float64Array(batch * hq * L * Ev) : new Float32Array(batch * hq * L * Ev);
  const lse = new Float64Array(batch * hq * L);
  const round = p.dtype === 'float16' || p.dtype === 'bfloat16' ? rounder(p.dtype) : null;
  const group = hq / hkv;
  const ranged = hasKeyRanges(p);
  const keepScale = dropoutP > 0 ? 1 / (1 - dropoutP) : 1;

  const k64 = p.k instanceof Float64Array ? p.k : null;
  const v64 = p.v instanceof Float64Array ? p.v : null;
  const kBlock = new Float64Array(Bc * E);
  const vBlock = new Float64Array(Bc * Ev);
  const qBlock = new Float64Array(Br * E);
  const scores = new Float64Array(Br * Bc);
  const acc = new Float64Array(Br * Ev);
  const rowMax = new Float64Array(Br);
  const rowSum = new Float64Array(Br);

  for (let b = 0; b < batch; b++) {
    const off = keyOffset(p, b);
    for (let kvh = 0; kvh < hkv; kvh++) {
      const kBase = (b * hkv + kvh) * S * E;
      const vBase = (b * hkv + kvh) * S * Ev;
      for (let h = kvh * group; h < (kvh + 1) * group; h++) {
        const bh = b * hq + h;
        const qBase = bh * L * E;
        const oBase = bh * L * Ev;
        const maskOff = mask ? mask.headOffset[bh] : 0;
        const sink = sinks ? sinks[h] : -Infinity;

        for (let i0 = 0; i0 < L; i0 += Br) {
          const br = Math.min(Br, L - i0);
          // Pre-scaling q by `scale` makes the score block a plain product.
          const qSrc = p.q;
          for (let t = 0, n = br * E, src = qBase + i0 * E; t < n; t++) qBlock[t] = qSrc[src + t] * scale;
          rowMax.fill(sink, 0, br);
          rowSum.fill(sink === -Infinity ? 0 : 1, 0, br);
          acc.fill(0, 0, br * Ev);

          // The keys any row of this block sees; the rest are never loaded.
          const jStart = ranged ? firstKey(p, off, i0) : 0;
          const jEnd = ranged ? endKey(p, b, off, i0 + br - 1) : S;
          for (let j0 = jStart; j0 < jEnd; j0 += Bc) {
            const bc = Math.min(Bc, jEnd - j0);
            // float32 keys and values are widened one block at a time: O(Bc·d) scratch, not O(S·d).
            let kArr: Float64Array = kBlock, kOff = 0, vArr: Float64Array = vBlock, vOff = 0;
            if (k64) { kArr = k64; kOff = kBase + j0 * E; } else copyToF64(p.k, kBase + j0 * E, kBlock, bc * E);
            if (v64) { vArr = v64; vOff = vBase + j0 * Ev; } else copyToF64(p.v, vBase + j0 * Ev, vBlock, bc * Ev);
            matmulABt(qBlock, 0, E, kArr, kOff, E, scores, 0, Bc, br, bc, E);

            adjustScoreBlock(p, b, h, off, maskOff, scores, Bc, i0, br, j0, bc, null);

            for (let r = 0; r < br; r++) {
              const row = r * Bc;
              let mNew = rowMax[r];
              for (let c = 0; c < bc; c++) if (scores[row + c] > mNew) mNew = scores[row + c];
              if (mNew === -Infinity) {
                // Nothing visible in this row yet: weights are 0, the state stays empty.
                scores.fill(0, row, row + bc);
                continue;
              }
              const alpha = Math.exp(rowMax[r] - mNew);
              let sum = 0;
              for (let c = 0; c < bc; c++) {
                const w = Math.exp(scores[row + c] - mNew);
                scores[row + c] = w;
                sum += w;
              }
              rowSum[r] = rowSum[r] * alpha + sum;
              rowMax[r] = mNew;
              if (alpha !== 1) for (let t = r * Ev, n = t + Ev; t < n; t++) acc[t] *= alpha;
              if (dropoutP > 0) {
                const dropRow = bh * L + i0 + r;
                for (let c = 0; c < bc; c++) {
                  scores[row + c] = dropoutKeeps(seed, dropRow, j0 + c, dropoutP) ? scores[row + c] * keepScale : 0;
                }
              }
            }
            matmulAddAB(scores, 0, Bc, vArr, vOff, Ev, acc, 0, Ev, br, bc, Ev);
          }

          for (let r = 0; r < br; r++) {
            const i = i0 + r;
            const sum = rowSum[r];
            const o = oBase + i * Ev;
            if (sum === 0) {
              // No visible key and no sink (the row's maximum would have contributed exp(0) = 1): zeros, lse −∞.
              lse[bh * L + i] = -Infinity;
              continue; // output is already zero
            }
            lse[bh * L + i] = rowMax[r] + Math.log(sum);
            const inv = 1 / sum;
            if (round) for (let t = 0; t < Ev; t++) output[o + t] = round(acc[r * Ev + t] * inv);
            else for (let t = 0; t < Ev; t++) output[o + t] = acc[r * Ev + t] * inv;
          }
        }
      }
    }
  }
  return { output, lse };
}

/** Copies n elements of a float32 or float64 array, from offset `from`, into a float64 scratch. */
export function copyToF64(src: Float32Array | Float64Array, from: number, dst: Float64Array, n: number): void {
  for (let t = 0; t < n; t++) dst[t] = src[from + t];
}
