// C (m x n) op= Aᵀ · B, float32, where A is stored k x m and B k x n, both
// row-major with strides in elements. Storing A transposed is what makes
// the micro-kernel cheap: at each step of k the 4 values of A it needs are
// adjacent, so they are 4 broadcast loads at constant offsets from one
// pointer. Every product in the kernels is written in this form (Kᵀ, Qᵀ,
// Vᵀ, dOᵀ are packed; a score tile held as [key][query] is already the
// transpose the PV product needs). m must be a multiple of 4, n of 8, and k > 0.
//
// The micro-tile is 4 rows x 8 columns: 8 f32x4 accumulators, 4 broadcasts
// of A and 2 loads of B per step of k, and 8 multiply-adds: a mul and an add
// in SIMD128, one fused op with relaxed SIMD (madd.ts). That fits V8's 16
// xmm registers without spilling.

import { madd } from './madd';

export const OVERWRITE: i32 = 0; // C = AᵀB
export const ACCUMULATE: i32 = 1; // C += AᵀB
export const RESCALE: i32 = 2; // C = C * f[row] + AᵀB

@inline
function microTile(a: usize, lda: usize, b: usize, ldb: usize, k: i32, c: usize, ldc: usize, mode: i32, f: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  // One step of k per trip, with the pointer into A as the induction
  // variable: no separate counter, and V8 unrolls the loop itself. That
  // measured ~10 % faster (forward and backward) than a counted loop of 4
  // steps per trip; unrolling by hand was slower still: V8 then keeps one
  // register per distinct load offset (mem_start + offset is hoisted out of
  // the loop) and spills. A 2 x 16 tile (same loads per multiply-add) was
  // faster alone on 64 x 64 x 64 but no faster in the kernels.
  const aEnd = a + <usize>k * lda;
  do {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let s = v128.load32_splat(a);
    c00 = madd(s, b0, c00);
    c01 = madd(s, b1, c01);
    s = v128.load32_splat(a, 4);
    c10 = madd(s, b0, c10);
    c11 = madd(s, b1, c11);
    s = v128.load32_splat(a, 8);
    c20 = madd(s, b0, c20);
    c21 = madd(s, b1, c21);
    s = v128.load32_splat(a, 12);
    c30 = madd(s, b0, c30);
    c31 = madd(s, b1, c31);
    a += lda;
    b += ldb;
  } while (a < aEnd);
  const c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc;
  if (mode == ACCUMULATE) {
    c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c1)); c11 = f32x4.add(c11, v128.load(c1, 16));
    c20 = f32x4.add(c20, v128.load(c2)); c21 = f32x4.add(c21, v128.load(c2, 16));
    c30 = f32x4.add(c30, v128.load(c3)); c31 = f32x4.add(c31, v128.load(c3, 16));
  } else if (mode == RESCALE) {
    let s = v128.load32_splat(f);
    c00 = f32x4.add(c00, f32x4.mul(s, v128.load(c))); c01 = f32x4.add(c01, f32x4.mul(s, v128.load(c, 16)));
    s = v128.load32_splat(f, 4);
    c10 = f32x4.add(c10, f32x4.mul(s, v128.load(c1))); c11 = f32x4.add(c11, f32x4.mul(s, v128.load(c1, 16)));
    s = v128.load32_splat(f, 8);
    c20 = f32x4.add(c20, f32x4.mul(s, v128.load(c2))); c21 = f32x4.add(c21, f32x4.mul(s, v128.load(c2, 16)));
    s = v128.load32_splat(f, 12);
    c30 = f32x4.add(c30, f32x4.mul(s, v128.load(c3))); c31 = f32x4.add(c31, f32x4.mul(s, v128.load(c3, 16)));
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c1, c10); v128.store(c1, c11, 16);
  v128.store(c2, c20); v128.store(c2, c21, 16);
  v128.store(c3, c30); v128.store(c3, c31, 16);
}

/** C = op(C, Aᵀ B). `f` (RESCALE only) points at m per-row factors. */
export function gemm(m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, mode: i32, f: usize): void {
  const ldaB = <usize>lda << 2, ldbB = <usize>ldb << 2, ldcB = <usize>ldc << 2;
  for (let i = 0; i < m; i += 4) {
    const ai = a + (<usize>i << 2);
    const ci = c + <usize>i * ldcB;
    const fi = f + (<usize>i << 2);
    for (let j = 0; j < n; j += 8) {
      microTile(ai, ldaB, b + (<usize>j << 2), ldbB, k, ci + (<usize>j << 2), ldcB, mode, fi);
    }
  }
}
