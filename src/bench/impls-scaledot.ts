import { Tensor, wasm } from '../index.js';
import { prepareAttention, resolveBackend } from '../kernels.js';
import type { BenchImpl } from './contract.js';

/**
 * A scaledot backend by name, called as the library calls it (the problem
 * prepared once, outside the timing). Free of Node built-ins: the browser
 * benchmark page (browser-page.ts) runs the same rows.
 */
export function scaledotImpl(name: string): BenchImpl {
  return {
    name,
    group: 'scaledot',
    skip: (shape) => (name === 'reference' && shape.n > 2048 ? 'the float64 reference is a test oracle (one row at a time, no blocking); it runs up to n = 2048' : null),
    async setup(inputs, direction) {
      const { heads, n, d, causal } = inputs.shape;
      const t = (data: Float32Array) => new Tensor(data, [1, heads, n, d], 'float32');
      const problem = prepareAttention('bench', t(inputs.q), t(inputs.k), t(inputs.v), { isCausal: causal, impl: name });
      const backend = resolveBackend('bench', name, problem);
      let last: Float32Array | Float64Array = new Float32Array(0);
      const result = () => Float32Array.from(last);
      let run = () => { last = backend.forward(problem).output; };
      if (direction === 'backward') {
        const { output, lse } = backend.forward(problem);
        run = () => { last = backend.backward(problem, output, lse, inputs.dOut).dq; };
      }
      return {
        run, result,
        // Read after the runs: which WebAssembly module ran and whether its workers took tasks, so a reader sees threads and relaxed SIMD.
        get note() {
          const info = name === 'wasm' ? wasm.info() : null;
          const kind = info ? `float32, ${info.path}, ${info.threads} threads, ${info.workerTasks} worker tasks` : 'float32';
          return direction === 'forward' ? kind : `${kind}, backward given O and lse`;
        },
      };
    },
  };
}
