import { kernelRuntime } from './loader.js';

/**
 * out[m, n] += a[m, k] · b[k, n] in float64 by assembly/gemm64.ts on the
 * calling thread: the same bits as the plain loop (each sum in the order of
 * k, multiply then add), two columns per f64x2. The operands are copied into
 * the kernels' scratch (above heapStart, as an attention call's are) and out
 * back. Returns false, doing nothing, where the kernels cannot run here (a
 * browser before wasm.init, no WebAssembly SIMD) or the operands would take
 * more than MATMUL_MAX_BYTES: the caller then runs its own loop.
 */
export function wasmMatmulAddF64(a: Float64Array, b: Float64Array, out: Float64Array, m: number, k: number, n: number): boolean {
  const elements = m * k + k * n + m * n;
  if (elements * 8 > MATMUL_MAX_BYTES) return false;
  const rt = kernelRuntime();
  if (rt === null) return false;
  const at = Math.ceil(rt.heapStart / 16) * 16;
  rt.reserve(at + elements * 8);
  const heap = heapView(rt.memory.buffer);
  // Whole arrays where they are the operands (a linear layer's are): no subarray object per call.
  const ai = at / 8;
  const bi = ai + m * k;
  const oi = bi + k * n;
  heap.set(a.length === m * k ? a : a.subarray(0, m * k), ai);
  heap.set(b.length === k * n ? b : b.subarray(0, k * n), bi);
  heap.set(out.length === m * n ? out : out.subarray(0, m * n), oi);
  rt.exports.gemmF64Add(ai * 8, bi * 8, oi * 8, m, k, n);
  for (let t = 0; t < m * n; t++) out[t] = heap[oi + t];
  return true;
}

let view: Float64Array | null = null;

/** A float64 view of the kernels' memory, made again only when the memory grew (an unshared memory's old buffer is then detached). */
function heapView(buffer: ArrayBufferLike): Float64Array {
  if (view === null || view.buffer !== buffer) view = new Float64Array(buffer);
  return view;
}

/** Operands past this (64 MiB) stay in the caller's loop rather than grow the kernels' memory for good. */
const MATMUL_MAX_BYTES = 64 * 2 ** 20;
