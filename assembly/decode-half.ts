import { BK, hsum } from './decode-blocks';
import { madd } from './madd';

// A KV cache stored in bfloat16 (createKvCache's storage: 'bfloat16'), read
// by the decode kernel (decode.ts): the cache holds each value's top 16 bits,
// so decoding reads half the bytes of a float32 cache. These are the blocks of
// decode-blocks.ts with each load of K or V four bfloat16 values widened to
// float32 (wide4) in place of four floats, so the arithmetic, and the order
// of every sum, is the float32 blocks'.
//
// bfloat16 → float32 is exact and cheap: the 16 bits are the float32's high
// half, so a widening load (4 × u16 → 4 × u32) and a shift left by 16 give
// the float.

/** The four bfloat16 values at p (8 bytes) as float32. */
@inline
function wide4(p: usize): v128 {
  return i32x4.shl(v128.load16x4_u(p), 16);
}

/** Element i of the bfloat16 row at p, as float32. */
@inline
function bf16At(p: usize, i: i32): f32 {
  return reinterpret<f32>(<u32>load<u16>(p + (<usize>i << 1)) << 16);
}

/** [Σa0, Σa1, Σa2, Σa3]: four dot products' lanes summed, one per key. */
@inline
function reduce4Bf16(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t01 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 2, 6), v128.shuffle<f32>(a0, a1, 1, 5, 3, 7));
  const t23 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 2, 6), v128.shuffle<f32>(a2, a3, 1, 5, 3, 7));
  return f32x4.add(v128.shuffle<f32>(t01, t23, 0, 1, 4, 5), v128.shuffle<f32>(t01, t23, 2, 3, 6, 7));
}

/** q·k over e floats (SIMD for the first e & ~3, then scalar). */
@inline
function dotBf16(q: usize, k: usize, e: i32): f32 {
  const e4 = <usize>(e & ~3) << 2;
  let a = f32x4.splat(0);
  for (let c: usize = 0; c < e4; c += 16) a = madd(v128.load(q + c), wide4(k + (c >> 1)), a);
  let s = hsum(a);
  for (let c = e & ~3; c < e; c++) s += load<f32>(q + (<usize>c << 2)) * bf16At(k, c);
  return s;
}

/**
 * The scores of R rows against keys [j0, j0 + n) into sc [R][BK]: 2 rows × 4
 * keys per step (8 accumulators), so each load of K serves two rows of a GQA
 * group and each load of q four keys.
 */
export function scoreBlockBf16(q0: usize, qRow: usize, k: usize, e: i32, rows: i32, n: i32, sc: usize): void {
  const kRow = <usize>e << 1;
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
        const kv0 = wide4(k0 + (c >> 1)), kv1 = wide4(k1 + (c >> 1)), kv2 = wide4(k2 + (c >> 1)), kv3 = wide4(k3 + (c >> 1));
        a0 = madd(qav, kv0, a0); a1 = madd(qav, kv1, a1); a2 = madd(qav, kv2, a2); a3 = madd(qav, kv3, a3);
        b0 = madd(qbv, kv0, b0); b1 = madd(qbv, kv1, b1); b2 = madd(qbv, kv2, b2); b3 = madd(qbv, kv3, b3);
      }
      const at = sc + <usize>r * scRow + (<usize>jj << 2);
      v128.store(at, scoreTailBf16(reduce4Bf16(a0, a1, a2, a3), qa, k0, kRow, e));
      v128.store(at + scRow, scoreTailBf16(reduce4Bf16(b0, b1, b2, b3), qb, k0, kRow, e));
    }
    for (; r < rows; r++) {
      const q = q0 + <usize>r * qRow;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let c: usize = 0; c < e4; c += 16) {
        const qv = v128.load(q + c);
        a0 = madd(qv, wide4(k0 + (c >> 1)), a0);
        a1 = madd(qv, wide4(k1 + (c >> 1)), a1);
        a2 = madd(qv, wide4(k2 + (c >> 1)), a2);
        a3 = madd(qv, wide4(k3 + (c >> 1)), a3);
      }
      v128.store(sc + <usize>r * scRow + (<usize>jj << 2), scoreTailBf16(reduce4Bf16(a0, a1, a2, a3), q, k0, kRow, e));
    }
  }
  for (; jj < n; jj++) {
    const kj = k + <usize>jj * kRow;
    for (let r = 0; r < rows; r++) store<f32>(sc + <usize>r * scRow + (<usize>jj << 2), dotBf16(q0 + <usize>r * qRow, kj, e));
  }
}

/** Four keys' scores plus the products of the last e % 4 elements, which the SIMD loop left out. */
@inline
function scoreTailBf16(s: v128, q: usize, k0: usize, kRow: usize, e: i32): v128 {
  for (let c = e & ~3; c < e; c++) {
    const at = <usize>c << 2;
    const qc = f32x4.splat(load<f32>(q + at));
    s = f32x4.add(s, f32x4.mul(qc, f32x4(bf16At(k0, c), bf16At(k0 + kRow, c), bf16At(k0 + 2 * kRow, c), bf16At(k0 + 3 * kRow, c))));
  }
  return s;
}

/** acc[ev] += Σ_jj p[jj] · v[jj] for one row over n keys (4 at a time, then one by one). */
@inline
function addWeightedBf16(acc: usize, p: usize, v: usize, ev: i32, n: i32): void {
  const vRow = <usize>ev << 1;
  const ev4 = <usize>(ev & ~3) << 2;
  let jj = 0;
  for (; jj + 4 <= n; jj += 4) {
    const at = p + (<usize>jj << 2);
    const p0 = f32x4.splat(load<f32>(at)), p1 = f32x4.splat(load<f32>(at, 4));
    const p2 = f32x4.splat(load<f32>(at, 8)), p3 = f32x4.splat(load<f32>(at, 12));
    const v0 = v + <usize>jj * vRow, v1 = v0 + vRow, v2 = v1 + vRow, v3 = v2 + vRow;
    for (let c: usize = 0; c < ev4; c += 16) {
      let a = v128.load(acc + c);
      a = madd(p0, wide4(v0 + (c >> 1)), a);
      a = madd(p1, wide4(v1 + (c >> 1)), a);
      a = madd(p2, wide4(v2 + (c >> 1)), a);
      a = madd(p3, wide4(v3 + (c >> 1)), a);
      v128.store(acc + c, a);
    }
  }
  addTailBf16(acc, p, v, ev, 0, jj, ev & ~3, ev);
  addTailBf16(acc, p, v, ev, jj, n, 0, ev);
}

/** addWeighted for two rows at once (acc rows accA, accB; weights pA, pB): each load of V serves both. */
@inline
function addWeighted2Bf16(accA: usize, accB: usize, pA: usize, pB: usize, v: usize, ev: i32, n: i32): void {
  const vRow = <usize>ev << 1;
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
      const x0 = wide4(v0 + (c >> 1)), x1 = wide4(v1 + (c >> 1)), x2 = wide4(v2 + (c >> 1)), x3 = wide4(v3 + (c >> 1));
      let sa = v128.load(accA + c), sb = v128.load(accB + c);
      sa = madd(a0, x0, sa); sa = madd(a1, x1, sa); sa = madd(a2, x2, sa); sa = madd(a3, x3, sa);
      sb = madd(b0, x0, sb); sb = madd(b1, x1, sb); sb = madd(b2, x2, sb); sb = madd(b3, x3, sb);
      v128.store(accA + c, sa);
      v128.store(accB + c, sb);
    }
  }
  addTailBf16(accA, pA, v, ev, 0, jj, ev & ~3, ev);
  addTailBf16(accA, pA, v, ev, jj, n, 0, ev);
  addTailBf16(accB, pB, v, ev, 0, jj, ev & ~3, ev);
  addTailBf16(accB, pB, v, ev, jj, n, 0, ev);
}

/**
 * addWeighted for four rows (acc rows at accStride, weights at pStride),
 * column-outer: for each 8 columns the four rows' sums stay in registers over
 * all n keys, so a V element is loaded once for four rows and no accumulator
 * goes back to memory per key (a GQA group of 4 costs one pass over V).
 */
@inline
function addWeighted4Bf16(acc: usize, accStride: usize, p: usize, pStride: usize, v: usize, ev: i32, n: i32): void {
  const vRow = <usize>ev << 1;
  const ev8 = <usize>(ev & ~7) << 2;
  const ev4 = <usize>(ev & ~3) << 2;
  const acc1 = acc + accStride, acc2 = acc1 + accStride, acc3 = acc2 + accStride;
  const p1 = p + pStride, p2 = p1 + pStride, p3 = p2 + pStride;
  let c: usize = 0;
  for (; c < ev8; c += 32) {
    let a0 = v128.load(acc + c), a1 = v128.load(acc + c, 16);
    let b0 = v128.load(acc1 + c), b1 = v128.load(acc1 + c, 16);
    let c0 = v128.load(acc2 + c), c1 = v128.load(acc2 + c, 16);
    let d0 = v128.load(acc3 + c), d1 = v128.load(acc3 + c, 16);
    let vj = v + (c >> 1);
    for (let jj: usize = 0; jj < (<usize>n << 2); jj += 4) {
      const x0 = wide4(vj), x1 = wide4(vj + 8);
      const wa = v128.load32_splat(p + jj);
      a0 = madd(wa, x0, a0); a1 = madd(wa, x1, a1);
      const wb = v128.load32_splat(p1 + jj);
      b0 = madd(wb, x0, b0); b1 = madd(wb, x1, b1);
      const wc = v128.load32_splat(p2 + jj);
      c0 = madd(wc, x0, c0); c1 = madd(wc, x1, c1);
      const wd = v128.load32_splat(p3 + jj);
      d0 = madd(wd, x0, d0); d1 = madd(wd, x1, d1);
      vj += vRow;
    }
    v128.store(acc + c, a0); v128.store(acc + c, a1, 16);
    v128.store(acc1 + c, b0); v128.store(acc1 + c, b1, 16);
    v128.store(acc2 + c, c0); v128.store(acc2 + c, c1, 16);
    v128.store(acc3 + c, d0); v128.store(acc3 + c, d1, 16);
  }
  for (; c < ev4; c += 16) {
    let a0 = v128.load(acc + c), b0 = v128.load(acc1 + c), c0 = v128.load(acc2 + c), d0 = v128.load(acc3 + c);
    let vj = v + (c >> 1);
    for (let jj: usize = 0; jj < (<usize>n << 2); jj += 4) {
      const x0 = wide4(vj);
      a0 = madd(v128.load32_splat(p + jj), x0, a0);
      b0 = madd(v128.load32_splat(p1 + jj), x0, b0);
      c0 = madd(v128.load32_splat(p2 + jj), x0, c0);
      d0 = madd(v128.load32_splat(p3 + jj), x0, d0);
      vj += vRow;
    }
    v128.store(acc + c, a0); v128.store(acc1 + c, b0); v128.store(acc2 + c, c0); v128.store(acc3 + c, d0);
  }
  addTailBf16(acc, p, v, ev, 0, n, ev & ~3, ev);
  addTailBf16(acc1, p1, v, ev, 0, n, ev & ~3, ev);
  addTailBf16(acc2, p2, v, ev, 0, n, ev & ~3, ev);
  addTailBf16(acc3, p3, v, ev, 0, n, ev & ~3, ev);
}

/** The scalar rest of addWeighted: acc[c] += p[jj] · v[jj][c] for keys [j0, j1) and columns [c0, c1). */
@inline
function addTailBf16(acc: usize, p: usize, v: usize, ev: i32, j0: i32, j1: i32, c0: i32, c1: i32): void {
  const vRow = <usize>ev << 1;
  for (let jj = j0; jj < j1; jj++) {
    const w = load<f32>(p + (<usize>jj << 2));
    const vj = v + <usize>jj * vRow;
    for (let c = c0; c < c1; c++) store<f32>(acc + (<usize>c << 2), load<f32>(acc + (<usize>c << 2)) + w * bf16At(vj, c));
  }
}


/** acc += P V for all R rows (acc rows evp floats apart, P rows BK): four rows at a time, then two, then one, as decode.ts does for float32. */
export function addRowsBf16(acc: usize, evp: i32, sc: usize, rows: i32, v: usize, ev: i32, n: i32): void {
  const accRow = <usize>evp << 2, pRow = <usize>BK << 2;
  let r = 0;
  for (; r + 4 <= rows; r += 4) addWeighted4Bf16(acc + <usize>r * accRow, accRow, sc + <usize>r * pRow, pRow, v, ev, n);
  for (; r + 2 <= rows; r += 2) {
    const a = acc + <usize>r * accRow, p = sc + <usize>r * pRow;
    addWeighted2Bf16(a, a + accRow, p, p + pRow, v, ev, n);
  }
  if (r < rows) addWeightedBf16(acc + <usize>r * accRow, sc + <usize>r * pRow, v, ev, n);
}
