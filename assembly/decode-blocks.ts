import { exp2v } from './exp2';
import { elemAt, elemOffset, load4, load4At } from './kv-elements';
import { madd } from './madd';

// The SIMD blocks of the decode kernel (decode.ts): scores of a block of
// keys for R query rows, and the weighted sum of their value rows. K and V
// rows are read in their natural layout (row stride e, ev floats); the last
// e % 4 (ev % 4) elements and the last n % 4 keys are done in scalar code, so
// no load runs past a row or past the block. K's and V's elements are T (f32,
// or u16 for a bfloat16 cache: kv-elements.ts); q, scores and sums are f32.

/** Keys per block inside a decode task: R × BK scores stay in L1 while the block's V rows are added. */
export const BK: i32 = 64;

@inline
export function exp2s(x: f32): f32 {
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
export function hsum(a: v128): f32 {
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
}

/** q·k over e floats (SIMD for the first e & ~3, then scalar). */
@inline
function dot<K>(q: usize, k: usize, e: i32): f32 {
  const e4 = <usize>(e & ~3) << 2;
  let a = f32x4.splat(0);
  for (let c: usize = 0; c < e4; c += 16) a = madd(v128.load(q + c), load4<K>(k + elemOffset<K>(c)), a);
  let s = hsum(a);
  for (let c = e & ~3; c < e; c++) s += load<f32>(q + (<usize>c << 2)) * elemAt<K>(k, c);
  return s;
}

/**
 * The scores of R rows against keys [j0, j0 + n) into sc [R][BK]: 2 rows × 4
 * keys per step (8 accumulators), so each load of K serves two rows of a GQA
 * group and each load of q four keys.
 */
export function scoreBlock<K>(q0: usize, qRow: usize, k: usize, e: i32, rows: i32, n: i32, sc: usize): void {
  const kRow = <usize>e * sizeof<K>();
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
        const qav = v128.load(qa + c), qbv = v128.load(qb + c), kc = elemOffset<K>(c);
        const kv0 = load4<K>(k0 + kc), kv1 = load4<K>(k1 + kc), kv2 = load4<K>(k2 + kc), kv3 = load4<K>(k3 + kc);
        a0 = madd(qav, kv0, a0); a1 = madd(qav, kv1, a1); a2 = madd(qav, kv2, a2); a3 = madd(qav, kv3, a3);
        b0 = madd(qbv, kv0, b0); b1 = madd(qbv, kv1, b1); b2 = madd(qbv, kv2, b2); b3 = madd(qbv, kv3, b3);
      }
      const at = sc + <usize>r * scRow + (<usize>jj << 2);
      v128.store(at, scoreTail<K>(reduce4(a0, a1, a2, a3), qa, k0, kRow, e));
      v128.store(at + scRow, scoreTail<K>(reduce4(b0, b1, b2, b3), qb, k0, kRow, e));
    }
    for (; r < rows; r++) {
      const q = q0 + <usize>r * qRow;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let c: usize = 0; c < e4; c += 16) {
        const qv = v128.load(q + c), kc = elemOffset<K>(c);
        a0 = madd(qv, load4<K>(k0 + kc), a0);
        a1 = madd(qv, load4<K>(k1 + kc), a1);
        a2 = madd(qv, load4<K>(k2 + kc), a2);
        a3 = madd(qv, load4<K>(k3 + kc), a3);
      }
      v128.store(sc + <usize>r * scRow + (<usize>jj << 2), scoreTail<K>(reduce4(a0, a1, a2, a3), q, k0, kRow, e));
    }
  }
  for (; jj < n; jj++) {
    const kj = k + <usize>jj * kRow;
    for (let r = 0; r < rows; r++) store<f32>(sc + <usize>r * scRow + (<usize>jj << 2), dot<K>(q0 + <usize>r * qRow, kj, e));
  }
}

/** Four keys' scores plus the products of the last e % 4 elements, which the SIMD loop left out. */
@inline
function scoreTail<K>(s: v128, q: usize, k0: usize, kRow: usize, e: i32): v128 {
  for (let c = e & ~3; c < e; c++) {
    const qc = f32x4.splat(load<f32>(q + (<usize>c << 2)));
    s = f32x4.add(s, f32x4.mul(qc, f32x4(elemAt<K>(k0, c), elemAt<K>(k0 + kRow, c), elemAt<K>(k0 + 2 * kRow, c), elemAt<K>(k0 + 3 * kRow, c))));
  }
  return s;
}

/** acc[ev] += Σ_jj p[jj] · v[jj] for one row over n keys (4 at a time, then one by one). */
@inline
function addWeighted<V>(acc: usize, p: usize, v: usize, ev: i32, n: i32): void {
  const vRow = <usize>ev * sizeof<V>();
  const ev4 = <usize>(ev & ~3) << 2;
  let jj = 0;
  for (; jj + 4 <= n; jj += 4) {
    const at = p + (<usize>jj << 2);
    const p0 = f32x4.splat(load<f32>(at)), p1 = f32x4.splat(load<f32>(at, 4));
    const p2 = f32x4.splat(load<f32>(at, 8)), p3 = f32x4.splat(load<f32>(at, 12));
    const v0 = v + <usize>jj * vRow, v1 = v0 + vRow, v2 = v1 + vRow, v3 = v2 + vRow;
    for (let c: usize = 0; c < ev4; c += 16) {
      const vc = elemOffset<V>(c);
      let a = v128.load(acc + c);
      a = madd(p0, load4<V>(v0 + vc), a);
      a = madd(p1, load4<V>(v1 + vc), a);
      a = madd(p2, load4<V>(v2 + vc), a);
      a = madd(p3, load4<V>(v3 + vc), a);
      v128.store(acc + c, a);
    }
  }
  addTail<V>(acc, p, v, ev, 0, jj, ev & ~3, ev);
  addTail<V>(acc, p, v, ev, jj, n, 0, ev);
}

/** addWeighted for two rows at once (acc rows accA, accB; weights pA, pB): each load of V serves both. */
@inline
function addWeighted2<V>(accA: usize, accB: usize, pA: usize, pB: usize, v: usize, ev: i32, n: i32): void {
  const vRow = <usize>ev * sizeof<V>();
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
      const vc = elemOffset<V>(c);
      const x0 = load4<V>(v0 + vc), x1 = load4<V>(v1 + vc), x2 = load4<V>(v2 + vc), x3 = load4<V>(v3 + vc);
      let sa = v128.load(accA + c), sb = v128.load(accB + c);
      sa = madd(a0, x0, sa); sa = madd(a1, x1, sa); sa = madd(a2, x2, sa); sa = madd(a3, x3, sa);
      sb = madd(b0, x0, sb); sb = madd(b1, x1, sb); sb = madd(b2, x2, sb); sb = madd(b3, x3, sb);
      v128.store(accA + c, sa);
      v128.store(accB + c, sb);
    }
  }
  addTail<V>(accA, pA, v, ev, 0, jj, ev & ~3, ev);
  addTail<V>(accA, pA, v, ev, jj, n, 0, ev);
  addTail<V>(accB, pB, v, ev, 0, jj, ev & ~3, ev);
  addTail<V>(accB, pB, v, ev, jj, n, 0, ev);
}

/**
 * addWeighted for four rows (acc rows at accStride, weights at pStride),
 * column-outer: for each 8 columns the four rows' sums stay in registers over
 * all n keys, so a V element is loaded once for four rows and no accumulator
 * goes back to memory per key (a GQA group of 4 costs one pass over V).
 */
@inline
function addWeighted4<V>(acc: usize, accStride: usize, p: usize, pStride: usize, v: usize, ev: i32, n: i32): void {
  const vRow = <usize>ev * sizeof<V>();
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
    let vj = v + elemOffset<V>(c);
    for (let jj: usize = 0; jj < (<usize>n << 2); jj += 4) {
      const x0 = load4At<V>(vj, 0), x1 = load4At<V>(vj, 16);
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
    let vj = v + elemOffset<V>(c);
    for (let jj: usize = 0; jj < (<usize>n << 2); jj += 4) {
      const x0 = load4<V>(vj);
      a0 = madd(v128.load32_splat(p + jj), x0, a0);
      b0 = madd(v128.load32_splat(p1 + jj), x0, b0);
      c0 = madd(v128.load32_splat(p2 + jj), x0, c0);
      d0 = madd(v128.load32_splat(p3 + jj), x0, d0);
      vj += vRow;
    }
    v128.store(acc + c, a0); v128.store(acc1 + c, b0); v128.store(acc2 + c, c0); v128.store(acc3 + c, d0);
  }
  addTail<V>(acc, p, v, ev, 0, n, ev & ~3, ev);
  addTail<V>(acc1, p1, v, ev, 0, n, ev & ~3, ev);
  addTail<V>(acc2, p2, v, ev, 0, n, ev & ~3, ev);
  addTail<V>(acc3, p3, v, ev, 0, n, ev & ~3, ev);
}

/** The scalar rest of addWeighted: acc[c] += p[jj] · v[jj][c] for keys [j0, j1) and columns [c0, c1). */
@inline
function addTail<V>(acc: usize, p: usize, v: usize, ev: i32, j0: i32, j1: i32, c0: i32, c1: i32): void {
  const vRow = <usize>ev * sizeof<V>();
  for (let jj = j0; jj < j1; jj++) {
    const w = load<f32>(p + (<usize>jj << 2));
    const vj = v + <usize>jj * vRow;
    for (let c = c0; c < c1; c++) store<f32>(acc + (<usize>c << 2), load<f32>(acc + (<usize>c << 2)) + w * elemAt<V>(vj, c));
  }
}


/** acc += P V for all R rows (acc rows evp floats apart, P rows BK): four rows at a time (each V load serves all four), then two, then one. */
export function addRows<V>(acc: usize, evp: i32, sc: usize, rows: i32, v: usize, ev: i32, n: i32): void {
  const accRow = <usize>evp << 2, pRow = <usize>BK << 2;
  let r = 0;
  for (; r + 4 <= rows; r += 4) addWeighted4<V>(acc + <usize>r * accRow, accRow, sc + <usize>r * pRow, pRow, v, ev, n);
  for (; r + 2 <= rows; r += 2) {
    const a = acc + <usize>r * accRow, p = sc + <usize>r * pRow;
    addWeighted2<V>(a, a + accRow, p, p + pRow, v, ev, n);
  }
  if (r < rows) addWeighted<V>(acc + <usize>r * accRow, sc + <usize>r * pRow, v, ev, n);
}
