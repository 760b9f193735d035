import { randn } from '../tensor/index.js';

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

/**
 * Scores q kᵀ in float64: q [l, e], k [s, e] → [l, s]. Four keys per pass
 * over a query row, so each q element is loaded once for four products: the
 * lab's large sweeps spend most of their time here.
 */
export function scoresMatrix(q: Float64Array, k: Float64Array, l: number, s: number, e: number): Float64Array {
  const out = new Float64Array(l * s);
  for (let i = 0; i < l; i++) {
    const qi = i * e;
    let j = 0;
    for (; j + 4 <= s; j += 4) {
      const k0 = j * e;
      const k1 = k0 + e;
      const k2 = k1 + e;
      const k3 = k2 + e;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let t = 0; t < e; t++) {
        const x = q[qi + t];
        a0 += x * k[k0 + t];
        a1 += x * k[k1 + t];
        a2 += x * k[k2 + t];
        a3 += x * k[k3 + t];
      }
      const o = i * s + j;
      out[o] = a0;
      out[o + 1] = a1;
      out[o + 2] = a2;
      out[o + 3] = a3;
    }
    for (; j < s; j++) {
      let acc = 0;
      for (let t = 0, r = j * e; t < e; t++, r++) acc += q[qi + t] * k[r];
      out[i * s + j] = acc;
    }
  }
  return out;
}
