// out[m × n] += a[m × k] · b[k × n] in float64, all row-major: the linear
// layers' product of the nn package (src/nn/matmul.ts) for float64 models.
// Each element adds its products in the order p = 0, 1, …, k − 1, with a
// multiply and an add (never fused): the same bits as the plain loop in
// JavaScript, two columns per f64x2. Tiles of 2 rows × 8 columns keep 8
// accumulators, 2 broadcasts of a and 4 loads of b in V8's 16 xmm registers.

/** out += a · b (see the top of this file); a, b and out are byte offsets. */
export function gemmF64Add(a: usize, b: usize, out: usize, m: i32, k: i32, n: i32): void {
  const rowA = <usize>k << 3, rowB = <usize>n << 3;
  const kBytes = <usize>k << 3;
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const a0 = a + <usize>i * rowA, a1 = a0 + rowA;
    const o0 = out + <usize>i * rowB, o1 = o0 + rowB;
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      const jo = <usize>j << 3;
      let c00 = v128.load(o0 + jo), c01 = v128.load(o0 + jo, 16), c02 = v128.load(o0 + jo, 32), c03 = v128.load(o0 + jo, 48);
      let c10 = v128.load(o1 + jo), c11 = v128.load(o1 + jo, 16), c12 = v128.load(o1 + jo, 32), c13 = v128.load(o1 + jo, 48);
      let bp = b + jo;
      for (let p: usize = 0; p < kBytes; p += 8) {
        const x0 = v128.load64_splat(a0 + p), x1 = v128.load64_splat(a1 + p);
        const b0 = v128.load(bp), b1 = v128.load(bp, 16), b2 = v128.load(bp, 32), b3 = v128.load(bp, 48);
        c00 = f64x2.add(c00, f64x2.mul(x0, b0)); c01 = f64x2.add(c01, f64x2.mul(x0, b1));
        c02 = f64x2.add(c02, f64x2.mul(x0, b2)); c03 = f64x2.add(c03, f64x2.mul(x0, b3));
        c10 = f64x2.add(c10, f64x2.mul(x1, b0)); c11 = f64x2.add(c11, f64x2.mul(x1, b1));
        c12 = f64x2.add(c12, f64x2.mul(x1, b2)); c13 = f64x2.add(c13, f64x2.mul(x1, b3));
        bp += rowB;
      }
      v128.store(o0 + jo, c00); v128.store(o0 + jo, c01, 16); v128.store(o0 + jo, c02, 32); v128.store(o0 + jo, c03, 48);
      v128.store(o1 + jo, c10); v128.store(o1 + jo, c11, 16); v128.store(o1 + jo, c12, 32); v128.store(o1 + jo, c13, 48);
    }
    for (; j + 2 <= n; j += 2) {
      const jo = <usize>j << 3;
      let c0 = v128.load(o0 + jo), c1 = v128.load(o1 + jo);
      let bp = b + jo;
      for (let p: usize = 0; p < kBytes; p += 8) {
        const bv = v128.load(bp);
        c0 = f64x2.add(c0, f64x2.mul(v128.load64_splat(a0 + p), bv));
        c1 = f64x2.add(c1, f64x2.mul(v128.load64_splat(a1 + p), bv));
        bp += rowB;
      }
      v128.store(o0 + jo, c0);
      v128.store(o1 + jo, c1);
    }
    if (j < n) {
      columnTail(a0, b, o0, k, n, j);
      columnTail(a1, b, o1, k, n, j);
    }
  }
  for (; i < m; i++) {
    const ai = a + <usize>i * rowA, oi = out + <usize>i * rowB;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      const jo = <usize>j << 3;
      let c = v128.load(oi + jo);
      let bp = b + jo;
      for (let p: usize = 0; p < kBytes; p += 8) {
        c = f64x2.add(c, f64x2.mul(v128.load64_splat(ai + p), v128.load(bp)));
        bp += rowB;
      }
      v128.store(oi + jo, c);
    }
    if (j < n) columnTail(ai, b, oi, k, n, j);
  }
}

/** The last (odd) column j of one row: a scalar sum in the same order. */
@inline
function columnTail(ai: usize, b: usize, oi: usize, k: i32, n: i32, j: i32): void {
  const at = oi + (<usize>j << 3);
  let s = load<f64>(at);
  for (let p = 0; p < k; p++) s += load<f64>(ai + (<usize>p << 3)) * load<f64>(b + ((<usize>p * <usize>n + <usize>j) << 3));
  store<f64>(at, s);
}
