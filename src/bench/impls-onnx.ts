import type { BenchImpl } from './contract.js';
import { multiHeadAttentionModel, unfusedAttentionModel } from './onnx-model.js';
import type { Ort, OrtTensor } from './peers.js';

/** [heads, n, d] ↔ [n, heads·d], the layout MultiHeadAttention takes. */
function headsToRows(x: Float32Array, heads: number, n: number, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) out.set(x.subarray((h * n + i) * d, (h * n + i + 1) * d), (i * heads + h) * d);
  return out;
}

function rowsToHeads(x: Float32Array, heads: number, n: number, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) out.set(x.subarray((i * heads + h) * d, (i * heads + h + 1) * d), (h * n + i) * d);
  return out;
}

/** The runtime's module, or why it is not there (peers.ts loadPeer in Node; the page's import in Chromium). */
export type OrtLoader = () => { module: Ort } | { missing: string };

/** onnxruntime-web on its webgpu execution provider: browser rows only (Node has no WebGPU), from a bundle of their own (ort.webgpu), loaded only when asked for. */
export const ORT_WEBGPU_ROWS = ['ort-webgpu-mha', 'ort-webgpu-unfused'];

/**
 * onnxruntime-web's webgpu execution provider instead of its wasm one (the
 * page's ort.webgpu bundle), and the words that say what device ran it: on
 * SwiftShader the figures say nothing about a GPU, and the note must say so.
 */
export interface OrtWebGpu {
  ep: 'webgpu';
  device: () => string;
}

/**
 * ONNX Runtime running one of the two graphs of onnx-model.ts: natively
 * (onnxruntime-node: C++, AVX where the CPU has it) or as WebAssembly
 * (onnxruntime-web's wasm execution provider, what a browser user would
 * pick; in Node its threads are emscripten pthreads on worker_threads, in
 * Chromium Web Workers). `threads` threads either way. Free of Node
 * built-ins, so the browser benchmark page runs the same rows.
 */
export function onnxImpl(
  name: string, runtime: 'onnxruntime-node' | 'onnxruntime-web', fused: boolean, load: OrtLoader, threads: number, gpu?: OrtWebGpu,
): BenchImpl {
  return {
    name,
    group: 'peer',
    skip: (shape, direction) => {
      if (direction === 'backward') return `${runtime} runs inference only (no backward)`;
      const missing = load();
      return 'missing' in missing ? missing.missing : null;
    },
    async setup(inputs) {
      const loaded = load();
      if ('missing' in loaded) throw new Error(loaded.missing);
      const ort = loaded.module;
      const { heads, n, d, causal } = inputs.shape;
      const sh = { batch: 1, heads, l: n, s: n, d, causal };
      const model = fused ? multiHeadAttentionModel(sh) : unfusedAttentionModel(sh);
      // onnxruntime-web reads its thread count once, when the first session starts its runtime.
      const web = runtime === 'onnxruntime-web';
      if (web && ort.env) ort.env.wasm.numThreads = threads;
      const session = await ort.InferenceSession.create(model, web
        ? { executionProviders: [gpu?.ep ?? 'wasm'], graphOptimizationLevel: 'all' }
        : { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
      // Read back: onnxruntime-web drops to 1 thread (with a console warning) where the engine has no shared memory.
      const configured = gpu ? `webgpu execution provider on ${gpu.device()}, upload and readback included`
        : web ? `${ort.env?.wasm.numThreads} wasm threads, SIMD` : `${threads} intra-op threads`;
      let feeds: Record<string, OrtTensor>;
      if (fused) {
        const dims = [1, n, heads * d];
        feeds = {
          query: new ort.Tensor('float32', headsToRows(inputs.q, heads, n, d), dims),
          key: new ort.Tensor('float32', headsToRows(inputs.k, heads, n, d), dims),
          value: new ort.Tensor('float32', headsToRows(inputs.v, heads, n, d), dims),
        };
      } else {
        const dims = [1, heads, n, d];
        feeds = { q: new ort.Tensor('float32', inputs.q, dims), k: new ort.Tensor('float32', inputs.k, dims), v: new ort.Tensor('float32', inputs.v, dims) };
        if (causal) {
          const mask = new Float32Array(n * n);
          for (let i = 0; i < n; i++) mask.fill(-1e9, i * n + i + 1, (i + 1) * n);
          feeds.mask = new ort.Tensor('float32', mask, [n, n]);
        }
      }
      let last: Float32Array = new Float32Array(0);
      return {
        note: `${configured}${fused ? ', com.microsoft MultiHeadAttention' : ', MatMul-Softmax-MatMul graph'}`,
        run: async () => { last = (await session.run(feeds)).output.data; },
        result: () => (fused ? rowsToHeads(last, heads, n, d) : last),
        dispose: () => session.release(),
      };
    },
  };
}

