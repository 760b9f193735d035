import { rounder } from '../tensor/index.js';
import type { AttentionProblem, ForwardResult } from './problem.js';
import { endKey, firstKey, hasKeyRanges, keyOffset } from './visible.js';

/** Query rows up to which impl 'tiled' takes the decode loop below rather than its blocks. */
export const TILED_DECODE_MAX_ROWS = 16;

/** Keys × width of one head up to which several query rows may each read K and V again (256 KiB of float64: from L2). */
const REREAD_MAX_ELEMENTS = 32768;

/**
 * Whether tiledDecode takes the problem: a few query rows, no attnMask and no
 * dropout (the blocks do those). Each row reads its head's K and V, so past
 * one row only a head small enough to stay in the caches: the blocks share
 * each load of K among 4 rows.
 */
export function tiledDecodes(p: AttentionProblem): boolean {
  const small = p.l === 1 || p.s * Math.max(p.e, p.ev) <= REREAD_MAX_ELEMENTS;
  return p.l <= TILED_DECODE_MAX_ROWS && small && p.mask === null && p.dropoutP === 0;
}

/**
 * The forward for a decoding step (L <= 16 query rows over S keys), one query
 * row at a time, its scores over the keys it sees in one scratch row:
 *
 *   sⱼ = scale · q·kⱼ  (→ softcap → ALiBi),  j in [firstKey(i), endKey(i))   (visible.ts)
 *   m = max(σ, maxⱼ sⱼ),  l = exp(σ − m) + Σⱼ exp(sⱼ − m),  out = Σⱼ exp(sⱼ − m) vⱼ / l,  lse = m + log l
 *
 * the function tiledForward computes, without its 64 × 64 blocks and their
 * online rescaling: at L = 1 a block's fixed costs (scratch fills, the block
 * products' edge loops) outweighed its work over a short KV cache (the names
 * model samples over at most 65 keys). Everything in float64, the output
 * rounded to the dtype once; a row with no visible key and no sink gives
 * zeros and lse = −∞.
 *
 * q: [B, Hq, L, E]   k: [B, Hkv, S, E]   v: [B, Hkv, S, Ev]   →   out: [B, Hq, L, Ev], lse: [B, Hq, L]
 */
export function tiledDecode(p: AttentionProblem): ForwardResult {
  const { batch, hq, hkv, l: L, s: S, e: E, ev: Ev, scale, sinks, softcap, alibi, q, k, v } = p;
  const output = p.dtype === 'float64' ? new Float64Array(batch * hq * L * Ev) : new Float32Array(batch * hq * L * Ev);
  const lse = new Float64Array(batch * hq * L);
  const round = p.dtype === 'float16' || p.dtype === 'bfloat16' ? rounder(p.dtype) : null;
  const group = hq / hkv;
  const ranged = hasKeyRanges(p);
  const scores = new Float64Array(S);
  const acc = new Float64Array(Ev);
  const qs = new Float64Array(E);
  for (let b = 0; b < batch; b++) {
    const off = keyOffset(p, b);
    for (let h = 0; h < hq; h++) {
      const kvh = Math.floor(h / group);
      const kBase = (b * hkv + kvh) * S * E;
      const vBase = (b * hkv + kvh) * S * Ev;
      const bh = b * hq + h;
      const sink = sinks ? sinks[h] : -Infinity;
      const slope = alibi ? alibi[h] : 0;
      for (let i = 0; i < L; i++) {
        const row = bh * L + i;
        const j0 = ranged ? Math.max(0, firstKey(p, off, i)) : 0;
        const j1 = ranged ? Math.min(S, endKey(p, b, off, i)) : S;
        for (let c = 0, at = row * E; c < E; c++) qs[c] = q[at + c] * scale;
        let m = sink;
        for (let j = j0; j < j1; j++) {
          let t = 0;
          for (let c = 0, at = kBase + j * E; c < E; c++) t += qs[c] * k[at + c];
          if (softcap > 0) t = softcap * Math.tanh(t / softcap);
          if (alibi) t -= slope * Math.abs(i + off - j);
          scores[j] = t;
          if (t > m) m = t;
        }
        if (m === -Infinity) {
          lse[row] = -Infinity; // no visible key and no sink: zeros (the output is zero already)
          continue;
        }
        let sum = sink === -Infinity ? 0 : Math.exp(sink - m);
        acc.fill(0);
        for (let j = j0; j < j1; j++) {
          const w = Math.exp(scores[j] - m);
          sum += w;
          for (let c = 0, at = vBase + j * Ev; c < Ev; c++) acc[c] += w * v[at + c];
        }
        lse[row] = m + Math.log(sum);
        const inv = 1 / sum;
        const o = row * Ev;
        if (round) for (let c = 0; c < Ev; c++) output[o + c] = round(acc[c] * inv);
        else for (let c = 0; c < Ev; c++) output[o + c] = acc[c] * inv;
      }
    }
  }
  return { output, lse };
}
