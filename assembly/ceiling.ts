// The SIMD multiply-add ceiling: the rate at which this engine and CPU retire
// f32x4 multiply-adds. No one loop shows it on every engine and CPU, so the
// module has three forms, all through the same madd() as the attention
// kernels (the relaxed build measures fused multiply-add, the plain build
// mul + add), and src/bench/ceiling.ts takes the best of them:
//   0 chains: twelve independent chains c = c·b + a, nothing but multiply-adds;
//   1 fed:    twelve chains c += x·b with x loaded from a ring in L1, so the
//             multiply is off the chain (where mul then add is latency-bound
//             in form 0, this one is not);
//   2 tile:   the attention kernels' own product (gemm.ts, its 4 x 8
//             micro-tile) on one 64 x 64 x 64 block held in L1.
// Why three: on the 2-core AMD EPYC (Zen 5) machine of 2026-12-07, in one
// process, form 0 gave 41.3 GFLOP/s a thread for mul + add while the kernels'
// gemm ran 64³ blocks at 49.7-51.5: a ceiling below the kernels' own loop
// overstates every % of it. With relaxed SIMD form 1 gave 54.3 against form
// 0's 46.7. Twelve chains, because with a and b they fill 14 of x64's 16 SIMD
// registers (sixteen spilled and measured slower). In form 0 the accumulator
// is a factor of the product: a constant a·b would be computed once by the
// optimiser, leaving only adds. b < 1 keeps every value bounded.
//   src/bench/ceiling.ts (and ceiling-page.ts in a browser) runs it on every thread at once.
import { madd } from './madd';
import { gemm, OVERWRITE } from './gemm';

const TILE: i32 = 64;
// Form 1's ring: 8 rows of 64 bytes read at 12 offsets of 16 past the row (up to 640 bytes).
const RING = memory.data(1024, 16);
// Form 2's block: A (k x m), B (k x n) and C (m x n), 16 KiB each.
const TILE_A = memory.data(3 * TILE * TILE * 4, 16);
const TILE_B = TILE_A + <usize>(TILE * TILE * 4);
const TILE_C = TILE_B + <usize>(TILE * TILE * 4);
// The seed each block was last filled for: a measuring loop calls a form again and again with
// the same seed, so the fill runs once rather than inside the timed calls (NaN: never filled).
let ringSeed: f32 = NaN;
let tileSeed: f32 = NaN;

/** The forms, in order: each is an export (iterations, seed) => a sum of its results, so the work cannot be dropped. */
export function formCount(): i32 {
  return 3;
}

/** Flops per iteration of form `form` (a multiply-add counts 2 per lane). */
export function flopsPerIteration(form: i32): i32 {
  return form == 2 ? 2 * TILE * TILE * TILE : 12 * 4 * 2;
}

// Three exports rather than one dispatching on the form: inlined into one
// function, form 0 ran at half its speed (mul + add, V8 12.4).
export function form0(iterations: i32, seed: f32): f32 {
  return chains(iterations, seed);
}
export function form1(iterations: i32, seed: f32): f32 {
  return fed(iterations, seed);
}
export function form2(iterations: i32, seed: f32): f32 {
  return tile(iterations, seed);
}

function chains(iterations: i32, seed: f32): f32 {
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
  return sum12(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11);
}

function fed(iterations: i32, seed: f32): f32 {
  if (seed != ringSeed) {
    for (let j: usize = 0; j < 256; j++) store<f32>(RING + (j << 2), seed * 0.000001 * <f32>j);
    ringSeed = seed;
  }
  const b = f32x4.splat(0.999999);
  let c0 = f32x4.splat(0.0); let c1 = f32x4.splat(0.1); let c2 = f32x4.splat(0.2); let c3 = f32x4.splat(0.3);
  let c4 = f32x4.splat(0.4); let c5 = f32x4.splat(0.5); let c6 = f32x4.splat(0.6); let c7 = f32x4.splat(0.7);
  let c8 = f32x4.splat(0.8); let c9 = f32x4.splat(0.9); let c10 = f32x4.splat(1.0); let c11 = f32x4.splat(1.1);
  let row: usize = 0;
  for (let i = 0; i < iterations; i++) {
    const p = RING + row;
    c0 = madd(v128.load(p), b, c0); c1 = madd(v128.load(p, 16), b, c1);
    c2 = madd(v128.load(p, 32), b, c2); c3 = madd(v128.load(p, 48), b, c3);
    c4 = madd(v128.load(p, 64), b, c4); c5 = madd(v128.load(p, 80), b, c5);
    c6 = madd(v128.load(p, 96), b, c6); c7 = madd(v128.load(p, 112), b, c7);
    c8 = madd(v128.load(p, 128), b, c8); c9 = madd(v128.load(p, 144), b, c9);
    c10 = madd(v128.load(p, 160), b, c10); c11 = madd(v128.load(p, 176), b, c11);
    row = (row + 64) & 511;
  }
  return sum12(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11);
}

function tile(iterations: i32, seed: f32): f32 {
  if (seed != tileSeed) {
    for (let j: usize = 0; j < <usize>(TILE * TILE); j++) {
      store<f32>(TILE_A + (j << 2), seed * 0.001 * <f32>((j & 15) + 1));
      store<f32>(TILE_B + (j << 2), 0.5 + 0.001 * <f32>(j & 7));
    }
    tileSeed = seed;
  }
  let s: f32 = 0;
  for (let i = 0; i < iterations; i++) {
    gemm(TILE, TILE, TILE, TILE_A, TILE, TILE_B, TILE, TILE_C, TILE, OVERWRITE, 0);
    s += load<f32>(TILE_C);
  }
  return s;
}

function sum12(c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, c6: v128, c7: v128, c8: v128, c9: v128, c10: v128, c11: v128): f32 {
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)),
    f32x4.add(f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)), f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11))));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}
