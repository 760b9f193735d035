import { Tensor, wasm, webgpu } from '../index.js';
import { BACKENDS, prepareAttention, resolveBackend } from '../kernels.js';
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
    skip(shape) {
      if (name === 'reference' && shape.n > 2048) return 'the float64 reference is a test oracle (one row at a time, no blocking); it runs up to n = 2048';
      // The GPU backend runs only where webgpu.init() found a device (the browser page asks for one; Node has no WebGPU).
      const gpu = BACKENDS.find((b) => b.name === name)?.async !== undefined ? webgpu.info() : null;
      return gpu !== null && !gpu.available ? `no WebGPU device: ${gpu.reason}` : null;
    },
    async setup(inputs, direction) {
      const { heads, n, d, causal } = inputs.shape;
      const t = (data: Float32Array) => new Tensor(data, [1, heads, n, d], 'float32');
      const problem = prepareAttention('bench', t(inputs.q), t(inputs.k), t(inputs.v), { isCausal: causal, impl: name });
      const backend = resolveBackend('bench', name, problem, true);
      let last: Float32Array | Float64Array = new Float32Array(0);
      const result = () => Float32Array.from(last);
      const gpu = backend.async;
      if (gpu !== undefined) {
        // The GPU's passes, timed with their upload and readback: what a caller of the async entry points waits for.
        const saved = direction === 'backward' ? await gpu.forward(problem) : null;
        const run = saved === null
          ? async () => { last = (await gpu.forward(problem)).output; }
          : async () => { last = (await gpu.backward(problem, saved.output, saved.lse, inputs.dOut)).dq; };
        const adapter = webgpu.info().adapter;
        const cpu = adapter?.architecture === 'swiftshader' ? ' (SwiftShader runs WGSL on the CPU: these figures say nothing about a GPU)' : '';
        const kind = `float32 WGSL on ${adapter?.vendor ?? '?'} ${adapter?.architecture ?? '?'}${cpu}, upload and readback included`;
        return { run, result, note: direction === 'forward' ? kind : `${kind}, backward given O and lse` };
      }
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
