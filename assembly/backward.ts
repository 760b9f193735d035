import {
  param, paramF, paramPtr, P_BH, P_HQ, P_HKV, P_L, P_LP, P_SP, P_EP, P_EVP, P_NQB, P_NKB, P_Q, P_V_T,
  P_KT, P_DROP, P_DROP_THRESHOLD, P_SEED, P_Q_SCALE, P_DROP_SCALE, P_SCALE, P_SCRATCH, P_SCRATCH_STRIDE, P_SOFTCAP,
  P_DQ_PARTS, P_D_OUT, P_LSE2, P_D, P_DQ_PARTIALS, P_DQ_PARTIAL_STRIDE, P_DK, P_DV, P_DQ,
} from './abi';
import { BR, BC } from './blocks';
import { gemm, OVERWRITE, ACCUMULATE } from './gemm';
import { exp2v } from './exp2';
import { maskTile, softcapTile, tileNeedsMask } from './mask';
import { endQuery, firstQuery, keyLength, keyOffset } from './visible';
import { rowHash, keepLanes } from './dropout';
import { packKBlock, packTransposed } from './forward';

// Backward, FlashAttention-2 style. With P recomputed from the forward's
// logsumexp (P = 2^(S - lse·log2 e)) and D = rowsum(dO ∘ O) (the loader
// computes D in float64), for a key block j and every query block i that
// sees it (and every query head sharing the kv head, under GQA):
//   dV_j += P̃ᵀ dO_i,  dP = dO_i V_jᵀ,  dS = P ∘ (dP̃ - D_i),
//   dK_j += dSᵀ Q_i · scale,  dQ_i += dS K_j · scale
// where P̃ = P ∘ keep / (1 - p) under dropout and dP̃ = dP ∘ keep / (1 - p).
// Under softcap S is capped as in the forward and dS also takes the cap's
// slope 1 - tanh² (one more tile). A pair of blocks in which no query sees
// any key (causal, window, keyLengths: visible.ts) is skipped.
// One task owns a chunk of key blocks of one kv head, so dK and dV have a
// single writer; dQ_i gets contributions from every key block, so each chunk
// accumulates its own dQ partial and a last pass sums the partials in chunk
// order: no atomics, no races, and the same bytes whichever thread ran which chunk.
//
// Tiles are [query][key]; every product is a gemm of a transposed operand
// (gemm.ts): S = (Q·c)ᵀᵀ Kᵀ from packed Qᵀ and Kᵀ, dP = dOᵀᵀ Vᵀ from packed
// dOᵀ and Vᵀ, dV += P̃ᵀ dO and dK += dSᵀ Q straight from the tiles, and
// dQ += dS K from dSᵀ and K, with dSᵀ and K the tiles transposed per block
// pair (K from the packed Kᵀ: keeping K as well for the whole call would cost
// one more copy of k, 8 MiB at 32768 x 64, where a 64 x 64 SIMD transpose is
// small next to the pair's five products).
// A task walks its query blocks in the outer loop and its key blocks in the
// inner one, so Qᵀ·c and dOᵀ of a query block are packed once per task into
// the thread's scratch rather than kept for the whole sequence (the memory of
// a long causal backward stays ~2 copies of q smaller).
// Memory: kt [bhkv, nkb, ep, BC], vt [bhkv, nkb, evp, BC], dq partials [bh, lp, ep] each;
// scratch per thread: the block pair's tiles, Qᵀ·c [ep][BR], dOᵀ [evp][BR], K [BC][ep].

/** Zeroes every dQ partial of one query block; or packs Kᵀ and Vᵀ of one key block. */
export function backwardPrep(ctrl: usize, task: i32): void {
  // K and V arrive in the dK and dV regions (the loader stages them there to
  // save memory): they are only read here, and dK and dV are zeroed by the
  // key-block tasks that follow.
  const bh = param(ctrl, P_BH), nqb = param(ctrl, P_NQB);
  const ep = param(ctrl, P_EP), evp = param(ctrl, P_EVP);
  if (task >= bh * nqb) {
    const kTask = task - bh * nqb;
    packKBlock(ctrl, kTask);
    const sp = param(ctrl, P_SP), nkb = param(ctrl, P_NKB);
    const bhkv = kTask / nkb, kb = kTask % nkb;
    if (kb * BC >= keyLength(ctrl, bhkv / param(ctrl, P_HKV))) return; // never read, as in packKBlock
    packTransposed(
      paramPtr(ctrl, P_DV) + ((<usize>bhkv * <usize>sp + <usize>(kb * BC)) * <usize>evp << 2), evp,
      paramPtr(ctrl, P_V_T) + ((<usize>kTask * <usize>evp * <usize>BC) << 2), BC, evp, 1.0,
    );
    return;
  }
  const row0 = <usize>task * <usize>BR; // == bh * lp + qb * BR, as lp == nqb * BR
  const parts = param(ctrl, P_DQ_PARTS);
  for (let t = 0; t < parts; t++) {
    const dq = paramPtr(ctrl, P_DQ_PARTIALS) + <usize>t * paramPtr(ctrl, P_DQ_PARTIAL_STRIDE);
    memory.fill(dq + ((row0 * <usize>ep) << 2), 0, (<usize>BR * <usize>ep) << 2);
  }
}

/**
 * Task (bhkv, chunk): a run of consecutive key blocks of one kv head. Chunks
 * hold equal work, not equal keys: under causal a late key block is seen by
 * fewer query blocks, so the chunks of one head split the triangle evenly
 * and the threads finish together.
 */
export function backwardKeyChunk(ctrl: usize, task: i32, tid: i32): void {
  const parts = param(ctrl, P_DQ_PARTS);
  const hq = param(ctrl, P_HQ), hkv = param(ctrl, P_HKV), lp = param(ctrl, P_LP), sp = param(ctrl, P_SP);
  const ep = param(ctrl, P_EP), evp = param(ctrl, P_EVP), nqb = param(ctrl, P_NQB);
  const bhkv = task / parts, chunk = task % parts;
  const b = bhkv / hkv;
  const kbStart = chunkStart(ctrl, b, chunk, parts), kbEnd = chunkStart(ctrl, b, chunk + 1, parts);
  if (kbStart >= kbEnd) return;
  const dqPart = paramPtr(ctrl, P_DQ_PARTIALS) + <usize>chunk * paramPtr(ctrl, P_DQ_PARTIAL_STRIDE);
  const dkRows = paramPtr(ctrl, P_DK) + ((<usize>bhkv * <usize>sp + <usize>(kbStart * BC)) * <usize>ep << 2);
  const dvRows = paramPtr(ctrl, P_DV) + ((<usize>bhkv * <usize>sp + <usize>(kbStart * BC)) * <usize>evp << 2);
  const keys = <usize>((kbEnd - kbStart) * BC);
  memory.fill(dkRows, 0, (keys * <usize>ep) << 2);
  memory.fill(dvRows, 0, (keys * <usize>evp) << 2);

  const scratch = paramPtr(ctrl, P_SCRATCH) + <usize>tid * paramPtr(ctrl, P_SCRATCH_STRIDE);
  const qt = scratch + TILES_BYTES; // Qᵀ·c of the query block   [ep][BR]
  const dot = qt + ((<usize>ep * <usize>BR) << 2); // dOᵀ   [evp][BR]
  const hk = bhkv % hkv, group = hq / hkv;
  const qScale = paramF(ctrl, P_Q_SCALE);
  for (let g = 0; g < group; g++) {
    const bh = b * hq + hk * group + g;
    // The chunk's first key block is seen from the earliest query block; the latest one that sees
    // any of its key blocks bounds the loop (not always the last block's: past keyLengths none does).
    let qbEnd = 0;
    for (let kb = kbStart; kb < kbEnd; kb++) qbEnd = max(qbEnd, min(nqb, endQueryBlock(ctrl, b, kb)));
    for (let qb = firstQueryBlock(ctrl, b, kbStart); qb < qbEnd; qb++) {
      const row0 = <usize>bh * <usize>lp + <usize>(qb * BR);
      packTransposed(paramPtr(ctrl, P_Q) + ((row0 * <usize>ep) << 2), ep, qt, BR, ep, qScale);
      packTransposed(paramPtr(ctrl, P_D_OUT) + ((row0 * <usize>evp) << 2), evp, dot, BR, evp, 1.0);
      for (let kb = kbStart; kb < kbEnd && firstQueryBlock(ctrl, b, kb) <= qb; kb++) {
        if (qb < endQueryBlock(ctrl, b, kb)) backwardBlockPair(ctrl, bhkv, kb, bh, qb, tid, qt, dot, dqPart);
      }
    }
  }
  const scale = f32x4.splat(paramF(ctrl, P_SCALE));
  for (let x: usize = 0, n = (keys * <usize>ep) << 2; x < n; x += 16) {
    v128.store(dkRows + x, f32x4.mul(v128.load(dkRows + x), scale));
  }
}

/** The first query block that sees key block kb of batch element b. */
@inline
function firstQueryBlock(ctrl: usize, b: i32, kb: i32): i32 {
  return firstQuery(ctrl, keyOffset(ctrl, b), kb * BC) / BR;
}

/** One past the last query block that sees key block kb of batch element b (<= firstQueryBlock when none). */
@inline
function endQueryBlock(ctrl: usize, b: i32, kb: i32): i32 {
  const off = keyOffset(ctrl, b);
  const first = firstQuery(ctrl, off, kb * BC);
  const end = endQuery(ctrl, b, off, kb * BC, kb * BC + BC);
  return end <= first ? first / BR : (end + BR - 1) / BR;
}

/** The first key block of chunk `chunk` of `parts`, splitting the query blocks x key blocks work evenly. */
function chunkStart(ctrl: usize, b: i32, chunk: i32, parts: i32): i32 {
  const nkb = param(ctrl, P_NKB), nqb = param(ctrl, P_NQB);
  if (chunk >= parts) return nkb;
  let total: i64 = 0;
  for (let kb = 0; kb < nkb; kb++) total += <i64>max(0, min(nqb, endQueryBlock(ctrl, b, kb)) - firstQueryBlock(ctrl, b, kb));
  const target = total * <i64>chunk / <i64>parts;
  let done: i64 = 0;
  for (let kb = 0; kb < nkb; kb++) {
    if (done >= target) return kb;
    done += <i64>max(0, min(nqb, endQueryBlock(ctrl, b, kb)) - firstQueryBlock(ctrl, b, kb));
  }
  return nkb;
}

/** The tiles of one block pair, in the thread's scratch. */
const TILE_BYTES: usize = (<usize>BC * <usize>BR) << 2;
const TILES_BYTES: usize = 6 * TILE_BYTES;

/** Key block kb against query block qb of head bh: adds to dK_kb, dV_kb and the chunk's dQ partial. */
function backwardBlockPair(ctrl: usize, bhkv: i32, kb: i32, bh: i32, qb: i32, tid: i32, qt: usize, dot: usize, dqPart: usize): void {
  const l = param(ctrl, P_L), lp = param(ctrl, P_LP), sp = param(ctrl, P_SP);
  const ep = param(ctrl, P_EP), evp = param(ctrl, P_EVP), nkb = param(ctrl, P_NKB);
  const j0 = kb * BC, i0 = qb * BR;
  const row0 = <usize>bh * <usize>lp + <usize>i0;

  const scratch = paramPtr(ctrl, P_SCRATCH) + <usize>tid * paramPtr(ctrl, P_SCRATCH_STRIDE);
  const pb = scratch; // S, then P   [BR][BC]
  const dsb = pb + TILE_BYTES; // dP, then dS   [BR][BC]
  const kpb = dsb + TILE_BYTES; // keep / (1 - p) or 0   [BR][BC]
  const pdb = kpb + TILE_BYTES; // P̃   [BR][BC]
  const dstb = pdb + TILE_BYTES; // dSᵀ   [BC][BR]
  const slb = dstb + TILE_BYTES; // the softcap's slope 1 - tanh²   [BR][BC]
  const kRows = dot + ((<usize>evp * <usize>BR) << 2); // K   [BC][ep]

  const blockIndex = <usize>(bhkv * nkb + kb);
  const ktBlock = paramPtr(ctrl, P_KT) + ((blockIndex * <usize>ep * <usize>BC) << 2);
  const vtBlock = paramPtr(ctrl, P_V_T) + ((blockIndex * <usize>evp * <usize>BC) << 2);
  const dkRows = paramPtr(ctrl, P_DK) + ((<usize>bhkv * <usize>sp + <usize>j0) * <usize>ep << 2);
  const dvRows = paramPtr(ctrl, P_DV) + ((<usize>bhkv * <usize>sp + <usize>j0) * <usize>evp << 2);

  const drop = param(ctrl, P_DROP);
  const rowBytes = <usize>BC << 2;

  gemm(BR, BC, ep, qt, BR, ktBlock, BC, pb, BC, OVERWRITE, 0);
  const capped = paramF(ctrl, P_SOFTCAP) > 0;
  if (capped) softcapTile(ctrl, pb, BR, BC, slb);
  const b = bh / param(ctrl, P_HQ);
  if (tileNeedsMask(ctrl, b, i0, i0 + BR - 1, j0, j0 + BC - 1)) maskTile(ctrl, pb, BC, BR, BC, bh, i0, 1, 0, j0, 0, 1);

  const lse2 = paramPtr(ctrl, P_LSE2) + (row0 << 2);
  for (let r = 0; r < BR; r++) {
    const row = pb + <usize>r * rowBytes;
    const m = v128.load32_splat(lse2 + (<usize>r << 2));
    // s <= lse: the scores are bit-identical to the forward's and lse2 rounds
    // from m + log2 l >= m. The clamp is insurance, since exp2v assumes x <= 0.
    for (let c: usize = 0; c < rowBytes; c += 16) {
      v128.store(row + c, exp2v(f32x4.pmin(f32x4.sub(v128.load(row + c), m), f32x4.splat(0))));
    }
  }
  let pTilde = pb;
  if (drop != 0) {
    const thr = i32x4.splat(param(ctrl, P_DROP_THRESHOLD));
    const seed = <u32>param(ctrl, P_SEED);
    const dropScale = f32x4.splat(drop == 2 ? 0 : paramF(ctrl, P_DROP_SCALE));
    for (let r = 0; r < BR; r++) {
      const hr = i32x4.splat(rowHash(seed, <u32>(bh * l + i0 + r)));
      const off = <usize>r * rowBytes;
      let cols = i32x4(j0, j0 + 1, j0 + 2, j0 + 3);
      for (let c: usize = 0; c < rowBytes; c += 16) {
        const keepScale = v128.and(dropScale, keepLanes(hr, cols, thr));
        v128.store(kpb + off + c, keepScale);
        v128.store(pdb + off + c, f32x4.mul(v128.load(pb + off + c), keepScale));
        cols = i32x4.add(cols, i32x4.splat(4));
      }
    }
    pTilde = pdb;
  }
  gemm(BC, evp, BR, pTilde, BC, paramPtr(ctrl, P_D_OUT) + ((row0 * <usize>evp) << 2), evp, dvRows, evp, ACCUMULATE, 0);
  gemm(BR, BC, evp, dot, BR, vtBlock, BC, dsb, BC, OVERWRITE, 0);

  const dRow = paramPtr(ctrl, P_D) + (row0 << 2);
  for (let r = 0; r < BR; r++) {
    const off = <usize>r * rowBytes;
    const d = v128.load32_splat(dRow + (<usize>r << 2));
    for (let c: usize = 0; c < rowBytes; c += 16) {
      let dp = v128.load(dsb + off + c);
      if (drop != 0) dp = f32x4.mul(dp, v128.load(kpb + off + c));
      let ds = f32x4.mul(v128.load(pb + off + c), f32x4.sub(dp, d));
      if (capped) ds = f32x4.mul(ds, v128.load(slb + off + c));
      v128.store(dsb + off + c, ds);
    }
  }
  gemm(BC, ep, BR, dsb, BC, paramPtr(ctrl, P_Q) + ((row0 * <usize>ep) << 2), ep, dkRows, ep, ACCUMULATE, 0);
  transpose4(dsb, BR, BC, dstb);
  transpose4(ktBlock, ep, BC, kRows);
  gemm(BR, ep, BC, dstb, BR, kRows, ep, dqPart + ((row0 * <usize>ep) << 2), ep, ACCUMULATE, 0);
}

/** dst (cols x rows) = srcᵀ (src rows x cols), 4 x 4 blocks at a time; rows and cols multiples of 4. */
function transpose4(src: usize, rows: i32, cols: i32, dst: usize): void {
  const srcRow = <usize>cols << 2, dstRow = <usize>rows << 2;
  for (let r = 0; r < rows; r += 4) {
    for (let c = 0; c < cols; c += 4) {
      const s = src + <usize>r * srcRow + (<usize>c << 2);
      const r0 = v128.load(s), r1 = v128.load(s + srcRow), r2 = v128.load(s + 2 * srcRow), r3 = v128.load(s + 3 * srcRow);
      const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
      const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
      const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
      const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
      const d = dst + <usize>c * dstRow + (<usize>r << 2);
      v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
      v128.store(d + dstRow, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
      v128.store(d + 2 * dstRow, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
      v128.store(d + 3 * dstRow, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
    }
  }
}

/** dq[bh][i0 + r][e] = scale · Σ_chunks dq partial, summed in chunk order. */
export function backwardReduceDq(ctrl: usize, task: i32): void {
  const ep = param(ctrl, P_EP), parts = param(ctrl, P_DQ_PARTS);
  const scale = f32x4.splat(paramF(ctrl, P_SCALE));
  const bytes = (<usize>BR * <usize>ep) << 2;
  const at = (<usize>task * <usize>BR * <usize>ep) << 2;
  const dst = paramPtr(ctrl, P_DQ) + at;
  const src = paramPtr(ctrl, P_DQ_PARTIALS) + at;
  const stride = paramPtr(ctrl, P_DQ_PARTIAL_STRIDE);
  for (let x: usize = 0; x < bytes; x += 16) {
    let sum = v128.load(src + x);
    for (let t = 1; t < parts; t++) sum = f32x4.add(sum, v128.load(src + <usize>t * stride + x));
    v128.store(dst + x, f32x4.mul(sum, scale));
  }
}
