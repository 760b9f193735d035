// The SIMD multiply-add ceiling: the rate at which this engine and CPU retire
// f32x4 multiply-adds when nothing else (loads, stores, softmax, bounds)
// competes. Twelve independent chains c = c·b + a, so the loop is bound by
// throughput, not by the latency of one dependent chain; twelve, because
// with a and b that fills 14 of x64's 16 SIMD registers (sixteen chains
// spilled and measured slower). The accumulator is a factor of the product:
// a constant a·b would be computed once by the optimiser, leaving only adds.
// b < 1 keeps every value bounded. It calls the same madd() as the attention
// kernels, so the relaxed build measures fused multiply-add and the plain
// build mul + add: 12 chains × 4 lanes × 2 flops = 96 flops per iteration.
//   src/bench/ceiling.ts runs it on every thread at once.
import { madd } from './madd';

export function flopsPerIteration(): i32 {
  return 96;
}

/** Runs `iterations` rounds; returns a sum of the accumulators so the work cannot be dropped. */
export function run(iterations: i32, seed: f32): f32 {
  const a = f32x4.splat(seed * 0.000001);
  const b = f32x4.splat(0.999999);
  let c0 = f32x4.splat(0.0); let c1 = f32x4.splat(0.1); let c2 = f32x4.splat(0.2); let c3 = f32x4.splat(0.3);
  let c4 = f32x4.splat(0.4); let c5 = f32x4.splat(0.5); let c6 = f32x4.splat(0.6); let c7 = f32x4.splat(0.7);
  let c8 = f32x4.splat(0.8); let c9 = f32x4.splat(0.9); let c10 = f32x4.splat(1.0); let c11 = f32x4.splat(1.1);
  for (let i = 0; i < iterations; i++) {
    c0 = madd(c0, b, a); c1 = madd(c1, b, a); c2 = madd(c2, b, a); c3 = madd(c3, b, a);
    c4 = madd(c4, b, a); c5 = madd(c5, b, a); c6 = madd(c6, b, a); c7 = madd(c7, b, a);
    c8 = madd(c8, b, a); c9 = madd(c9, b, a); c10 = madd(c10, b, a); c11 = madd(c11, b, a);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)),
    f32x4.add(f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)), f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11))));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
