import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { wasmMatmulAddF64 } from '../src/attention/index.js';
import { matmulAdd } from '../src/nn/matmul.js';

// The plain loop linear layers ran before the tiled one: out[i][j] += a[i][p] · b[p][j], p in order,
// stored into out (rounded to float32 there) after every product.
function plain(a: Float64Array | Float32Array, b: Float64Array | Float32Array, out: Float64Array | Float32Array, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) out[i * n + j] += a[i * k + p] * b[p * n + j];
}

function filled(n: number, seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 2);
}

describe('nn matmulAdd', () => {
  it('gives the same bits as the plain loop in WebAssembly too (float64, products past the hand-off size, odd rows and columns)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 45 }), fc.integer({ min: 0, max: 1e6 }),
      (m, k, n, seed) => {
        const [a, b, start] = [filled(m * k, seed), filled(k * n, seed + 1), filled(m * n, seed + 2)];
        const want = Float64Array.from(start);
        plain(a, b, want, m, k, n);
        const direct = Float64Array.from(start);
        assert.equal(wasmMatmulAddF64(a, b, direct, m, k, n), true, 'the kernels load in Node');
        assert.deepEqual(direct, want);
        const got = Float64Array.from(start);
        matmulAdd(a, b, got, m, k, n);
        assert.deepEqual(got, want);
      },
    ), { numRuns: 200 });
  });

  for (const Kind of [Float64Array, Float32Array]) {
    it(`gives the same bits as the plain loop for every shape (${Kind.name}: the register tiles keep the order of the additions)`, () => {
      fc.assert(fc.property(
        fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 0, max: 1e6 }),
        (m, k, n, seed) => {
          let s = seed;
          const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 2;
          const a = Kind.from(Array.from({ length: m * k }, rand));
          const b = Kind.from(Array.from({ length: k * n }, rand));
          const start = Kind.from(Array.from({ length: m * n }, rand));
          const want = Kind.from(start);
          const got = Kind.from(start);
          plain(a, b, want, m, k, n);
          matmulAdd(a, b, got, m, k, n);
          assert.deepEqual(got, want);
        },
      ), { numRuns: 300 });
    });
  }
});
