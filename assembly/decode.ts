import {
  READY, param, paramF, paramPtr, P_HQ, P_HKV, P_L, P_S, P_EP, P_EVP, P_E, P_EV, P_Q, P_K, P_V, P_O, P_MROW, P_LROW,
  P_CHUNK_KEYS, P_CHUNKS, P_PARTS, P_PART_STRIDE, P_SCRATCH, P_SCRATCH_STRIDE, P_SOFTCAP, P_SINKS, P_DROP,
  P_DROP_THRESHOLD, P_SEED, P_DROP_SCALE,
} from './abi';
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
// chunk in task order while the workers run the chunks already there: a
// task waits on the control block's ready count (abi.ts CTRL.ready).
//
// Memory: q [bh, l, ep] (ep >= e, a multiple of 4), k [bhkv, s, e], v [bhkv, s, ev],
// parts [bhkv · chunks] × (acc [R][evp], m [R], l [R]), o [bh, l, evp], mrow/lrow [bh, l];
// scratch per thread: scores [R][BK], R row hashes and R rescale factors.

/** Keys per block inside a task: R × BK scores stay in L1 while the block's V rows are added. */
const BK: i32 = 64;
const NEG_INF: f32 = -Infinity;

@inline
function exp2s(x: f32): f32 {
  return f32x4.extract_lane(exp2v(f32x4.splat(x)), 0);
}

/** [Σa0, Σa1, Σa2, Σa3]: four dot products' lanes summed, one per key. */
@inline
function reduce4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t01 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 2, 6), v128.shuffle<f32>(a0, a1, 1, 5, 3, 7));
  const t23 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 2, 6), v128.shuffle<f32>(a2, a3, 1, 5, 3, 7));
  return f32x4.add(v128.shuffle<f32>(t01, t23, 0, 1, 4, 5), v128.shuffle<f32>(t01, t23, 2, 3, 6, 7));
}

@inline
function hsum(a: v128): f32 {
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
}

/** q·k over e floats (SIMD for the first e & ~3, then scalar). */
@inline
function dot(q: usize, k: usize, e: i32): f32 {
  const e4 = <usize>(e & ~3) << 2;
  let a = f32x4.splat(0);
  for (let c: usize = 0; c < e4; c += 16) a = madd(v128.load(q + c), v128.load(k + c), a);
  let s = hsum(a);
  for (let c = e & ~3; c < e; c++) s += load<f32>(q + (<usize>c << 2)) * load<f32>(k + (<usize>c << 2));
  return s;
}

/**
 * The scores of R rows against keys [j0, j0 + n) into sc [R][BK]: 2 rows × 4
 * keys per step (8 accumulators), so each load of K serves two rows of a GQA
 * group and each load of q four keys.
 */
function scoreBlock(q0: usize, qRow: usize, k: usize, e: i32, rows: i32, n: i32, sc: usize): void {
  const kRow = <usize>e << 2;
  const e4 = <usize>(e & ~3) << 2;
  const scRow = <usize>BK << 2;
  let jj = 0;
  for (; jj + 4 <= n; jj += 4) {
    const k0 = k + <usize>jj * kRow, k1 = k0 + kRow, k2 = k1 + kRow, k3 = k2 + kRow;
    let r = 0;
    for (; r + 2 <= rows; r += 2) {
      const qa = q0 + <usize>r * qRow, qb = qa + qRow;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
      for (let c: usize = 0; c < e4; c += 16) {
        const qav = v128.load(qa + c), qbv = v128.load(qb + c);
        const kv0 = v128.load(k0 + c), kv1 = v128.load(k1 + c), kv2 = v128.load(k2 + c), kv3 = v128.load(k3 + c);
        a0 = madd(qav, kv0, a0); a1 = madd(qav, kv1, a1); a2 = madd(qav, kv2, a2); a3 = madd(qav, kv3, a3);
        b0 = madd(qbv, kv0, b0); b1 = madd(qbv, kv1, b1); b2 = madd(qbv, kv2, b2); b3 = madd(qbv, kv3, b3);
      }
      const at = sc + <usize>r * scRow + (<usize>jj << 2);
      v128.store(at, scoreTail(reduce4(a0, a1, a2, a3), qa, k0, kRow, e));
      v128.store(at + scRow, scoreTail(reduce4(b0, b1, b2, b3), qb, k0, kRow, e));
    }
    for (; r < rows; r++) {
      const q = q0 + <usize>r * qRow;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let c: usize = 0; c < e4; c += 16) {
        const qv = v128.load(q + c);
        a0 = madd(qv, v128.load(k0 + c), a0);
        a1 = madd(qv, v128.load(k1 + c), a1);
        a2 = madd(qv, v128.load(k2 + c), a2);
        a3 = madd(qv, v128.load(k3 + c), a3);
      }
      v128.store(sc + <usize>r * scRow + (<usize>jj << 2), scoreTail(reduce4(a0, a1, a2, a3), q, k0, kRow, e));
    }
  }
  for (; jj < n; jj++) {
    const kj = k + <usize>jj * kRow;
    for (let r = 0; r < rows; r++) store<f32>(sc + <usize>r * scRow + (<usize>jj << 2), dot(q0 + <usize>r * qRow, kj, e));
  }
}

/** Four keys' scores plus the products of the last e % 4 elements, which the SIMD loop left out. */
@inline
function scoreTail(s: v128, q: usize, k0: usize, kRow: usize, e: i32): v128 {
  for (let c = e & ~3; c < e; c++) {
    const at = <usize>c << 2;
    const qc = f32x4.splat(load<f32>(q + at));
    s = f32x4.add(s, f32x4.mul(qc, f32x4(load<f32>(k0 + at), load<f32>(k0 + kRow + at), load<f32>(k0 + 2 * kRow + at), load<f32>(k0 + 3 * kRow + at))));
  }
  return s;
}

/** acc[ev] += Σ_jj p[jj] · v[jj] for one row over n keys (4 at a time, then one by one). */
@inline
function addWeighted(acc: usize, p: usize, v: usize, ev: i32, n: i32): void {
  const vRow = <usize>ev << 2;
  const ev4 = <usize>(ev & ~3) << 2;
  let jj = 0;
  for (; jj + 4 <= n; jj += 4) {
    const at = p + (<usize>jj << 2);
    const p0 = f32x4.splat(load<f32>(at)), p1 = f32x4.splat(load<f32>(at, 4));
    const p2 = f32x4.splat(load<f32>(at, 8)), p3 = f32x4.splat(load<f32>(at, 12));
    const v0 = v + <usize>jj * vRow, v1 = v0 + vRow, v2 = v1 + vRow, v3 = v2 + vRow;
    for (let c: usize = 0; c < ev4; c += 16) {
      let a = v128.load(acc + c);
      a = madd(p0, v128.load(v0 + c), a);
      a = madd(p1, v128.load(v1 + c), a);
      a = madd(p2, v128.load(v2 + c), a);
      a = madd(p3, v128.load(v3 + c), a);
      v128.store(acc + c, a);
    }
  }
  addTail(acc, p, v, ev, 0, jj, ev & ~3, ev);
  addTail(acc, p, v, ev, jj, n, 0, ev);
}

/** addWeighted for two rows at once (acc rows accA, accB; weights pA, pB): each load of V serves both. */
@inline
function addWeighted2(accA: usize, accB: usize, pA: usize, pB: usize, v: usize, ev: i32, n: i32): void {
  const vRow = <usize>ev << 2;
  const ev4 = <usize>(ev & ~3) << 2;
  let jj = 0;
  for (; jj + 4 <= n; jj += 4) {
    const o = <usize>jj << 2;
    const a0 = f32x4.splat(load<f32>(pA + o)), a1 = f32x4.splat(load<f32>(pA + o, 4));
    const a2 = f32x4.splat(load<f32>(pA + o, 8)), a3 = f32x4.splat(load<f32>(pA + o, 12));
    const b0 = f32x4.splat(load<f32>(pB + o)), b1 = f32x4.splat(load<f32>(pB + o, 4));
    const b2 = f32x4.splat(load<f32>(pB + o, 8)), b3 = f32x4.splat(load<f32>(pB + o, 12));
    const v0 = v + <usize>jj * vRow, v1 = v0 + vRow, v2 = v1 + vRow, v3 = v2 + vRow;
    for (let c: usize = 0; c < ev4; c += 16) {
      const x0 = v128.load(v0 + c), x1 = v128.load(v1 + c), x2 = v128.load(v2 + c), x3 = v128.load(v3 + c);
      let sa = v128.load(accA + c), sb = v128.load(accB + c);
      sa = madd(a0, x0, sa); sa = madd(a1, x1, sa); sa = madd(a2, x2, sa); sa = madd(a3, x3, sa);
      sb = madd(b0, x0, sb); sb = madd(b1, x1, sb); sb = madd(b2, x2, sb); sb = madd(b3, x3, sb);
      v128.store(accA + c, sa);
      v128.store(accB + c, sb);
    }
  }
  addTail(accA, pA, v, ev, 0, jj, ev & ~3, ev);
  addTail(accA, pA, v, ev, jj, n, 0, ev);
  addTail(accB, pB, v, ev, 0, jj, ev & ~3, ev);
  addTail(accB, pB, v, ev, jj, n, 0, ev);
}

/** The scalar rest of addWeighted: acc[c] += p[jj] · v[jj][c] for keys [j0, j1) and columns [c0, c1). */
@inline
function addTail(acc: usize, p: usize, v: usize, ev: i32, j0: i32, j1: i32, c0: i32, c1: i32): void {
  const vRow = <usize>ev << 2;
  for (let jj = j0; jj < j1; jj++) {
    const w = load<f32>(p + (<usize>jj << 2));
    const vj = v + <usize>jj * vRow;
    for (let c = c0; c < c1; c++) store<f32>(acc + (<usize>c << 2), load<f32>(acc + (<usize>c << 2)) + w * load<f32>(vj + (<usize>c << 2)));
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
  for (let ready = atomic.load<i32>(ctrl + READY); ready <= task; ready = atomic.load<i32>(ctrl + READY)) atomic.wait<i32>(ctrl + READY, ready);
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
  const k0 = paramPtr(ctrl, P_K) + ((<usize>bhkv * <usize>s * <usize>e) << 2);
  const v0 = paramPtr(ctrl, P_V) + ((<usize>bhkv * <usize>s * <usize>ev) << 2);
  const rowBytes = <usize>BK << 2;

  for (let j0 = lo; j0 < hi; j0 += BK) {
    const n = min(BK, hi - j0);
    scoreBlock(q0, qRow, k0 + ((<usize>j0 * <usize>e) << 2), e, rows, n, sc);
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
    // acc = α acc + P V, two rows at a time (each V load serves both).
    const vBlock = v0 + ((<usize>j0 * <usize>ev) << 2);
    for (let r = 0; r < rows; r++) {
      const alpha = load<f32>(alphas + (<usize>r << 2));
      if (alpha == 1) continue;
      const accRow = acc + ((<usize>r * <usize>evp) << 2);
      const av = f32x4.splat(alpha);
      for (let cc: usize = 0; cc < (<usize>evp << 2); cc += 16) v128.store(accRow + cc, f32x4.mul(v128.load(accRow + cc), av));
    }
    let r = 0;
    for (; r + 2 <= rows; r += 2) {
      const accRow = acc + ((<usize>r * <usize>evp) << 2);
      addWeighted2(accRow, accRow + (<usize>evp << 2), sc + <usize>r * rowBytes, sc + <usize>(r + 1) * rowBytes, vBlock, ev, n);
    }
    if (r < rows) addWeighted(acc + ((<usize>r * <usize>evp) << 2), sc + <usize>r * rowBytes, vBlock, ev, n);
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
