/**
 * Float16 rounding fast enough to emulate a float16 matmul element by
 * element (the library's roundFloat16 finds the exponent with log2, which is
 * exact but ~10× slower). Same result for every input: round to nearest,
 * ties to even, subnormals, overflow to ±Infinity — test/lab-half.test.ts
 * checks it against roundFloat16.
 *
 * How: for |x| in [2^e, 2^(e+1)) the float16 spacing is 2^(e−10) (2^−24 in
 * the subnormal range). Adding and subtracting C = 1.5·2^(e+42) makes the
 * float64 adder itself round |x| to a multiple of that spacing, ties to even.
 */
const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // index of the exponent word
const ROUNDER = new Float64Array(2048);
for (let biased = 0; biased < 2048; biased++) {
  const e = Math.max(biased - 1023, -14);
  ROUNDER[biased] = 1.5 * 2 ** (e + 42);
}
const F16_OVERFLOW = 65520; // halfway between 65504 and 65536: from here on rounding goes to Infinity

export function fastRoundFloat16(x: number): number {
  const a = Math.abs(x);
  if (!(a < F16_OVERFLOW)) return a === a ? (x > 0 ? Infinity : -Infinity) : NaN;
  bits[0] = a;
  const c = ROUNDER[(words[HIGH] >>> 20) & 0x7ff];
  const r = a + c - c;
  return x < 0 || 1 / x < 0 ? -r : r; // 1/x < 0 keeps the sign of −0
}
