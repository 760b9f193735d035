/**
 * c + a·b on f32x4. The relaxed-SIMD builds (asconfig.json targets
 * *-relaxed) use relaxed_madd, which an engine may fuse (one rounding, FMA
 * hardware) or not: either stays within the error analysis, and one build on
 * one machine always does the same, so a score recomputed in the backward
 * pass is bit-identical to the forward's. Plain SIMD128 has no fused form.
 */
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
