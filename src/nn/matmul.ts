import { wasmMatmulAddF64 } from '../attention/index.js';
import type { Data } from './autograd.js';

// The three products a linear layer needs, accumulating into `out`. Rows are
// taken four at a time so each element loaded from the shared operand is used
// four times: about twice the speed of the plain triple loop in V8, which is
// most of a training step's time.

/**
 * out[M,N] += a[M,K] · b[K,N], in tiles of 4 rows × 2 columns whose eight
 * sums stay in registers over all of K (the plain loop loads and stores each
 * element of out once per product). Each sum still adds its products in the
 * order p = 0, 1, …, K−1, and a float32 out is rounded after every addition
 * as storing into it each time did: the same bits as the plain loop.
 */
export function matmulAdd(a: Data, b: Data, out: Data, m: number, k: number, n: number): void {
  if (out instanceof Float32Array) matmulAddRounded(a, b, out, m, k, n);
  // float64 products big enough to pay for copying in and out: the wasm kernel, same bits, two columns per f64x2.
  else if (m * k * n < WASM_MIN_PRODUCTS || !(a instanceof Float64Array && b instanceof Float64Array) || !wasmMatmulAddF64(a, b, out, m, k, n)) {
    matmulAddExact(a, b, out, m, k, n);
  }
}

/** Products (m·k·n) from which matmulAdd hands a float64 product to WebAssembly. */
const WASM_MIN_PRODUCTS = 4096;

function matmulAddExact(a: Data, b: Data, out: Data, m: number, k: number, n: number): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const [r0, r1, r2, r3] = [i * k, (i + 1) * k, (i + 2) * k, (i + 3) * k];
    const [o0, o1, o2, o3] = [i * n, (i + 1) * n, (i + 2) * n, (i + 3) * n];
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      let s00 = out[o0 + j], s01 = out[o0 + j + 1], s10 = out[o1 + j], s11 = out[o1 + j + 1];
      let s20 = out[o2 + j], s21 = out[o2 + j + 1], s30 = out[o3 + j], s31 = out[o3 + j + 1];
      for (let p = 0, bo = j; p < k; p++, bo += n) {
        const b0 = b[bo], b1 = b[bo + 1];
        const a0 = a[r0 + p], a1 = a[r1 + p], a2 = a[r2 + p], a3 = a[r3 + p];
        s00 += a0 * b0; s01 += a0 * b1; s10 += a1 * b0; s11 += a1 * b1;
        s20 += a2 * b0; s21 += a2 * b1; s30 += a3 * b0; s31 += a3 * b1;
      }
      out[o0 + j] = s00; out[o0 + j + 1] = s01; out[o1 + j] = s10; out[o1 + j + 1] = s11;
      out[o2 + j] = s20; out[o2 + j + 1] = s21; out[o3 + j] = s30; out[o3 + j + 1] = s31;
    }
    for (; j < n; j++) {
      let s0 = out[o0 + j], s1 = out[o1 + j], s2 = out[o2 + j], s3 = out[o3 + j];
      for (let p = 0, bo = j; p < k; p++, bo += n) {
        const bv = b[bo];
        s0 += a[r0 + p] * bv; s1 += a[r1 + p] * bv; s2 += a[r2 + p] * bv; s3 += a[r3 + p] * bv;
      }
      out[o0 + j] = s0; out[o1 + j] = s1; out[o2 + j] = s2; out[o3 + j] = s3;
    }
  }
  for (; i < m; i++) {
    const r = i * k, o = i * n;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      let s0 = out[o + j], s1 = out[o + j + 1], s2 = out[o + j + 2], s3 = out[o + j + 3];
      for (let p = 0, bo = j; p < k; p++, bo += n) {
        const av = a[r + p];
        s0 += av * b[bo]; s1 += av * b[bo + 1]; s2 += av * b[bo + 2]; s3 += av * b[bo + 3];
      }
      out[o + j] = s0; out[o + j + 1] = s1; out[o + j + 2] = s2; out[o + j + 3] = s3;
    }
    for (; j < n; j++) {
      let s = out[o + j];
      for (let p = 0, bo = j; p < k; p++, bo += n) s += a[r + p] * b[bo];
      out[o + j] = s;
    }
  }
}

/** matmulAddExact for a float32 out: Math.fround after each addition, as a store into out did. */
function matmulAddRounded(a: Data, b: Data, out: Data, m: number, k: number, n: number): void {
  const f = Math.fround;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const [r0, r1, r2, r3] = [i * k, (i + 1) * k, (i + 2) * k, (i + 3) * k];
    const [o0, o1, o2, o3] = [i * n, (i + 1) * n, (i + 2) * n, (i + 3) * n];
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      let s00 = out[o0 + j], s01 = out[o0 + j + 1], s10 = out[o1 + j], s11 = out[o1 + j + 1];
      let s20 = out[o2 + j], s21 = out[o2 + j + 1], s30 = out[o3 + j], s31 = out[o3 + j + 1];
      for (let p = 0, bo = j; p < k; p++, bo += n) {
        const b0 = b[bo], b1 = b[bo + 1];
        const a0 = a[r0 + p], a1 = a[r1 + p], a2 = a[r2 + p], a3 = a[r3 + p];
        s00 = f(s00 + a0 * b0); s01 = f(s01 + a0 * b1); s10 = f(s10 + a1 * b0); s11 = f(s11 + a1 * b1);
        s20 = f(s20 + a2 * b0); s21 = f(s21 + a2 * b1); s30 = f(s30 + a3 * b0); s31 = f(s31 + a3 * b1);
      }
      out[o0 + j] = s00; out[o0 + j + 1] = s01; out[o1 + j] = s10; out[o1 + j + 1] = s11;
      out[o2 + j] = s20; out[o2 + j + 1] = s21; out[o3 + j] = s30; out[o3 + j + 1] = s31;
    }
    for (; j < n; j++) {
      let s0 = out[o0 + j], s1 = out[o1 + j], s2 = out[o2 + j], s3 = out[o3 + j];
      for (let p = 0, bo = j; p < k; p++, bo += n) {
        const bv = b[bo];
        s0 = f(s0 + a[r0 + p] * bv); s1 = f(s1 + a[r1 + p] * bv); s2 = f(s2 + a[r2 + p] * bv); s3 = f(s3 + a[r3 + p] * bv);
      }
      out[o0 + j] = s0; out[o1 + j] = s1; out[o2 + j] = s2; out[o3 + j] = s3;
    }
  }
  for (; i < m; i++) {
    const r = i * k, o = i * n;
    for (let j = 0; j < n; j++) {
      let s = out[o + j];
      for (let p = 0, bo = j; p < k; p++, bo += n) s = f(s + a[r + p] * b[bo]);
      out[o + j] = s;
    }
  }
}

/** out[M,K] += a[M,N] · b[K,N]ᵀ  (dot products of rows) */
export function matmulABtAdd(a: Data, b: Data, out: Data, m: number, n: number, k: number): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const r0 = i * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    for (let p = 0; p < k; p++) {
      const bo = p * n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < n; j++) {
        const bv = b[bo + j];
        s0 += a[r0 + j] * bv;
        s1 += a[r1 + j] * bv;
        s2 += a[r2 + j] * bv;
        s3 += a[r3 + j] * bv;
      }
      out[i * k + p] += s0;
      out[(i + 1) * k + p] += s1;
      out[(i + 2) * k + p] += s2;
      out[(i + 3) * k + p] += s3;
    }
  }
  for (; i < m; i++) {
    for (let p = 0; p < k; p++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j] * b[p * n + j];
      out[i * k + p] += s;
    }
  }
}

/** out[K,N] += a[M,K]ᵀ · b[M,N] */
export function matmulAtBAdd(a: Data, b: Data, out: Data, m: number, k: number, n: number): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const b0 = i * n;
    const b1 = b0 + n;
    const b2 = b1 + n;
    const b3 = b2 + n;
    for (let p = 0; p < k; p++) {
      const a0 = a[i * k + p];
      const a1 = a[(i + 1) * k + p];
      const a2 = a[(i + 2) * k + p];
      const a3 = a[(i + 3) * k + p];
      const o = p * n;
      for (let j = 0; j < n; j++) out[o + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
    }
  }
  for (; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      const o = p * n;
      for (let j = 0; j < n; j++) out[o + j] += av * b[i * n + j];
    }
  }
}
