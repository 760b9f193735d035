// A KV cache stored in bfloat16 (createKvCache's storage: 'bfloat16'), read
// by the decode kernel (decode.ts): the cache holds each value's top 16 bits,
// so decoding reads half the bytes of a float32 cache. A block's rows are
// widened to float32 into the task's scratch just before the float32 blocks
// (decode-blocks.ts) read them from L1/L2; the arithmetic stays float32.
//
// bfloat16 → float32 is exact and cheap: the 16 bits are the float32's high
// half, so a widen (extend to 32 bits) and a shift left by 16 give the float.

/**
 * Writes the `count` bfloat16 values at src (u16 bit patterns) to dst as
 * float32, eight per step, the last count % 8 one by one. Returns dst.
 */
export function widenBf16(src: usize, dst: usize, count: i32): usize {
  const c8 = <usize>(count & ~7);
  let i: usize = 0;
  for (; i < c8; i += 8) {
    const h = v128.load(src + (i << 1));
    v128.store(dst + (i << 2), i32x4.shl(i32x4.extend_low_i16x8_u(h), 16));
    v128.store(dst + (i << 2), i32x4.shl(i32x4.extend_high_i16x8_u(h), 16), 16);
  }
  for (; i < <usize>count; i++) store<u32>(dst + (i << 2), <u32>load<u16>(src + (i << 1)) << 16);
  return dst;
}
