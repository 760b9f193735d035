// The SIMD multiply-add ceiling: the rate at which this engine and CPU retire
// f32x4 multiply-adds when nothing else (loads, stores, softmax, bounds)
// competes. Sixteen independent accumulators, so the loop is bound by
// throughput, not by the 3-5 cycle latency of one dependent chain; the same
// madd() the attention kernels use, so the relaxed build measures fused
// multiply-add and the plain build mul + add. 16 accumulators x 4 lanes x 2 flops
// = 128 flops per iteration.
//   bench/ceiling (src/bench/ceiling.ts) runs it on every thread at once.
import { madd } from './madd';

export function flopsPerIteration(): i32 {
  return 128;
}

/** Runs `iterations` rounds; returns a sum of the accumulators so the work cannot be dropped. */
export function run(iterations: i32, seed: f32): f32 {
  const a = f32x4.splat(seed);
  const b = f32x4.splat(0.999999);
  let c0 = f32x4.splat(0.0); let c1 = f32x4.splat(0.1); let c2 = f32x4.splat(0.2); let c3 = f32x4.splat(0.3);
  let c4 = f32x4.splat(0.4); let c5 = f32x4.splat(0.5); let c6 = f32x4.splat(0.6); let c7 = f32x4.splat(0.7);
  let c8 = f32x4.splat(0.8); let c9 = f32x4.splat(0.9); let c10 = f32x4.splat(1.0); let c11 = f32x4.splat(1.1);
  let c12 = f32x4.splat(1.2); let c13 = f32x4.splat(1.3); let c14 = f32x4.splat(1.4); let c15 = f32x4.splat(1.5);
  for (let i = 0; i < iterations; i++) {
    c0 = madd(a, b, c0); c1 = madd(a, b, c1); c2 = madd(a, b, c2); c3 = madd(a, b, c3);
    c4 = madd(a, b, c4); c5 = madd(a, b, c5); c6 = madd(a, b, c6); c7 = madd(a, b, c7);
    c8 = madd(a, b, c8); c9 = madd(a, b, c9); c10 = madd(a, b, c10); c11 = madd(a, b, c11);
    c12 = madd(a, b, c12); c13 = madd(a, b, c13); c14 = madd(a, b, c14); c15 = madd(a, b, c15);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7))),
    f32x4.add(f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11)), f32x4.add(f32x4.add(c12, c13), f32x4.add(c14, c15))));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
