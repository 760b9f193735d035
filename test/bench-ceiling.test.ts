import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bestFormGflops } from '../src/bench/ceiling-forms.js';
import { wasm } from '../src/index.js';

wasm.enableRelaxedSimd(); // Node 20: so that the relaxed module is checked too

describe('the SIMD ceiling: the best of several loop forms', () => {
  it('adds each form\'s rate over the threads and keeps the best form, not the best thread', () => {
    const replies = [
      { forms: [{ flops: 10e9, seconds: 1 }, { flops: 30e9, seconds: 2 }, { flops: 4e9, seconds: 0.5 }] },
      { forms: [{ flops: 20e9, seconds: 1 }, { flops: 10e9, seconds: 1 }, { flops: 16e9, seconds: 1 }] },
    ];
    // form 0: 10 + 20 = 30; form 1: 15 + 10 = 25; form 2: 8 + 16 = 24 GFLOP/s
    assert.equal(bestFormGflops(replies), 30);
    assert.equal(bestFormGflops([]), 0);
  });

  for (const name of ['ceiling', 'ceiling-relaxed']) {
    const bytes = readFileSync(fileURLToPath(new URL(`../wasm/${name}.wasm`, import.meta.url)));
    it(`${name}.wasm: every form runs, and the kernels' product form does the product its flops count`, { skip: !WebAssembly.validate(bytes) && 'this engine does not validate it' }, () => {
      const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as Record<string, (...args: number[]) => number>;
      assert.ok(ex.formCount() >= 3);
      for (let f = 0; f < ex.formCount(); f++) {
        assert.equal(typeof ex[`form${f}`], 'function', `form${f}`);
        assert.ok(Number.isFinite(ex[`form${f}`](2, 1)), `form${f}`);
      }
      assert.equal(ex.flopsPerIteration(0), 12 * 4 * 2);
      assert.equal(ex.flopsPerIteration(2), 2 * 64 ** 3);
      // Form 2 sums C[0][0] of AᵀB over its iterations, with A[k][0] = 0.001·seed and B[k][0] = 0.5 for the
      // 64 values of k (assembly/ceiling.ts fills them so): 64 · 0.001 · 0.5 a product, 3 products.
      assert.ok(Math.abs(ex.form2(3, 1) - 3 * 64 * 0.001 * 0.5) < 1e-6);
      assert.ok(Math.abs(ex.form2(3, 2) - 2 * 3 * 64 * 0.001 * 0.5) < 1e-6);
    });
  }
});
