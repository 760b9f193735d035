/**
 * The three small dense products the tiled attention kernels are made of, on
 * one block at a time. Every operand is a Float64Array (the kernels convert
 * float32 input to float64 block by block), so V8 sees one array type and JS
 * doubles accumulate without a conversion per element.
 *
 * Register blocking: each inner loop keeps 4 results in local variables (which
 * V8 keeps in registers) and reuses one loaded element for all 4. Measured on
 * Zen 4 / Node 20 (bench note in docs/performance.md), 1 × 4 tiles beat 4 × 2,
 * 2 × 4, 3 × 4 and 1 × 8 by 10-40%: larger tiles make TurboFan spill registers.
 *
 * Matrices are row-major with an explicit offset and row stride (ld*).
 */

/**
 * c[r, j] = Σₑ a[r, e] · b[j, e]   for r < m, j < n, e < d   (C = A Bᵀ).
 * Attention scores Q Kᵀ and dP = dO Vᵀ.
 */
export function matmulABt(
  a: Float64Array, aOff: number, lda: number,
  b: Float64Array, bOff: number, ldb: number,
  c: Float64Array, cOff: number, ldc: number,
  m: number, n: number, d: number,
): void {
  const n4 = n - (n % 4);
  for (let r = 0; r < m; r++) {
    const a0 = aOff + r * lda;
    const c0 = cOff + r * ldc;
    let j = 0;
    for (; j < n4; j += 4) {
      const b0 = bOff + j * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let e = 0; e < d; e++) {
        const x = a[a0 + e];
        s0 += x * b[b0 + e];
        s1 += x * b[b1 + e];
        s2 += x * b[b2 + e];
        s3 += x * b[b3 + e];
      }
      c[c0 + j] = s0;
      c[c0 + j + 1] = s1;
      c[c0 + j + 2] = s2;
      c[c0 + j + 3] = s3;
    }
    for (; j < n; j++) {
      const b0 = bOff + j * ldb;
      let s = 0;
      for (let e = 0; e < d; e++) s += a[a0 + e] * b[b0 + e];
      c[c0 + j] = s;
    }
  }
}

/**
 * out[r, e] += Σⱼ p[r, j] · b[j, e]   for r < m, j < n, e < d   (Out += P B).
 * P V in the forward pass and dQ += dS K in the backward.
 */
export function matmulAddAB(
  p: Float64Array, pOff: number, ldp: number,
  b: Float64Array, bOff: number, ldb: number,
  out: Float64Array, oOff: number, ldo: number,
  m: number, n: number, d: number,
): void {
  const d4 = d - (d % 4);
  for (let r = 0; r < m; r++) {
    const p0 = pOff + r * ldp;
    const o0 = oOff + r * ldo;
    let e = 0;
    for (; e < d4; e += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0, bj = bOff + e; j < n; j++, bj += ldb) {
        const x = p[p0 + j];
        s0 += x * b[bj];
        s1 += x * b[bj + 1];
        s2 += x * b[bj + 2];
        s3 += x * b[bj + 3];
      }
      out[o0 + e] += s0;
      out[o0 + e + 1] += s1;
      out[o0 + e + 2] += s2;
      out[o0 + e + 3] += s3;
    }
    for (; e < d; e++) {
      let s = 0;
      for (let j = 0, bj = bOff + e; j < n; j++, bj += ldb) s += p[p0 + j] * b[bj];
      out[o0 + e] += s;
    }
  }
}

/**
 * out[j, e] += Σᵣ p[r, j] · a[r, e]   for r < m, j < n, e < d   (Out += Pᵀ A).
 * dV += Pᵀ dO and dK += dSᵀ Q in the backward.
 */
export function matmulAddAtB(
  p: Float64Array, pOff: number, ldp: number,
  a: Float64Array, aOff: number, lda: number,
  out: Float64Array, oOff: number, ldo: number,
  m: number, n: number, d: number,
): void {
  const d4 = d - (d % 4);
  for (let j = 0; j < n; j++) {
    const o0 = oOff + j * ldo;
    let e = 0;
    for (; e < d4; e += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let r = 0, pr = pOff + j, ar = aOff + e; r < m; r++, pr += ldp, ar += lda) {
        const x = p[pr];
        s0 += x * a[ar];
        s1 += x * a[ar + 1];
        s2 += x * a[ar + 2];
        s3 += x * a[ar + 3];
      }
      out[o0 + e] += s0;
      out[o0 + e + 1] += s1;
      out[o0 + e + 2] += s2;
      out[o0 + e + 3] += s3;
    }
    for (; e < d; e++) {
      let s = 0;
      for (let r = 0, pr = pOff + j, ar = aOff + e; r < m; r++, pr += ldp, ar += lda) s += p[pr] * a[ar];
      out[o0 + e] += s;
    }
  }
}
