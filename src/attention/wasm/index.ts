// The public face of impl 'wasm': which path runs, how many threads, and the
// asynchronous start a browser needs. The backend itself is registered in ../backends.ts.
export {
  initWasmAttention, setWasmAttentionThreads, wasmAttentionInfo, type WasmAttentionInfo, type WasmPath,
} from './loader.js';
export { enableRelaxedSimd, relaxedSimdSupported } from './relaxed.js';
// Whether a KV cache's array lives in the kernels' memory (the bench names it per row).
export { residentBf16Offset, residentOffset } from './resident.js';
// The nn package's float64 linear product (src/nn/matmul.ts).
export { wasmMatmulAddF64 } from './matmul-f64.js';
