import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tensor, type Tensor } from '../src/tensor/index.js';
import { logSoftmax, logSoftmaxBackward, logsumexp, softmax, softmaxBackward } from '../src/softmax/index.js';

const RUNS = { numRuns: 40, seed: 11 };
const H = 1e-5;
/**
 * Central differences have truncation error ~H²·|f'''|/6 and rounding error
 * ~eps·|f|/H; with H = 1e-5, |f| and |f'''| of order 10 both stay below 1e-9.
 */
const TOLERANCE = 1e-8;

/** ∂f/∂xₖ ≈ (f(x + H·eₖ) − f(x − H·eₖ)) / 2H for every k, in float64. */
function centralDifferences(f: (x: Tensor) => number, x: Tensor): number[] {
  return Array.from(x.data, (_, k) => {
    const plus = Float64Array.from(x.data);
    const minus = Float64Array.from(x.data);
    plus[k] += H;
    minus[k] -= H;
    return (f(tensor(plus, x.shape, { dtype: 'float64' })) - f(tensor(minus, x.shape, { dtype: 'float64' }))) / (2 * H);
  });
}

/** ⟨w, t⟩: a scalar loss whose gradient with respect to t is w. */
const dot = (w: Tensor, t: Tensor): number => Array.from(t.data).reduce((a, v, i) => a + v * w.data[i], 0);

function assertGradient(analytic: ArrayLike<number>, numeric: number[], what: string): void {
  numeric.forEach((g, k) => assert.ok(Math.abs(analytic[k] - g) <= TOLERANCE * (1 + Math.abs(g)), `${what}: ∂/∂x${k} is ${analytic[k]}, differences give ${g}`));
}

const problem = fc.record({
  shape: fc.constantFrom([5], [3, 4], [2, 3, 2]),
  seed: fc.integer({ min: 0, max: 10_000 }),
  scale: fc.constantFrom(0.5, 3, 10),
});

/** x and w of the given shape from a seed, by a fixed recipe (no library random numbers needed). */
function inputs({ shape, seed, scale }: { shape: readonly number[]; seed: number; scale: number }): { x: Tensor; w: Tensor; axis: number } {
  const size = shape.reduce((a, b) => a * b, 1);
  const x = tensor(Array.from({ length: size }, (_, i) => scale * Math.sin(seed + i * 2.3)), shape, { dtype: 'float64' });
  const w = tensor(Array.from({ length: size }, (_, i) => Math.cos(seed * 0.7 + i * 1.1)), shape, { dtype: 'float64' });
  return { x, w, axis: seed % shape.length };
}

describe('gradients vs central finite differences (float64)', () => {
  it('softmaxBackward(softmax(x), w) is the gradient of ⟨w, softmax(x)⟩, along any axis', () => {
    fc.assert(
      fc.property(problem, (p) => {
        const { x, w, axis } = inputs(p);
        for (const algorithm of ['safe', 'online'] as const) {
          const numeric = centralDifferences((t) => dot(w, softmax(t, { axis, algorithm })), x);
          assertGradient(softmaxBackward(softmax(x, { axis }), w, { axis }).data, numeric, `softmax ${algorithm} axis ${axis}`);
        }
      }),
      RUNS,
    );
  });

  it('dz − softmax(x)·Σdz, and logSoftmaxBackward(z, dz), are the gradient of ⟨w, logSoftmax(x)⟩', () => {
    fc.assert(
      fc.property(problem, (p) => {
        const { x, w, axis } = inputs(p);
        const numeric = centralDifferences((t) => dot(w, logSoftmax(t, { axis })), x);
        assertGradient(logSoftmaxBackward(logSoftmax(x, { axis }), w, { axis }).data, numeric, `logSoftmaxBackward axis ${axis}`);
        if (x.rank === 1) {
          // The formula written out in the test, for a single row.
          const y = softmax(x).data;
          const sumW = Array.from(w.data).reduce((a, b) => a + b, 0);
          assertGradient(Array.from(w.data, (wi, i) => wi - y[i] * sumW), numeric, 'dz − softmax·Σdz');
        }
      }),
      RUNS,
    );
  });

  it('the gradient of ⟨w, logsumexp(x)⟩ is w broadcast times softmax(x)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(0.5, 3, 10), (seed, scale) => {
        const { x } = inputs({ shape: [3, 4], seed, scale });
        const w = tensor([0.3, -1.2, 2], [3], { dtype: 'float64' });
        const numeric = centralDifferences((t) => dot(w, logsumexp(t)), x);
        const y = softmax(x).data;
        assertGradient(Array.from(y, (v, i) => v * w.data[Math.floor(i / 4)]), numeric, 'logsumexp');
      }),
      RUNS,
    );
  });
});
