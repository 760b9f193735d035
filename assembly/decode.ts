import {
  CLAIM, READY, READY_WAITERS, param, paramF, paramPtr, P_HQ, P_HKV, P_L, P_S, P_EP, P_EVP, P_E, P_EV, P_Q, P_K, P_V, P_O, P_MROW, P_LROW,
  P_CHUNK_KEYS, P_CHUNKS, P_PARTS, P_PART_STRIDE, P_SCRATCH, P_SCRATCH_STRIDE, P_SOFTCAP, P_SINKS, P_DROP,
  P_DROP_THRESHOLD, P_SEED, P_DROP_SCALE, P_K_BF16, P_V_BF16,
} from './abi';
import { BK, addRows, exp2s, hsum, scoreBlock } from './decode-blocks';
import { addWeightedRow, scoreRow } from './decode-row';
import { exp2v } from './exp2';
import { madd } from './madd';
import { maskTile, softcapTile, tileNeedsMask } from './mask';
import { endKey, firstKey, keyOffset } from './visible';
import { rowHash, keepLanes } from './dropout';

// Decoding: a few query rows (l <= 16) against a long K/V, at the speed of
// reading K and V once. The block kernels (forward.ts) pad l to 64 rows and
// pack Kᵀ per call; here K and V are read where they lie, in their natural
// layout [bhkv, s, e] / [bhkv, s, ev] (a KV cache's own storage), and each
// key's row is used by all R = (hq / hkv) · l rows of its GQA group while it
// is in L1: every byte of K and V crosses the memory bus once per call.
//
// Flash-decoding: the keys of a kv head are cut into chunks of chunkKeys, one
// task each, so one head on a long cache still uses every thread. A task keeps
// the online softmax of its R rows over its chunk (base-2 scores, q arrives
// pre-scaled by scale · log2 e), in blocks of BK keys:
//   s = q·k (→ softcap → ALiBi, masks: mask.ts);  m' = max(m, max s);  α = 2^(m − m')
//   l = α l + Σ 2^(s − m');  acc = α acc + Σ 2^(s − m') v
// and leaves (acc, m, l) in its partial. decodeMerge then joins a head's
// chunks, and the sink: M = max(σ, m_c), L = 2^(σ − M) + Σ l_c 2^(m_c − M),
// o = Σ acc_c 2^(m_c − M) / L. The chunking is a function of the shape only,
// so the result does not depend on the thread count. Where K and V must be
// copied in (plain tensors, not a KV cache), the caller copies them chunk by
// chunk while the workers run the chunks already there: a task waits on the
// control block's ready count (abi.ts CTRL.ready; waitForRows), and the
// caller runs tasks from the far end itself when the workers fall behind.
//
// Memory: q [bh, l, ep] (ep >= e, a multiple of 4), k [bhkv, s, e], v [bhkv, s, ev] (f32, or bfloat16 bits: kv-elements.ts),
// parts [bhkv · chunks] × (acc [R][evp], m [R], l [R]), o [bh, l, evp], mrow/lrow [bh, l];
// scratch per thread: scores [R][BK], R row hashes and R rescale factors.

const NEG_INF: f32 = -Infinity;

/** What scoreRow's touches of V read, kept here so that they cannot be optimised away (per thread: each worker has its own instance). */
let touched: i32 = 0;

/**
 * Returns once task's keys and values are in the kernels' memory: once the
 * caller's ready count is past it, or at once for a task the caller claimed
 * from the far end itself. A thread about to sleep counts itself in
 * READY_WAITERS first and the caller notifies only when that is nonzero; both
 * sides are sequentially consistent (store ready, then load waiters; add to
 * waiters, then wait while ready is unchanged), so either the caller sees the
 * sleeper or the sleeper's wait sees the new count: no wake-up is lost.
 */
function waitForRows(ctrl: usize, task: i32): void {
  // A task at or past the claim word's end was claimed from the far end by the caller, which copied its rows first.
  if (task >= <i32>((atomic.load<u64>(ctrl + CLAIM) >> 24) & 0xffffff)) return;
  let ready = atomic.load<i32>(ctrl + READY);
  while (ready <= task) {
    atomic.add<i32>(ctrl + READY_WAITERS, 1);
    atomic.wait<i32>(ctrl + READY, ready);
    atomic.sub<i32>(ctrl + READY_WAITERS, 1);
    ready = atomic.load<i32>(ctrl + READY);
  }
}

/** One task: the R rows of kv head bhkv against key chunk c (see the top of this file). */
export function decodeChunk(ctrl: usize, task: i32, tid: i32): void {
  const hq = param(ctrl, P_HQ), hkv = param(ctrl, P_HKV), l = param(ctrl, P_L), s = param(ctrl, P_S);
  const e = param(ctrl, P_E), ev = param(ctrl, P_EV), ep = param(ctrl, P_EP), evp = param(ctrl, P_EVP);
  const chunks = param(ctrl, P_CHUNKS), chunkKeys = param(ctrl, P_CHUNK_KEYS);
  const bhkv = task / chunks, c = task % chunks;
  const b = bhkv / hkv, hk = bhkv % hkv, group = hq / hkv;
  const rows = group * l;
  // The caller may still be copying K and V in (a call with plain tensors): wait until this task's chunk is there.
  waitForRows(ctrl, task);
  const bh0 = b * hq + hk * group; // the group's first query head: its rows are contiguous in q
  const part = paramPtr(ctrl, P_PARTS) + <usize>task * <usize>param(ctrl, P_PART_STRIDE);
  const acc = part;
  const mrow = acc + ((<usize>rows * <usize>evp) << 2);
  const lrow = mrow + (<usize>rows << 2);
  memory.fill(acc, 0, (<usize>rows * <usize>evp) << 2);
  for (let r = 0; r < rows; r++) {
    store<f32>(mrow + (<usize>r << 2), NEG_INF);
    store<f32>(lrow + (<usize>r << 2), 0);
  }
  const off = keyOffset(ctrl, b);
  const lo = max(c * chunkKeys, firstKey(ctrl, off, 0));
  const hi = min(min((c + 1) * chunkKeys, s), endKey(ctrl, b, off, l - 1));
  if (hi <= lo) return;

  const sc = paramPtr(ctrl, P_SCRATCH) + <usize>tid * paramPtr(ctrl, P_SCRATCH_STRIDE); // [R][BK]
  const hrow = sc + ((<usize>rows * <usize>BK) << 2); // [R] dropout row hashes
  const alphas = hrow + (<usize>rows << 2); // [R] this block's rescale factors
  const drop = param(ctrl, P_DROP);
  const thr = i32x4.splat(param(ctrl, P_DROP_THRESHOLD));
  if (drop == 1) {
    const seed = <u32>param(ctrl, P_SEED);
    for (let r = 0; r < rows; r++) store<u32>(hrow + (<usize>r << 2), rowHash(seed, <u32>(bh0 * l + r)));
  }
  const capped = paramF(ctrl, P_SOFTCAP) > 0;
  const q0 = paramPtr(ctrl, P_Q) + ((<usize>bh0 * <usize>l * <usize>ep) << 2);
  const qRow = <usize>ep << 2;
  // bfloat16 storage (a KV cache's): 2-byte elements, widened as they are read (kv-elements.ts).
  const kBf16 = param(ctrl, P_K_BF16) != 0, vBf16 = param(ctrl, P_V_BF16) != 0;
  const kShift: usize = kBf16 ? 1 : 2, vShift: usize = vBf16 ? 1 : 2;
  const k0 = paramPtr(ctrl, P_K) + ((<usize>bhkv * <usize>s * <usize>e) << kShift);
  const v0 = paramPtr(ctrl, P_V) + ((<usize>bhkv * <usize>s * <usize>ev) << vShift);
  const rowBytes = <usize>BK << 2;

  for (let j0 = lo; j0 < hi; j0 += BK) {
    const n = min(BK, hi - j0);
    const kAt = k0 + ((<usize>j0 * <usize>e) << kShift);
    const vBlock = v0 + ((<usize>j0 * <usize>ev) << vShift);
    // One row (no GQA group, l = 1) reads K in one stream and starts V's reads early: decode-row.ts says why.
    // K's and V's elements are f32, or u16 holding bfloat16 (kv-elements.ts): one instance of each block per type.
    if (rows == 1) {
      const vRow = <usize>ev << vShift;
      touched ^= kBf16 ? scoreRow<u16>(q0, kAt, e, n, sc, vBlock, vRow) : scoreRow<f32>(q0, kAt, e, n, sc, vBlock, vRow);
    } else if (kBf16) scoreBlock<u16>(q0, qRow, kAt, e, rows, n, sc);
    else scoreBlock<f32>(q0, qRow, kAt, e, rows, n, sc);
    if (capped) softcapTile(ctrl, sc, rows, BK, 0);
    if (tileNeedsMask(ctrl, b, 0, l - 1, j0, j0 + n - 1)) {
      for (let g = 0; g < group; g++) {
        maskTile(ctrl, sc + <usize>(g * l) * rowBytes, BK, l, n, bh0 + g, 0, 1, 0, j0, 0, 1);
      }
    }
    const n4 = (n + 3) & ~3;
    for (let r = 0; r < rows; r++) {
      const row = sc + <usize>r * rowBytes;
      for (let jj = n; jj < n4; jj++) store<f32>(row + (<usize>jj << 2), NEG_INF);
      const end = row + (<usize>n4 << 2);
      let mx = v128.load(row);
      for (let at = row + 16; at < end; at += 16) mx = f32x4.pmax(mx, v128.load(at));
      const mOld = load<f32>(mrow + (<usize>r << 2));
      const mNew = max(mOld, max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3))));
      // A row that has seen only -inf keeps m = -inf; exponents use 0 instead (2^(-inf - 0) = 0).
      const mUse: f32 = mNew == NEG_INF ? 0 : mNew;
      const mv = f32x4.splat(mUse);
      let sum = f32x4.splat(0);
      for (let at = row; at < end; at += 16) {
        const p = exp2v(f32x4.sub(v128.load(at), mv));
        sum = f32x4.add(sum, p);
        v128.store(at, p);
      }
      if (drop == 1) {
        // The sum is of the undropped weights (the softmax); dropout then zeroes some.
        const hr = i32x4.splat(load<i32>(hrow + (<usize>r << 2)));
        for (let jj = 0; jj < n4; jj += 4) {
          const at = row + (<usize>jj << 2);
          v128.store(at, v128.and(v128.load(at), keepLanes(hr, i32x4.add(i32x4.splat(j0 + jj), i32x4(0, 1, 2, 3)), thr)));
        }
      }
      const alpha = exp2s(mOld - mUse);
      store<f32>(lrow + (<usize>r << 2), load<f32>(lrow + (<usize>r << 2)) * alpha + hsum(sum));
      store<f32>(mrow + (<usize>r << 2), mNew);
      store<f32>(alphas + (<usize>r << 2), alpha);
    }
    // acc = α acc + P V: one row in one pass (the rescale folded in), or R rows through addRows.
    if (rows == 1) {
      if (vBf16) addWeightedRow<u16>(acc, load<f32>(alphas), sc, vBlock, ev, n);
      else addWeightedRow<f32>(acc, load<f32>(alphas), sc, vBlock, ev, n);
      continue;
    }
    for (let r = 0; r < rows; r++) {
      const alpha = load<f32>(alphas + (<usize>r << 2));
      if (alpha == 1) continue;
      const accRow = acc + ((<usize>r * <usize>evp) << 2);
      const av = f32x4.splat(alpha);
      for (let cc: usize = 0; cc < (<usize>evp << 2); cc += 16) v128.store(accRow + cc, f32x4.mul(v128.load(accRow + cc), av));
    }
    if (vBf16) addRows<u16>(acc, evp, sc, rows, vBlock, ev, n);
    else addRows<f32>(acc, evp, sc, rows, vBlock, ev, n);
  }
}

/** Joins the chunks' partials of kv head `task`'s R rows, and the sink, into o, mrow and lrow. */
export function decodeMerge(ctrl: usize, task: i32): void {
  const hq = param(ctrl, P_HQ), hkv = param(ctrl, P_HKV), l = param(ctrl, P_L), evp = param(ctrl, P_EVP);
  const chunks = param(ctrl, P_CHUNKS);
  const partStride = <usize>param(ctrl, P_PART_STRIDE);
  const b = task / hkv, hk = task % hkv, group = hq / hkv;
  const rows = group * l;
  const bh0 = b * hq + hk * group;
  const parts = paramPtr(ctrl, P_PARTS) + <usize>(task * chunks) * partStride;
  const mOff = (<usize>rows * <usize>evp) << 2, lOff = mOff + (<usize>rows << 2);
  const sinks = paramPtr(ctrl, P_SINKS);
  const drop = param(ctrl, P_DROP);
  const dropScale: f32 = drop == 0 ? 1 : drop == 2 ? 0 : paramF(ctrl, P_DROP_SCALE);
  const rowBytes = <usize>evp << 2;
  for (let r = 0; r < rows; r++) {
    const h = hk * group + r / l;
    const sink: f32 = sinks != 0 ? load<f32>(sinks + (<usize>h << 2)) : NEG_INF;
    let m = sink;
    for (let c = 0; c < chunks; c++) m = max(m, load<f32>(parts + <usize>c * partStride + mOff + (<usize>r << 2)));
    const out = paramPtr(ctrl, P_O) + <usize>(bh0 * l + r) * rowBytes;
    memory.fill(out, 0, rowBytes);
    let lsum: f32 = sink == NEG_INF ? 0 : exp2s(sink - m);
    if (m != NEG_INF) {
      for (let c = 0; c < chunks; c++) {
        const part = parts + <usize>c * partStride;
        const lc = load<f32>(part + lOff + (<usize>r << 2));
        if (lc == 0) continue;
        const w = exp2s(load<f32>(part + mOff + (<usize>r << 2)) - m);
        lsum += lc * w;
        const wv = f32x4.splat(w);
        const accRow = part + <usize>r * rowBytes;
        for (let cc: usize = 0; cc < rowBytes; cc += 16) v128.store(out + cc, madd(wv, v128.load(accRow + cc), v128.load(out + cc)));
      }
    }
    const inv = f32x4.splat(lsum > 0 ? dropScale / lsum : 0);
    for (let cc: usize = 0; cc < rowBytes; cc += 16) v128.store(out + cc, f32x4.mul(v128.load(out + cc), inv));
    store<f32>(paramPtr(ctrl, P_MROW) + (<usize>(bh0 * l + r) << 2), lsum > 0 ? m : NEG_INF);
    store<f32>(paramPtr(ctrl, P_LROW) + (<usize>(bh0 * l + r) << 2), lsum);
  }
}
