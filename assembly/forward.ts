import {
  param, paramF, paramPtr, P_HQ, P_HKV, P_L, P_S, P_LP, P_SP, P_EP, P_EVP, P_NQB, P_NKB, P_Q, P_K, P_V, P_KT,
  P_O, P_MROW, P_LROW, P_DROP, P_DROP_THRESHOLD, P_SEED, P_Q_SCALE, P_DROP_SCALE, P_SCRATCH, P_SCRATCH_STRIDE, P_SOFTCAP, P_SINKS,
  P_MASK_KIND, P_ALIBI,
} from './abi';
import { BR, BC } from './blocks';
import { gemm, OVERWRITE, RESCALE } from './gemm';
import { exp2v } from './exp2';
import { maskKeyQueryTile, maskTile, softcapTile, tileNeedsMask } from './mask';
import { endKey, firstKey, keyLength, keyOffset } from './visible';
import { rowHash, keepLanes } from './dropout';

// Forward, FlashAttention style, for one block of BR query rows of one head:
//   for each key block: Sᵀ = K (q · scale · log2 e)ᵀ   (base-2 scores, [key][query])
//                       m' = max(m, colmax Sᵀ);  Pᵀ = 2^(Sᵀ - m');  α = 2^(m - m')
//                       l = α l + colsum Pᵀ;  O = α O + P V
//   output = O / l (· 1/(1-p) with dropout), lse = (m + log2 l) · ln 2.
// The scores are softcapped, then ALiBi and the masks apply (mask.ts); a sink
// σ starts the state at m = σ · log2 e, l = 1 (it joins the denominator only).
// Key blocks outside what the block's rows may see (causal, window,
// keyLengths: visible.ts) are never touched.
// Only BC x BR scores exist at a time: memory is O(l + s), not O(l · s).
// The tile is held as [key][query], so the running max, sum and rescale of 4
// queries are one f32x4 each (no horizontal reductions), and the tile is
// already the transposed operand the P V product takes (gemm.ts).
//
// Memory: q [bh, lp, ep], k [bhkv, sp, ep] (the loader may stage it in o's
// bytes: packKBlock's job ends before any output is written), v [bhkv, sp, evp],
// kt [bhkv, nkb, ep, BC] (packed by packKBlock), o [bh, lp, evp], mrow/lrow [bh, lp].

const NEG_INF: f32 = -Infinity;

/** Kᵀ for one key block: kt[e][jj] = k[kb * BC + jj][e], contiguous so the score gemm streams it. */
export function packKBlock(ctrl: usize, task: i32): void {
  const ep = param(ctrl, P_EP), sp = param(ctrl, P_SP), nkb = param(ctrl, P_NKB);
  const bhkv = task / nkb, kb = task % nkb;
  // A block past keyLengths is never read (and its rows were not copied in).
  if (kb * BC >= keyLength(ctrl, bhkv / param(ctrl, P_HKV))) return;
  packTransposed(
    paramPtr(ctrl, P_K) + ((<usize>bhkv * <usize>sp + <usize>(kb * BC)) * <usize>ep << 2), ep,
    paramPtr(ctrl, P_KT) + ((<usize>task * <usize>ep * <usize>BC) << 2), BC, ep, 1.0,
  );
}

/**
 * dst[c][r] = src[r][c] · factor for r < rows, c < cols (src row stride ld,
 * dst row stride rows; rows and cols multiples of 4: BR, BC, and e or ev
 * padded to 8), 4 x 4 blocks of shuffles at a time. Element by element this
 * did a scalar load, multiply and store per value: the pack of every K block
 * and of every query block's Q (and, in the backward, dO) took several per
 * cent of a short call's kernel time.
 */
export function packTransposed(src: usize, ld: i32, dst: usize, rows: i32, cols: i32, factor: f32): void {
  const f = f32x4.splat(factor);
  const srcRow = <usize>ld << 2, dstRow = <usize>rows << 2;
  for (let r = 0; r < rows; r += 4) {
    const s0 = src + <usize>r * srcRow;
    const d0 = dst + (<usize>r << 2);
    for (let c = 0; c < cols; c += 4) {
      const s = s0 + (<usize>c << 2);
      const r0 = v128.load(s), r1 = v128.load(s + srcRow), r2 = v128.load(s + 2 * srcRow), r3 = v128.load(s + 3 * srcRow);
      const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
      const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
      const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
      const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
      const d = d0 + <usize>c * dstRow;
      v128.store(d, f32x4.mul(v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), f));
      v128.store(d + dstRow, f32x4.mul(v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), f));
      v128.store(d + 2 * dstRow, f32x4.mul(v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), f));
      v128.store(d + 3 * dstRow, f32x4.mul(v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), f));
    }
  }
}

export function forwardBlock(ctrl: usize, task: i32, tid: i32): void {
  const hq = param(ctrl, P_HQ), hkv = param(ctrl, P_HKV);
  const l = param(ctrl, P_L), lp = param(ctrl, P_LP), sp = param(ctrl, P_SP);
  const ep = param(ctrl, P_EP), evp = param(ctrl, P_EVP), nqb = param(ctrl, P_NQB), nkb = param(ctrl, P_NKB);
  const bh = task / nqb, qb = task % nqb;
  const b = bh / hq, h = bh % hq;
  const bhkv = b * hkv + h / (hq / hkv);
  const i0 = qb * BR;

  const scratch = paramPtr(ctrl, P_SCRATCH) + <usize>tid * paramPtr(ctrl, P_SCRATCH_STRIDE);
  const qt = scratch; // [ep][BR]
  const st = qt + ((<usize>BR * <usize>ep) << 2); // [BC][BR]
  const oacc = st + ((<usize>BR * <usize>BC) << 2); // [BR][evp]
  const mrow = oacc + ((<usize>BR * <usize>evp) << 2);
  const lrow = mrow + (<usize>BR << 2);
  const alpha = lrow + (<usize>BR << 2);
  const hrow = alpha + (<usize>BR << 2);

  packTransposed(paramPtr(ctrl, P_Q) + ((<usize>bh * <usize>lp + <usize>i0) * <usize>ep << 2), ep, qt, BR, ep, paramF(ctrl, P_Q_SCALE));
  memory.fill(oacc, 0, (<usize>BR * <usize>evp) << 2);
  const sinks = paramPtr(ctrl, P_SINKS);
  const sink: f32 = sinks != 0 ? load<f32>(sinks + (<usize>h << 2)) : NEG_INF;
  for (let r = 0; r < BR; r++) {
    store<f32>(mrow + (<usize>r << 2), sink);
    store<f32>(lrow + (<usize>r << 2), sink == NEG_INF ? <f32>0 : <f32>1);
  }
  const drop = param(ctrl, P_DROP);
  const thr = i32x4.splat(param(ctrl, P_DROP_THRESHOLD));
  if (drop == 1) {
    const seed = <u32>param(ctrl, P_SEED);
    for (let r = 0; r < BR; r++) store<u32>(hrow + (<usize>r << 2), rowHash(seed, <u32>(bh * l + i0 + r)));
  }

  // The keys some row of this block may see: from the first row's first to the last real row's end.
  const off = keyOffset(ctrl, b);
  const kStart = firstKey(ctrl, off, i0);
  const kEnd = endKey(ctrl, b, off, min(i0 + BR, l) - 1);
  const kbFirst = kStart / BC;
  const kBlocks = kEnd <= kStart ? 0 : min(nkb, (kEnd + BC - 1) / BC);
  const capped = paramF(ctrl, P_SOFTCAP) > 0;
  const structuralOnly = param(ctrl, P_MASK_KIND) == 0 && paramPtr(ctrl, P_ALIBI) == 0;

  const kt0 = paramPtr(ctrl, P_KT) + ((<usize>bhkv * <usize>nkb * <usize>ep * <usize>BC) << 2);
  const v0 = paramPtr(ctrl, P_V) + ((<usize>bhkv * <usize>sp * <usize>evp) << 2);
  const rowBytes = <usize>BR << 2;
  for (let kb = kbFirst; kb < kBlocks; kb++) {
    const j0 = kb * BC;
    gemm(BC, BR, ep, kt0 + ((<usize>kb * <usize>ep * <usize>BC) << 2), BC, qt, BR, st, BR, OVERWRITE, 0);
    if (capped) softcapTile(ctrl, st, BC, BR, 0);
    if (tileNeedsMask(ctrl, b, i0, i0 + BR - 1, j0, j0 + BC - 1)) {
      if (structuralOnly) maskKeyQueryTile(ctrl, st, bh, i0, j0, BC, BR);
      else maskTile(ctrl, st, BR, BC, BR, bh, i0, 0, 1, j0, 1, 0);
    }

    // Online softmax, 4 queries (one column group of the tile) at a time.
    for (let g: usize = 0; g < rowBytes; g += 16) {
      // Pointers as induction variables (V8 recomputed st + j * rowBytes + g
      // for every load: 4 more scalar instructions per vector), and two
      // running maxima, so that the pmax chain's latency is halved (BC is even).
      const colEnd = st + <usize>BC * rowBytes + g;
      let max0 = v128.load(st + g), max1 = v128.load(st + rowBytes + g);
      for (let at = st + 2 * rowBytes + g; at < colEnd; at += 2 * rowBytes) {
        max0 = f32x4.pmax(max0, v128.load(at));
        max1 = f32x4.pmax(max1, v128.load(at + rowBytes));
      }
      const blockMax = f32x4.pmax(max0, max1);
      const mOld = v128.load(mrow + g);
      const mNew = f32x4.pmax(mOld, blockMax);
      // A query that has seen only -inf keeps m = -inf; exponents use 0 instead so
      // that -inf - (-inf) never appears (2^(-inf - 0) = 0, as wanted).
      const mUse = v128.andnot(mNew, f32x4.eq(mNew, f32x4.splat(NEG_INF)));
      const a = exp2v(f32x4.sub(mOld, mUse));
      let sum = f32x4.splat(0);
      if (drop == 1) {
        const hr = v128.load(hrow + g);
        for (let j: usize = 0; j < <usize>BC; j++) {
          const at = st + j * rowBytes + g;
          const p = exp2v(f32x4.sub(v128.load(at), mUse));
          sum = f32x4.add(sum, p);
          // The sum is of the undropped weights (the softmax); dropout then zeroes some.
          v128.store(at, v128.and(p, keepLanes(hr, i32x4.splat(j0 + <i32>j), thr)));
        }
      } else {
        for (let at = st + g; at < colEnd; at += rowBytes) {
          const p = exp2v(f32x4.sub(v128.load(at), mUse));
          sum = f32x4.add(sum, p);
          v128.store(at, p);
        }
      }
      v128.store(lrow + g, f32x4.add(f32x4.mul(v128.load(lrow + g), a), sum));
      v128.store(mrow + g, mNew);
      v128.store(alpha + g, a);
    }
    gemm(BR, evp, BC, st, BR, v0 + ((<usize>j0 * <usize>evp) << 2), evp, oacc, evp, RESCALE, alpha);
  }

  // Finish: O / l, or zeros and m = -inf for a row that saw no key.
  const out = paramPtr(ctrl, P_O) + ((<usize>bh * <usize>lp + <usize>i0) * <usize>evp << 2);
  const mOut = paramPtr(ctrl, P_MROW) + ((<usize>bh * <usize>lp + <usize>i0) << 2);
  const lOut = paramPtr(ctrl, P_LROW) + ((<usize>bh * <usize>lp + <usize>i0) << 2);
  const dropScale = drop == 0 ? <f32>1 : drop == 2 ? <f32>0 : paramF(ctrl, P_DROP_SCALE);
  for (let r = 0; r < BR; r++) {
    const lsum = load<f32>(lrow + (<usize>r << 2));
    const inv = f32x4.splat(lsum > 0 ? dropScale / lsum : 0);
    const src = oacc + ((<usize>r * <usize>evp) << 2);
    const dst = out + ((<usize>r * <usize>evp) << 2);
    for (let c: usize = 0; c < (<usize>evp << 2); c += 16) v128.store(dst + c, f32x4.mul(v128.load(src + c), inv));
    store<f32>(mOut + (<usize>r << 2), lsum > 0 ? load<f32>(mrow + (<usize>r << 2)) : NEG_INF);
    store<f32>(lOut + (<usize>r << 2), lsum);
  }
}
