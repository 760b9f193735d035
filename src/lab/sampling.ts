import { randn } from '../tensor/index.js';
import { matmulABtAdd } from '../nn/matmul.js';

/** n × dim standard normals (times `std`) as one flat float64 array, from the library's seeded randn. */
export function normals(count: number, dim: number, seed: number, std = 1): Float64Array {
  return randn([count, dim], { seed, std, dtype: 'float64' }).data as Float64Array;
}

/** Row-wise dot products: out[i] = a[i,:]·b[i,:] for rows of length dim. */
export function rowDots(a: Float64Array, b: Float64Array, rows: number, dim: number): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0, p = i * dim; j < dim; j++, p++) s += a[p] * b[p];
    out[i] = s;
  }
  return out;
}

/** Scores q kᵀ in float64: q [l, e], k [s, e] → [l, s], by the library's matmul (src/nn/matmul.ts). */
export function scoresMatrix(q: Float64Array, k: Float64Array, l: number, s: number, e: number): Float64Array {
  const out = new Float64Array(l * s);
  matmulABtAdd(q, k, out, l, e, s);
  return out;
}

/**
 * LayerNorm without its affine part, per row of [rows, dim]: mean 0 and
 * (population) variance 1, so |x|² = dim. The input to every attention block
 * of a pre-LN transformer.
 */
export function layerNormRows(x: Float64Array, rows: number, dim: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let m = 0;
    for (let j = 0; j < dim; j++) m += x[o + j];
    m /= dim;
    let v = 0;
    for (let j = 0; j < dim; j++) v += (x[o + j] - m) ** 2;
    const inv = 1 / Math.sqrt(v / dim + 1e-5);
    for (let j = 0; j < dim; j++) out[o + j] = (x[o + j] - m) * inv;
  }
  return out;
}
