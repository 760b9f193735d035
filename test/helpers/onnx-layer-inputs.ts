/**
 * The float64 side of the inspect-ONNX tests: the seeded inputs and weights
 * their models are built from, and q and k as the test computes them itself
 * (never through the code under test).
 */

/** Uniforms in [-1, 1) from a linear congruential generator: a seed gives the same model on every machine. */
export const random = (seed: number) => (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;

/** x [B, T, E] · w [E, H·D] as [B][H][T][D], summed in float64. */
export function projectHeads(x: ArrayLike<number>, w: Float32Array, d: { B: number; T: number; E: number; H: number; D: number }): number[][][][] {
  const { B, T, E, H, D } = d;
  return Array.from({ length: B }, (_, b) => Array.from({ length: H }, (_, h) => Array.from({ length: T }, (_, t) => Array.from({ length: D }, (_, c) => {
    let s = 0;
    for (let e = 0; e < E; e++) s += x[(b * T + t) * E + e] * w[e * H * D + h * D + c];
    return s;
  }))));
}

/** keep[b][i][j]: whether key j lies within batch element b's length (a padding mask, every query row alike). */
export function paddingKeep(lengths: readonly number[], T: number): boolean[][][] {
  return lengths.map((n) => Array.from({ length: T }, () => Array.from({ length: T }, (_, j) => j < n)));
}
