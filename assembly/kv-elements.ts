// How the decode kernel reads an element of K or V. T = f32: float32 rows
// (tensors, and a float32 KV cache); T = u16: a KV cache stored in bfloat16
// (createKvCache's storage 'bfloat16'), each value's high 16 bits, which a
// widening load (4 × u16 → 4 × u32) and a shift left by 16 turn back into the
// float exactly. The blocks (decode-blocks.ts, decode-row.ts) are generic in
// T, so both storages run the same sums in the same order: a bfloat16 cache
// gives bit for bit what float32 tensors holding the rounded values give.
//
// The blocks step through a row in float32 bytes (16 per four elements, as
// they step through q); elemOffset<T> turns such an offset into T's bytes.
// sizeof<T>() is a compile-time constant, so each instance keeps one branch.

/** T's bytes at a float32 row's byte offset c. */
@inline
export function elemOffset<T>(c: usize): usize {
  return sizeof<T>() == 2 ? c >> 1 : c;
}

/** The four elements at p, as f32x4. */
@inline
export function load4<T>(p: usize): v128 {
  if (sizeof<T>() == 2) return i32x4.shl(v128.load16x4_u(p), 16);
  return v128.load(p);
}

/**
 * The four elements at float32 byte offset `at` (a literal, a multiple of 16
 * up to 112) from p, with the offset folded into the load instruction: the
 * branches fall away once inlined with a literal (checked in the built
 * module), and a load with an immediate offset needs no address add.
 */
@inline
export function load4At<T>(p: usize, at: i32): v128 {
  if (sizeof<T>() == 2) {
    if (at == 0) return i32x4.shl(v128.load16x4_u(p), 16);
    if (at == 16) return i32x4.shl(v128.load16x4_u(p, 8), 16);
    if (at == 32) return i32x4.shl(v128.load16x4_u(p, 16), 16);
    if (at == 48) return i32x4.shl(v128.load16x4_u(p, 24), 16);
    if (at == 64) return i32x4.shl(v128.load16x4_u(p, 32), 16);
    if (at == 80) return i32x4.shl(v128.load16x4_u(p, 40), 16);
    if (at == 96) return i32x4.shl(v128.load16x4_u(p, 48), 16);
    if (at == 112) return i32x4.shl(v128.load16x4_u(p, 56), 16);
    return load4<T>(p + (<usize>at >> 1));
  }
  if (at == 0) return v128.load(p);
  if (at == 16) return v128.load(p, 16);
  if (at == 32) return v128.load(p, 32);
  if (at == 48) return v128.load(p, 48);
  if (at == 64) return v128.load(p, 64);
  if (at == 80) return v128.load(p, 80);
  if (at == 96) return v128.load(p, 96);
  if (at == 112) return v128.load(p, 112);
  return v128.load(p + <usize>at);
}

/** Element i of the row at p, as f32. */
@inline
export function elemAt<T>(p: usize, i: i32): f32 {
  if (sizeof<T>() == 2) return reinterpret<f32>(<u32>load<u16>(p + (<usize>i << 1)) << 16);
  return load<f32>(p + (<usize>i << 2));
}
