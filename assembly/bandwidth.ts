// The memory-read ceiling: the rate at which this engine and CPU stream bytes
// through f32x4 loads from a buffer larger than the caches. Four independent
// add chains, so the loop waits on memory, not on the adds' latency; nothing
// is stored. src/bench/bandwidth.ts runs it on every thread at once, each on
// its own slice of one shared memory: what a decode kernel that reads K and V
// once per call can at best approach.

/** Sums the f32 lanes of [from, from + bytes) (bytes a multiple of 64); the sum keeps the loads from being dropped. */
export function read(from: usize, bytes: usize): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const end = from + bytes;
  for (let p = from; p < end; p += 64) {
    a0 = f32x4.add(a0, v128.load(p));
    a1 = f32x4.add(a1, v128.load(p, 16));
    a2 = f32x4.add(a2, v128.load(p, 32));
    a3 = f32x4.add(a3, v128.load(p, 48));
  }
  const s = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
