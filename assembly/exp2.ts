import { madd } from './madd';

// 2^x for f32x4 lanes with x <= 0 (scores minus their running max).
//
// x = n + f with n = round(x), |f| <= 1/2; 2^n is built in the exponent bits
// and 2^f comes from a degree-5 polynomial 1 + f·(c1 + ... + c5·f⁴) fitted to
// minimise the relative error on [-1/2, 1/2] (fit: 1.1e-7; evaluated in
// float32 by Horner without fusing: at most 1.9e-7 relative, under 2 ulp,
// measured over 400 001 points). The constant term is exactly 1 so that
// 2^0 = 1 exactly: the online softmax rescales its running sum by 2^(m - m')
// once per key block, and a factor of 1 + 1.2e-7 there (an unconstrained
// fit) compounded into a 4e-6 bias of lse over 64 blocks. x is first
// clamped to -127, where the exponent field 2^n comes out as all zero bits,
// i.e. the result is exactly 0: so -inf (a masked score) gives 0, and so does
// anything below 2^-126.5, which float32 could only hold as a subnormal.

const C0: f32 = 1.0;
const C1: f32 = 0.69314700365;
const C2: f32 = 0.24022242427;
const C3: f32 = 0.055507339537;
const C4: f32 = 0.0096715129912;
const C5: f32 = 0.0013264718;

@inline
export function exp2v(x: v128): v128 {
  const xc = f32x4.pmax(x, f32x4.splat(-127.0));
  // Adding 1.5 * 2^23 rounds to an integer (ties to even) and leaves n in the
  // low mantissa bits: cheaper than nearest + trunc_sat, which V8 expands.
  const t = f32x4.add(xc, f32x4.splat(12582912.0));
  const n = f32x4.sub(t, f32x4.splat(12582912.0));
  const f = f32x4.sub(xc, n);
  let p = madd(f32x4.splat(C5), f, f32x4.splat(C4));
  p = madd(p, f, f32x4.splat(C3));
  p = madd(p, f, f32x4.splat(C2));
  p = madd(p, f, f32x4.splat(C1));
  p = madd(p, f, f32x4.splat(C0));
  const pow2n = i32x4.shl(i32x4.add(t, i32x4.splat(127 - 0x4b400000)), 23);
  return f32x4.mul(p, pow2n);
}
