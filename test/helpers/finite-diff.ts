/**
 * Central finite differences of a scalar function of a float64 vector:
 *   ∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h
 * Truncation error O(h² f'''), rounding error O(ε f / h): h = 1e-5 balances
 * them near 1e-10 for the O(1) functions the tests use. `indices` limits the
 * work to those coordinates (the others stay 0), for large inputs.
 */
export function finiteDifferenceGradient(
  f: (x: Float64Array) => number, x: ArrayLike<number>, options: { h?: number; indices?: readonly number[] } = {},
): Float64Array {
  const { h = 1e-5, indices } = options;
  const grad = new Float64Array(x.length);
  const probe = Float64Array.from(x);
  for (const i of indices ?? Array.from({ length: x.length }, (_, j) => j)) {
    probe[i] = x[i] + h;
    const up = f(probe);
    probe[i] = x[i] - h;
    const down = f(probe);
    probe[i] = x[i];
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/** Σ_i a_i b_i, in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}
