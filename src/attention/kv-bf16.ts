/**
 * Rows appended to a KV cache stored in bfloat16 (createKvCache's storage:
 * 'bfloat16'): each float32 value x becomes its bfloat16 bits b, rounded to
 * nearest, ties to even (the library's rounding: tensor/dtype.ts roundBfloat16),
 *
 *   b = (u + 0x7fff + ((u >> 16) & 1)) >> 16,   u = the bits of x,
 *
 * which adds just under half of the dropped 16 bits' range, or exactly half
 * when the kept part is odd, so the carry rounds up past the midpoint and at
 * it only towards an even result. A carry out of the mantissa steps the
 * exponent, so this also overflows to ±Infinity and rounds subnormals right.
 * NaN (any payload) becomes a quiet NaN of the same sign, which the sum could
 * turn into Infinity.
 */

/**
 * Rounds src[from, from + count) to bfloat16: the bits into bits[to, …) (the
 * kernels' resident copy, where there is one) and the values as float32 into
 * dst[to, …), so keys and values read back exactly what the kernel reads.
 */
export function writeBf16Rows(src: Float32Array, from: number, count: number, dst: Float32Array, to: number, bits: Uint16Array | null): void {
  const u = new Uint32Array(src.buffer, src.byteOffset + from * 4, count);
  const out = new Uint32Array(dst.buffer, dst.byteOffset + to * 4, count);
  for (let i = 0; i < count; i++) {
    const x = u[i];
    const b = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    out[i] = b << 16;
    if (bits !== null) bits[to + i] = b;
  }
}
