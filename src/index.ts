/**
 * scaledot: what a kernel user reads. Tensors and their constructors, the
 * softmax ops and their backwards, attention forward and backward, the KV
 * cache, the attention weights, the list of backends, and the wasm and
 * webgpu controls as one namespace each (`wasm`, `webgpu`). It bundles for the browser with no Node built-in.
 *
 * The rest has its own entry point: the row kernels, `prepareAttention`, the
 * backend contract and the dropout hash are `scaledot/kernels` (for the lab,
 * the bench and anyone who writes a backend); the autograd, layers and
 * training are `scaledot/nn`; the experiments, statistics and report are
 * `scaledot/lab`. Layers import only leftwards:
 * tensor ← softmax ← attention ← nn ← lab/inspect/bench ← cli/web.
 *
 * @module scaledot
 */
import {
  enableRelaxedSimd, initWasmAttention, initWebGpuAttention, setWasmAttentionThreads, setWebGpuAutoMinFlops, wasmAttentionInfo,
  webGpuAttentionInfo, webGpuAutoMinFlops,
} from './attention/index.js';

export {
  ScaledotError, Tensor, tensor, zeros, full, randn, Rng, DTYPES, FLOAT_DTYPES, dtypeInfo,
  type ErrorCode, type DType, type FloatDType, type DTypeInfo, type TensorData, type NestedArray, type TensorOptions, type RandnOptions,
} from './tensor/index.js';
export {
  softmax, logSoftmax, logsumexp, softmaxBackward, logSoftmaxBackward, SOFTMAX_ALGORITHMS,
  type SoftmaxAlgorithm, type SoftmaxOptions, type AxisOptions,
} from './softmax/index.js';
export {
  scaledDotProductAttention, scaledDotProductAttentionWithLse, scaledDotProductAttentionBackward,
  scaledDotProductAttentionAsync, scaledDotProductAttentionWithLseAsync, scaledDotProductAttentionBackwardAsync,
  attentionWeights, createKvCache, listAttentionImpls,
  type AttentionOptions, type AttentionBackwardOptions, type SavedForward, type ScoreOptions, type AttentionImpl,
  type AttentionMask, type KvCache, type KvCacheOptions,
} from './attention/index.js';
export type { WasmAttentionInfo, WasmPath, WebGpuAttentionInfo, WebGpuInitOptions } from './attention/index.js';

/**
 * The controls of impl 'wasm' (the WebAssembly SIMD backend), in one place:
 *
 * - `wasm.info()`: which path loaded (threads, relaxed SIMD or not) and why;
 * - `wasm.init({ baseUrl })`: the asynchronous start a browser needs before
 *   the first call (Node loads the module synchronously on first use);
 * - `wasm.setThreads(n)`: how many workers the kernels use;
 * - `wasm.enableRelaxedSimd()`: on Node 20, turn on V8's relaxed-SIMD flag
 *   before the first call so the fused multiply-add module loads. Nothing in
 *   scaledot calls it for you except `scaledot bench` (see docs/wasm.md), so
 *   the library and the `scaledot` command give the same bytes.
 */
export const wasm = Object.freeze({
  info: wasmAttentionInfo,
  init: initWasmAttention,
  setThreads: setWasmAttentionThreads,
  enableRelaxedSimd,
});

/**
 * The controls of impl 'webgpu' (FlashAttention-2 in WGSL), as `wasm` is for
 * impl 'wasm':
 *
 * - `webgpu.init({ gpu })`: asks the browser (or the `gpu` object given) for
 *   an adapter and a device; until it has found one, 'webgpu' is unavailable
 *   and `auto` never picks it;
 * - `webgpu.info()`: the adapter, its limits and features, or why there is none;
 * - `webgpu.setAutoMinFlops(n)` / `webgpu.autoMinFlops()`: the problem size
 *   (forward floating-point operations) from which `auto` picks webgpu on a GPU; the
 *   default is a guess not yet measured on any GPU (docs/webgpu.md).
 *
 * GPU results come back asynchronously: 'webgpu' runs only through the async
 * forms (`scaledDotProductAttentionAsync` and its siblings), see docs/webgpu.md.
 */
export const webgpu = Object.freeze({
  info: webGpuAttentionInfo,
  init: initWebGpuAttention,
  setAutoMinFlops: setWebGpuAutoMinFlops,
  autoMinFlops: webGpuAutoMinFlops,
});
