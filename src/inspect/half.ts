/**
 * The two 16-bit float formats a checkpoint stores, decoded from their bits.
 * src/tensor rounds numbers *to* these formats but never reads stored bits,
 * so the decoding lives here, once, for every reader.
 *
 *   float16:  1 sign, 5 exponent (bias 15), 10 fraction bits
 *   bfloat16: the top 16 bits of a float32 (1 sign, 8 exponent, 7 fraction)
 */
/** IEEE binary16 bits → number (exact: every float16 is a float64). */
export function float16FromBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

let float16Table: Float32Array | null = null;

/** A run of 16-bit floats → Float32Array (both formats fit a float32 exactly). */
export function decodeHalf(bytes: Uint8Array, format: 'float16' | 'bfloat16', littleEndian: boolean): Float32Array {
  const count = bytes.byteLength >>> 1;
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'bfloat16') {
    const wide = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) wide[i] = view.getUint16(2 * i, littleEndian) << 16;
    return out;
  }
  // 65536 entries (256 KiB) once: a lookup beats the arithmetic on tensors of millions of values.
  if (float16Table === null) {
    float16Table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) float16Table[bits] = float16FromBits(bits);
  }
  for (let i = 0; i < count; i++) out[i] = float16Table[view.getUint16(2 * i, littleEndian)];
  return out;
}
