// Dropout keep masks, bit for bit the hash of dropoutHash in
// src/attention/problem.ts: fmix32(fmix32(fmix32(seed ^ 0x5bd1e995) ^ row * 0xcc9e2d51) ^ col * 0x1b873593),
// with (row, col) = ((b * hq + h) * l + i, j). The first two rounds depend
// only on the row, so callers hoist them; the last round runs on 4 lanes.

@inline
export function fmix32(x: u32): u32 {
  let h = x;
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

@inline
export function fmix32v(x: v128): v128 {
  let h = v128.xor(x, i32x4.shr_u(x, 16));
  h = i32x4.mul(h, i32x4.splat(0x85ebca6b));
  h = v128.xor(h, i32x4.shr_u(h, 13));
  h = i32x4.mul(h, i32x4.splat(0xc2b2ae35));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

/** The hash state after the seed and row rounds. */
@inline
export function rowHash(seed: u32, row: u32): u32 {
  return fmix32(fmix32(seed ^ 0x5bd1e995) ^ (row * 0xcc9e2d51));
}

/** All-ones lanes where the weight is kept: hash >= thr (unsigned). */
@inline
export function keepLanes(rowHashes: v128, cols: v128, thr: v128): v128 {
  const h = fmix32v(v128.xor(rowHashes, i32x4.mul(cols, i32x4.splat(0x1b873593))));
  return i32x4.ge_u(h, thr);
}
