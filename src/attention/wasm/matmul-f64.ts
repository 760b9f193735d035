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
  // A fresh view each call: growing an unshared memory detaches the old one.
  const heap = new Float64Array(rt.memory.buffer, at, elements);
  heap.set(a.subarray(0, m * k), 0);
  heap.set(b.subarray(0, k * n), m * k);
  heap.set(out.subarray(0, m * n), m * k + k * n);
  rt.exports.gemmF64Add(at, at + m * k * 8, at + (m * k + k * n) * 8, m, k, n);
  out.set(heap.subarray(m * k + k * n));
  return true;
}

/** Operands past this (64 MiB) stay in the caller's loop rather than grow the kernels' memory for good. */
const MATMUL_MAX_BYTES = 64 * 2 ** 20;
