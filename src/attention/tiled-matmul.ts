/**
 * The three small dense products the tiled attention kernels are made of, on
 * one block at a time. Every operand is a Float64Array (the kernels widen
 * float32 input to float64 block by block), so V8 sees one array type and JS
 * doubles accumulate without a conversion per element.
 *
 * Register blocking: each inner loop keeps a 4 × 2 tile of results in local
 * variables (which V8 keeps in registers) and reads each operand element once
 * per tile: 6 loads per 8 multiply-adds instead of 2 per 1. Measured inside the
 * forward kernel (Node 20, Zen 4), 4 × 2 and 2 × 4 tie and beat 1 × 4 by ~45%
 * and 4 × 4 (which spills registers); a micro-benchmark of the product alone
 * ranks them differently, so the choice was made in place.
 *
 * Matrices are row-major with an explicit offset and row stride (ld*).
 */

/**
 * c[r, j] = Σₑ a[r, e] · b[j, e]   for r < m, j < n, e < d   (C = A Bᵀ).
 * Attention scores Q Kᵀ and dP = dO Vᵀ. Tile: 4 rows of A × 2 rows of B.
 */
export function matmulABt(
  a: Float64Array, aOff: number, lda: number,
  b: Float64Array, bOff: number, ldb: number,
  c: Float64Array, cOff: number, ldc: number,
  m: number, n: number, d: number,
): void {
  let r = 0;
  for (; r + 4 <= m; r += 4) {
    const a0 = aOff + r * lda;
    const a1 = a0 + lda;
    const a2 = a1 + lda;
    const a3 = a2 + lda;
    const c0 = cOff + r * ldc;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      const b0 = bOff + j * ldb;
      const b1 = b0 + ldb;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
      for (let e = 0; e < d; e++) {
        const y0 = b[b0 + e];
        const y1 = b[b1 + e];
        const x0 = a[a0 + e];
        const x1 = a[a1 + e];
        const x2 = a[a2 + e];
        const x3 = a[a3 + e];
        s00 += x0 * y0; s01 += x0 * y1;
        s10 += x1 * y0; s11 += x1 * y1;
        s20 += x2 * y0; s21 += x2 * y1;
        s30 += x3 * y0; s31 += x3 * y1;
      }
      const o = c0 + j;
      c[o] = s00; c[o + 1] = s01;
      c[o + ldc] = s10; c[o + ldc + 1] = s11;
      c[o + 2 * ldc] = s20; c[o + 2 * ldc + 1] = s21;
      c[o + 3 * ldc] = s30; c[o + 3 * ldc + 1] = s31;
    }
    for (; j < n; j++) {
      const b0 = bOff + j * ldb;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let e = 0; e < d; e++) {
        const y = b[b0 + e];
        s0 += a[a0 + e] * y; s1 += a[a1 + e] * y; s2 += a[a2 + e] * y; s3 += a[a3 + e] * y;
      }
      const o = c0 + j;
      c[o] = s0; c[o + ldc] = s1; c[o + 2 * ldc] = s2; c[o + 3 * ldc] = s3;
    }
  }
  for (; r < m; r++) {
    const a0 = aOff + r * lda;
    const c0 = cOff + r * ldc;
    for (let j = 0; j < n; j++) {
      const b0 = bOff + j * ldb;
      let s = 0;
      for (let e = 0; e < d; e++) s += a[a0 + e] * b[b0 + e];
      c[c0 + j] = s;
    }
  }
}

/**
 * out[r, e] += Σⱼ p[r, j] · b[j, e]   for r < m, j < n, e < d   (Out += P B).
 * P V in the forward pass and dQ += dS K in the backward. Tile: 4 rows × 2 columns of Out.
 */
export function matmulAddAB(
  p: Float64Array, pOff: number, ldp: number,
  b: Float64Array, bOff: number, ldb: number,
  out: Float64Array, oOff: number, ldo: number,
  m: number, n: number, d: number,
): void {
  let r = 0;
  for (; r + 4 <= m; r += 4) {
    const p0 = pOff + r * ldp;
    const p1 = p0 + ldp;
    const p2 = p1 + ldp;
    const p3 = p2 + ldp;
    const o0 = oOff + r * ldo;
    let e = 0;
    for (; e + 2 <= d; e += 2) {
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
      for (let j = 0, bj = bOff + e; j < n; j++, bj += ldb) {
        const y0 = b[bj];
        const y1 = b[bj + 1];
        const x0 = p[p0 + j];
        const x1 = p[p1 + j];
        const x2 = p[p2 + j];
        const x3 = p[p3 + j];
        s00 += x0 * y0; s01 += x0 * y1;
        s10 += x1 * y0; s11 += x1 * y1;
        s20 += x2 * y0; s21 += x2 * y1;
        s30 += x3 * y0; s31 += x3 * y1;
      }
      const o = o0 + e;
      out[o] += s00; out[o + 1] += s01;
      out[o + ldo] += s10; out[o + ldo + 1] += s11;
      out[o + 2 * ldo] += s20; out[o + 2 * ldo + 1] += s21;
      out[o + 3 * ldo] += s30; out[o + 3 * ldo + 1] += s31;
    }
    for (; e < d; e++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0, bj = bOff + e; j < n; j++, bj += ldb) {
        const y = b[bj];
        s0 += p[p0 + j] * y; s1 += p[p1 + j] * y; s2 += p[p2 + j] * y; s3 += p[p3 + j] * y;
      }
      const o = o0 + e;
      out[o] += s0; out[o + ldo] += s1; out[o + 2 * ldo] += s2; out[o + 3 * ldo] += s3;
    }
  }
  for (; r < m; r++) {
    const p0 = pOff + r * ldp;
    const o0 = oOff + r * ldo;
    for (let e = 0; e < d; e++) {
      let s = 0;
      for (let j = 0, bj = bOff + e; j < n; j++, bj += ldb) s += p[p0 + j] * b[bj];
      out[o0 + e] += s;
    }
  }
}

/**
 * out[j, e] += Σᵣ p[r, j] · a[r, e]   for r < m, j < n, e < d   (Out += Pᵀ A).
 * dV += Pᵀ dO and dK += dSᵀ Q in the backward. Tile: 4 rows × 2 columns of Out.
 */
export function matmulAddAtB(
  p: Float64Array, pOff: number, ldp: number,
  a: Float64Array, aOff: number, lda: number,
  out: Float64Array, oOff: number, ldo: number,
  m: number, n: number, d: number,
): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o0 = oOff + j * ldo;
    let e = 0;
    for (; e + 2 <= d; e += 2) {
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
      for (let r = 0, pr = pOff + j, ar = aOff + e; r < m; r++, pr += ldp, ar += lda) {
        const y0 = a[ar];
        const y1 = a[ar + 1];
        const x0 = p[pr];
        const x1 = p[pr + 1];
        const x2 = p[pr + 2];
        const x3 = p[pr + 3];
        s00 += x0 * y0; s01 += x0 * y1;
        s10 += x1 * y0; s11 += x1 * y1;
        s20 += x2 * y0; s21 += x2 * y1;
        s30 += x3 * y0; s31 += x3 * y1;
      }
      const o = o0 + e;
      out[o] += s00; out[o + 1] += s01;
      out[o + ldo] += s10; out[o + ldo + 1] += s11;
      out[o + 2 * ldo] += s20; out[o + 2 * ldo + 1] += s21;
      out[o + 3 * ldo] += s30; out[o + 3 * ldo + 1] += s31;
    }
    for (; e < d; e++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let r = 0, pr = pOff + j, ar = aOff + e; r < m; r++, pr += ldp, ar += lda) {
        const y = a[ar];
        s0 += p[pr] * y; s1 += p[pr + 1] * y; s2 += p[pr + 2] * y; s3 += p[pr + 3] * y;
      }
      const o = o0 + e;
      out[o] += s0; out[o + ldo] += s1; out[o + 2 * ldo] += s2; out[o + 3 * ldo] += s3;
    }
  }
  for (; j < n; j++) {
    const o0 = oOff + j * ldo;
    for (let e = 0; e < d; e++) {
      let s = 0;
      for (let r = 0, pr = pOff + j, ar = aOff + e; r < m; r++, pr += ldp, ar += lda) s += p[pr] * a[ar];
      out[o0 + e] += s;
    }
  }
}
